"""Writing a synthetic world to its folder.

Layout of ``DIR``::

    healthcare.csv, social_services.csv, prosecution.csv   the agency extracts
    truth.csv             agency, record_id, person_id (never inside the extracts)
    mappings/<agency>.yaml  column mapping for `htlink encode --map-file`
    summary.json          counts, overlap, duplicates, corruption, exact-match recall

Files are written into a hidden staging folder inside ``DIR`` and moved into
place at the end, so a failed run leaves no half-written extract behind.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from htlink.errors import HtlinkError
from htlink.synthetic.agencies import AgencyTable

STAGING = ".htlink-synth-staging"
TRUTH_FILE = "truth.csv"
SUMMARY_FILE = "summary.json"
MAPPINGS_DIR = "mappings"


class OutputFolderError(HtlinkError):
    """The output folder cannot be used."""


def check_out_dir(out_dir: Path, force: bool) -> None:
    """Refuse a file, or a non-empty folder without ``force``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(
            f"--out {out_dir} is a file, not a folder.", "Choose a folder name for --out."
        )
    if out_dir.is_dir() and any(p.name != STAGING for p in out_dir.iterdir()) and not force:
        raise OutputFolderError(
            f"The output folder {out_dir} already exists and is not empty.",
            "Choose a new --out folder, or pass --force to overwrite the files htlink synth "
            "writes there (other files in it are left alone).",
        )


@contextmanager
def staged(out_dir: Path) -> Iterator[Path]:
    """A staging folder inside ``out_dir``; its files replace ``out_dir``'s on success."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = out_dir / STAGING
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
        for path in sorted(stage.rglob("*")):
            if path.is_file():
                target = out_dir / path.relative_to(stage)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 CSV, ``\\n`` line ends, empty cells for missing values."""
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def write_truth(tables: list[AgencyTable], person_ids: Any, path: Path) -> None:
    """``agency,record_id,person_id`` for every record, agency by agency in file order."""
    parts = [
        pd.DataFrame(
            {
                "agency": t.kind,
                "record_id": t.frame[t.id_column].to_numpy(),
                "person_id": person_ids[t.person],
            }
        )
        for t in tables
    ]
    write_csv(pd.concat(parts, ignore_index=True), path)


def write_mapping(table: AgencyTable, path: Path) -> None:
    """The agency's `htlink encode` mapping file."""
    header = (
        f"# Column mapping of {table.kind}.csv for the person schema "
        "(configs/schemas/person-v1-salted-dob.json and its variants).\n"
        f"# Use: htlink encode --input {table.kind}.csv --map-file {path.parent.name}/"
        f"{path.name} ...\n"
    )
    body = yaml.safe_dump(table.mapping, sort_keys=False, allow_unicode=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + body, encoding="utf-8")


def write_summary(summary: dict[str, Any], path: Path) -> None:
    """``summary.json``, keys in a fixed order so equal runs give equal bytes."""
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
