"""What each hardening option costs in encoding speed (htlink's own encoder).

    python benchmarks/bench_encode_hardening.py [--people 50000] [--repeats 3]

Generates the default synthetic scenario (`htlink synth`), normalizes every
agency's records as `htlink encode` does, then times `ClkEncoder` on all of
them (chunks of 20,000 records, encoder construction included) for each
shipped person schema.  Prints records per second and the ratio to the
unhardened schema, and writes benchmarks/results/encode-hardening.json.
clkhash has no salting, balancing or diffusion, so the peer comparison for
unhardened encoding is `bench_encode.py`; this script measures the price of
each option against htlink's own unhardened speed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = (
    "person-v1", "person-v1-folded", "person-v1-salted", "person-v1-salted-dob",
    "person-v1-balanced-blip", "person-v1-diffused", "person-v1-salted-diffused",
)  # fmt: skip
CHUNK = 20_000


def main(argv: list[str] | None = None) -> int:
    from htlink.attacks.data import load_world, make_world
    from htlink.encode.bloom import ClkEncoder
    from htlink.schema import load_schema_file

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--world-dir", type=Path)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/encode-hardening.json"
    )
    args = parser.parse_args(argv)

    world_dir = (
        args.world_dir or Path(tempfile.gettempdir()) / f"htlink-attack-world-{args.people}-1"
    )
    make_world(world_dir, args.people, 1)
    secret = os.urandom(32)
    rows = []
    base_rate = None
    for name in SCHEMAS:
        schema = load_schema_file(ROOT / "configs" / "schemas" / f"{name}.json")
        columns = load_world(world_dir, schema).columns()
        n = len(next(iter(columns.values())))
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            encoder = ClkEncoder(schema, secret)
            for start in range(0, n, CHUNK):
                encoder.encode({k: v[start : start + CHUNK] for k, v in columns.items()})
            times.append(time.perf_counter() - started)
        seconds = statistics.median(times)
        rate = n / seconds
        base_rate = base_rate or rate
        rows.append({
            "schema": name, "records": n, "seconds": round(seconds, 3),
            "records_per_second": round(rate), "slowdown": round(base_rate / rate, 2),
            "hardening": schema.hardening.describe(),
        })  # fmt: skip
        print(f"{name:28s} {n:>8,} records  {seconds:7.2f} s  {rate:>10,.0f} rec/s  "
              f"x{base_rate / rate:5.2f}", flush=True)  # fmt: skip
    payload = {
        "benchmark": "encode-hardening",
        "command": "python benchmarks/bench_encode_hardening.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "repeats": args.repeats,
        "rows": rows,
        "numpy": np.__version__,
    }
    args.out.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
