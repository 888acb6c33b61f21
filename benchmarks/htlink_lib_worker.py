"""Time htlink's library encoder on a CSV, single process (one fresh process per run).

Started by ``bench_encode.py`` with htlink's own Python::

    .venv/bin/python benchmarks/htlink_lib_worker.py --schema S --secret-file K \\
        --data records.csv [--chunk-size 20000] [--dump-first 1000 --dump-path first.hex]

Not timed: interpreter start-up, imports, loading the schema, reading the secret file
and reading the CSV into one list of strings per feature (clkhash's worker likewise reads
its records and parses its schema before its clock starts).

Timed: key derivation and encoder construction (``ClkEncoder(schema, secret)``), then
``ClkEncoder.encode`` on consecutive chunks of ``--chunk-size`` records (20,000 by
default, as ``htlink encode`` does), and concatenating the CLKs.  Prints one JSON line:
``{"seconds": ..., "records": ..., "chunks": ...}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

from htlink.crypto.secret import load_secret
from htlink.encode.bloom import ClkEncoder
from htlink.schema import load_schema_file


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--schema", type=Path, required=True, help="Linkage schema (JSON).")
    parser.add_argument("--secret-file", type=Path, required=True, help="Secret file (0600).")
    parser.add_argument("--data", type=Path, required=True, help="CSV with a header line.")
    parser.add_argument("--chunk-size", type=int, default=20_000, help="Records per encode call.")
    parser.add_argument("--dump-first", type=int, default=0, help="Write the first N CLKs.")
    parser.add_argument("--dump-path", type=Path, help="Where to write them (hex per line).")
    return parser.parse_args(argv)


def read_columns(path: Path, features: list[str]) -> tuple[int, dict[str, list[str]]]:
    """The CSV as one list of strings per feature (empty cells stay ``''``)."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    index = {name: header.index(name) for name in features}
    return len(rows), {name: [r[i] for r in rows] for name, i in index.items()}


def main(argv: list[str] | None = None) -> int:
    """Read, then time encoder construction plus chunked encoding; report JSON on stdout."""
    args = parse_args(argv)
    schema = load_schema_file(args.schema)
    secret = load_secret(args.secret_file)
    features = [f.identifier for f in schema.hashed_features]
    n, columns = read_columns(args.data, features)

    start = time.perf_counter()
    encoder = ClkEncoder(schema, secret)
    parts: list[np.ndarray] = []
    for lo in range(0, n, args.chunk_size):
        chunk = {name: values[lo : lo + args.chunk_size] for name, values in columns.items()}
        parts.append(encoder.encode(chunk).clks)
    clks = np.concatenate(parts) if parts else np.zeros((0, encoder.clk_bytes), np.uint8)
    seconds = time.perf_counter() - start

    if len(clks) != n:
        print(f"htlink returned {len(clks)} CLKs for {n} records", file=sys.stderr)
        return 2
    if args.dump_first and args.dump_path:
        lines = [row.tobytes().hex() for row in clks[: args.dump_first]]
        args.dump_path.write_text("\n".join(lines) + "\n", encoding="ascii")
    print(json.dumps({"seconds": seconds, "records": n, "chunks": len(parts)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
