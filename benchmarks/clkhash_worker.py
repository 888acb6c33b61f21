"""Time clkhash 0.18.3 encoding a CSV, single process.  Runs ONLY in the peers' virtualenv.

htlink's benchmarks start this script with the peers' Python (never importing clkhash
into htlink's virtualenv)::

    /work/peers/bin/python benchmarks/clkhash_worker.py --schema S --secret-file K \\
        --data records.csv [--dump-first 1000 --dump-path first.hex]

It reads the CSV (header = the schema's feature identifiers, ignored ones included),
parses the schema and reads the secret *before* starting the clock, then times exactly
one call::

    clk.generate_clks(records, schema, secret, validate=True, max_workers=1)

(key derivation included, as it happens inside that call) and prints one JSON line:
``{"seconds": ..., "records": ..., "clkhash": "0.18.3", ...}``.  With ``--dump-first N``
the first N CLKs (``bitarray.tobytes()``, hex, one per line) are written to
``--dump-path`` after timing, so the caller can compare them with htlink's.

Only the standard library and clkhash are used here.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--schema", type=Path, required=True, help="clkhash v3 schema (JSON).")
    parser.add_argument("--secret-file", type=Path, required=True, help="Secret text file.")
    parser.add_argument("--data", type=Path, required=True, help="CSV with a header line.")
    parser.add_argument("--dump-first", type=int, default=0, help="Write the first N CLKs.")
    parser.add_argument("--dump-path", type=Path, help="Where to write them (hex per line).")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Read, time one ``generate_clks`` call, report JSON on stdout."""
    args = parse_args(argv)
    from clkhash import clk
    from clkhash import schema as clkschema

    schema = clkschema.from_json_dict(json.loads(args.schema.read_text(encoding="utf-8")))
    # the same text htlink uses: the file's content, trailing line breaks dropped
    secret = args.secret_file.read_text(encoding="utf-8").rstrip("\r\n")
    with args.data.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        records = list(reader)
    identifiers = [f.identifier for f in schema.fields]
    if header != identifiers:
        print(
            f"CSV header {header} differs from the schema's features {identifiers}", file=sys.stderr
        )
        return 2

    start = time.perf_counter()
    clks = clk.generate_clks(records, schema, secret, validate=True, max_workers=1)
    seconds = time.perf_counter() - start

    if len(clks) != len(records):
        print(f"clkhash returned {len(clks)} CLKs for {len(records)} records", file=sys.stderr)
        return 2
    if args.dump_first and args.dump_path:
        lines = [c.tobytes().hex() for c in clks[: args.dump_first]]
        args.dump_path.write_text("\n".join(lines) + "\n", encoding="ascii")
    print(
        json.dumps(
            {
                "seconds": seconds,
                "records": len(records),
                "clkhash": version("clkhash"),
                "bitarray": version("bitarray"),
                "cryptography": version("cryptography"),
                "python": platform.python_version(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
