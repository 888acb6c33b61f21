"""Ground truth: which person each record of each agency belongs to.

``truth.csv`` has the columns ``agency,record_id,person_id``, one row per record
of every agency; ``record_id`` is unique within an agency, and records of the
same person (in any agency) share a ``person_id``.  Only synthetic data (or a
public benchmark such as FEBRL) has a truth file; it never travels with the
agency files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from htlink.errors import InputDataError
from htlink.evaluate._csv import (
    line_numbers,
    read_string_table,
    require_nonempty,
    strip_strings,
)

TRUTH_COLUMNS = ("agency", "record_id", "person_id")


@dataclass(frozen=True, eq=False)
class Truth:
    """The validated truth table (columns ``agency, record_id, person_id``, all str).

    Row positions in :attr:`table` are the record positions every other
    evaluation array is aligned with.
    """

    table: pd.DataFrame

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, source: str = "truth") -> Truth:
        """Validate a frame with the truth columns (extra columns are dropped)."""
        missing = [c for c in TRUTH_COLUMNS if c not in frame.columns]
        if missing:
            raise InputDataError(
                f"The truth ({source}) has no column {', '.join(missing)}.",
                "The truth needs the columns agency, record_id, person_id.",
            )
        table = pd.DataFrame(
            {col: strip_strings(frame[col]) for col in TRUTH_COLUMNS}, dtype=object
        )
        path = Path(source)
        require_nonempty(table, TRUTH_COLUMNS, path, "truth")
        if table.empty:
            raise InputDataError(
                f"The truth file {source} has no records.", "It needs one row per record."
            )
        dup = table.duplicated(["agency", "record_id"], keep="first").to_numpy()
        if dup.any():
            raise InputDataError(
                f"{int(dup.sum())} rows of the truth file {source} repeat an agency and "
                f"record_id already listed (first repeat at {line_numbers(dup)}).",
                "record_id must be unique within each agency: one truth row per record.",
            )
        return cls(table)

    def __len__(self) -> int:
        return len(self.table)

    @cached_property
    def agencies(self) -> list[str]:
        """The agencies, sorted."""
        return sorted(self.table["agency"].unique().tolist())

    def sizes(self) -> dict[str, int]:
        """Records per agency."""
        counts = self.table["agency"].value_counts()
        return {a: int(counts[a]) for a in self.agencies}

    @cached_property
    def person_labels(self) -> np.ndarray:
        """One integer per record; equal for records of the same person."""
        return pd.factorize(self.table["person_id"])[0].astype(np.int64)

    @cached_property
    def agency_labels(self) -> np.ndarray:
        """The agency of every record, as an array of str."""
        return self.table["agency"].to_numpy(dtype=object)

    @cached_property
    def _lookup(self) -> dict[str, tuple[pd.Index, np.ndarray]]:
        """Per agency: an index of its record ids and their positions in the table."""
        out: dict[str, tuple[pd.Index, np.ndarray]] = {}
        agencies = self.agency_labels
        record_ids = self.table["record_id"].to_numpy(dtype=object)
        for name in self.agencies:
            rows = np.flatnonzero(agencies == name)
            out[name] = (pd.Index(record_ids[rows], dtype=object), rows)
        return out

    def positions(self, agency: Iterable[str], record_id: Iterable[str]) -> np.ndarray:
        """Record positions of (agency, record_id) keys; -1 where the truth has no such record."""
        agencies = _objects(agency)
        record_ids = _objects(record_id)
        out = np.full(len(agencies), -1, dtype=np.int64)
        for name in pd.unique(agencies):
            if name not in self._lookup:
                continue
            index, rows = self._lookup[name]
            mask = agencies == name
            found = index.get_indexer(record_ids[mask])
            out[mask] = np.where(found >= 0, rows[np.maximum(found, 0)], -1)
        return out

    def restrict(self, agencies: Iterable[str]) -> Truth:
        """The truth for these agencies only (positions renumbered)."""
        keep = self.table["agency"].isin(list(agencies))
        return Truth(self.table[keep].reset_index(drop=True))


def _objects(values: Iterable[str]) -> np.ndarray:
    if isinstance(values, np.ndarray | pd.Series | pd.Index):
        return np.asarray(values, dtype=object)
    return np.asarray(list(values), dtype=object)


def load_truth(path: Path | str) -> Truth:
    """Read and validate ``truth.csv`` (columns ``agency,record_id,person_id``)."""
    frame = read_string_table(path, what="truth", required=TRUTH_COLUMNS)
    return Truth.from_frame(frame, source=str(path))
