"""Memory and speed of a streaming hub upload: 1,000,000 encodings, one signed submission.

Run with htlink's own Python, from the repository root::

    .venv/bin/python benchmarks/bench_hub_upload.py                  # 1,000,000 rows
    .venv/bin/python benchmarks/bench_hub_upload.py --rows 50000     # quick smoke run

Steps:

1. Make a signed 1024-bit submission of ``--rows`` random encodings in a temporary
   folder, exactly as ``htlink encode`` writes one (not timed).
2. Start ``htlink hub serve`` as a separate process on SQLite (``tests/hub/hubtools.py``
   ``HubProcess``), create a project with one agency, and let the hub settle.
3. Reset the hub process's resident-memory high-water mark (``echo 5 >
   /proc/PID/clear_refs``), read its resident memory, upload the submission with
   :class:`htlink.hub.client.HubClient` (1 MiB blocks, streamed), and sample the hub's
   ``VmRSS`` every ``--poll`` seconds while it runs.  Afterwards read ``VmHWM`` (the
   kernel's peak of resident memory since the reset, so nothing is missed between samples).
4. Print the figures, write them to ``benchmarks/results/hub-upload.json``, and exit with
   status 1 unless the hub's peak RSS growth during the upload is below ``--max-ratio``
   (2.0) times the file size.

The hub stores the body on disk once (staging, hashed as it streams) and reads it back in
Parquet batches to verify it, so its growth should be a small fraction of the file.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench_common import git_state, load_average, machine_info, utc_now

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

from tests.hub.hubtools import (  # noqa: E402
    HubProcess,
    init_hub,
    make_agency,
    person_schema,
    write_submission,
)

DEFAULT_RESULTS = BENCH_DIR / "results" / "hub-upload.json"
MIB = 2**20


def random_clks(n: int, seed: int, bits: int = 1024) -> np.ndarray:
    """``n`` random encodings of 25-50 % fill, made from a few random bytes per bit."""
    rng = np.random.default_rng(seed)
    width = bits // 8
    out = np.empty((n, width), dtype=np.uint8)
    step = 100_000
    for start in range(0, n, step):
        m = min(step, n - start)
        a = rng.integers(0, 256, size=(m, width), dtype=np.uint8)
        b = rng.integers(0, 256, size=(m, width), dtype=np.uint8)
        half = rng.random(m) < 0.5
        out[start : start + m] = np.where(half[:, None], a & b, a)  # 25 % or 50 % of bits set
    return out


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in bytes."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values


def reset_peak(pid: int) -> bool:
    """Reset the kernel's peak-RSS mark of ``pid`` (Linux >= 4.0); False if not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self.timeline: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        start = time.perf_counter()
        while not self.stop.is_set():
            rss = proc_status(self.pid)["VmRSS"]
            self.peak = max(self.peak, rss)
            self.timeline.append((round(time.perf_counter() - start, 3), rss))
            self.samples += 1
            time.sleep(self.interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--poll", type=float, default=0.02, help="RSS sampling interval (s)")
    parser.add_argument("--max-ratio", type=float, default=2.0)
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    from htlink.hub.client import HubClient

    work = Path(tempfile.mkdtemp(prefix="bench-hub-upload-"))
    hub = None
    load_start = load_average()
    try:
        t0 = time.perf_counter()
        agency = make_agency("county-hospital")
        clks = random_clks(args.rows, seed=1)
        folder = write_submission(work / "submission", agency, clks, seed=1)
        del clks
        file_size = (folder / "encodings.parquet").stat().st_size
        prepare_seconds = time.perf_counter() - t0
        print(
            f"submission: {args.rows:,} rows, {file_size / MIB:.1f} MiB "
            f"(made in {prepare_seconds:.1f} s)",
            flush=True,
        )

        data_dir = work / "hubdata"
        _, admin = init_hub(data_dir, None)
        hub = HubProcess(data_dir, None)
        hub.start()
        pid = hub.proc.pid
        with HubClient(hub.url, admin) as client:
            created = client.create_project(
                {
                    "name": "bench",
                    "linkage_schema": person_schema().raw,
                    "agencies": [
                        {"name": a.name, "public_key_pem": a.public_pem}
                        for a in (agency, make_agency("county-shelter"))
                    ],
                    "matching": {"threshold": 0.9},
                }
            )
        token = created["tokens"][agency.name]["upload"]
        time.sleep(1.0)  # let the hub settle after start-up and the first requests
        before = proc_status(pid)
        peak_reset = reset_peak(pid)
        after_reset = proc_status(pid)
        sampler = Sampler(pid, args.poll)
        sampler.start()
        with HubClient(hub.url, token, timeout=600) as uploader:
            t1 = time.perf_counter()
            accepted = uploader.upload("bench", folder)
            upload_seconds = time.perf_counter() - t1
        sampler.stop.set()
        sampler.join()
        after = proc_status(pid)
        assert accepted["record_count"] == args.rows, accepted

        rss_before = before["VmRSS"]
        hwm_growth = after["VmHWM"] - rss_before
        sampled_growth = sampler.peak - rss_before
        growth = max(hwm_growth, sampled_growth)
        ratio = growth / file_size
        ok = ratio < args.max_ratio
        figures = {
            "rows": args.rows,
            "bit_length": 1024,
            "file_bytes": file_size,
            "file_mib": round(file_size / MIB, 1),
            "upload_seconds": round(upload_seconds, 2),
            "throughput_mib_per_s": round(file_size / MIB / upload_seconds, 1),
            "throughput_rows_per_s": round(args.rows / upload_seconds),
            "hub_rss_before_bytes": rss_before,
            "hub_hwm_before_reset_bytes": before["VmHWM"],
            "peak_reset": peak_reset,
            "hub_hwm_after_reset_bytes": after_reset["VmHWM"],
            "hub_hwm_after_bytes": after["VmHWM"],
            "hub_rss_after_bytes": after["VmRSS"],
            "hub_sampled_peak_rss_bytes": sampler.peak,
            "rss_samples": sampler.samples,
            "rss_timeline_mib": [
                (t, round((rss - rss_before) / MIB, 1)) for t, rss in sampler.timeline[::10]
            ],
            "peak_rss_growth_bytes": growth,
            "peak_rss_growth_mib": round(growth / MIB, 1),
            "growth_to_file_ratio": round(ratio, 3),
            "max_ratio": args.max_ratio,
            "pass": ok,
        }
        print(
            f"upload: {upload_seconds:.2f} s, {figures['throughput_mib_per_s']} MiB/s, "
            f"{figures['throughput_rows_per_s']:,} rows/s\n"
            f"hub RSS before {rss_before / MIB:.1f} MiB, peak during upload "
            f"{max(after['VmHWM'], sampler.peak) / MIB:.1f} MiB (VmHWM "
            f"{after['VmHWM'] / MIB:.1f}, sampled {sampler.peak / MIB:.1f}), after "
            f"{after['VmRSS'] / MIB:.1f} MiB\n"
            f"peak growth {growth / MIB:.1f} MiB = {ratio:.3f} x the file "
            f"({'PASS' if ok else 'FAIL'}: limit {args.max_ratio} x)",
            flush=True,
        )
        result: dict[str, Any] = {
            "benchmark": "hub_upload",
            "measured": utc_now(),
            "command": "python benchmarks/bench_hub_upload.py"
            + ("" if argv is None and len(sys.argv) == 1 else " " + " ".join(sys.argv[1:])),
            "machine": machine_info(),
            "git": git_state(),
            "load_average": {"start": load_start, "end": load_average()},
            "database": "sqlite",
            "client": "htlink.hub.client.HubClient (1 MiB blocks)",
            "results": figures,
        }
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.results}")
        return 0 if ok else 1
    finally:
        if hub is not None:
            hub.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
