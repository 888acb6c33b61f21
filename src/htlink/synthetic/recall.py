"""How far exact matching gets on a synthetic world: the baseline to beat.

:func:`exact_match_recall` reads the agency files of a ``htlink synth``
output folder the way ``htlink encode`` would (through the folder's mapping
files), normalizes given name, surname and date of birth with
:mod:`htlink.normalize`, and counts how many of the true matching record pairs
-- every pair of records of the same person, within and across agencies --
agree exactly on all three (none missing).  A world where that share is high
is too easy to say anything about linkage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from htlink.normalize import normalize_name, parse_date

NAME_FORMATS = ("last_comma_first", "first_last")


@dataclass(frozen=True)
class RecallResult:
    """Pairwise recall of exact (given name, surname, date of birth) matching."""

    recall: float | None  # None when no person has two records
    true_pairs: int
    exact_pairs: int
    records: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with what was compared."""
        return {
            "recall": None if self.recall is None else round(self.recall, 4),
            "true_pairs": self.true_pairs,
            "exact_pairs": self.exact_pairs,
            "records": self.records,
            "key": "normalized given name + normalized surname + date of birth, none missing",
        }


def split_full_name(text: str | None, part: str, name_format: str) -> str | None:
    """One part (``"given"`` or ``"surname"``) of a full name held in one column.

    The same reading as ``htlink encode``'s mapping files:
    ``last_comma_first`` -- ``"García López, Ana María"``: the surname before
    the first comma, the given name after it; ``first_last`` --
    ``"ANA GARCIA LOPEZ"``: the first word is the given name, the rest the
    surname.  A name that does not fit (no comma, one word, an empty side)
    gives None for both parts.
    """
    text = (text or "").strip()
    if not text:
        return None
    if name_format == "last_comma_first":
        surname, comma, given = text.partition(",")
        if not comma or not surname.strip() or not given.strip():
            return None
        return given.strip() if part == "given" else surname.strip()
    if name_format == "first_last":
        words = text.split()
        if len(words) < 2:
            return None
        return words[0] if part == "given" else " ".join(words[1:])
    raise ValueError(f"name_format must be one of {NAME_FORMATS}")


def _column_values(frame: pd.DataFrame, entry: Any) -> tuple[np.ndarray, str | None]:
    """A mapped column's raw values and, for a name part, which part."""
    if isinstance(entry, dict):
        raw = frame[entry["column"]].to_numpy(dtype=object)
        return raw, f"{entry['part']}|{entry['name_format']}"
    return frame[entry].to_numpy(dtype=object), None


def _normalized_names(frame: pd.DataFrame, entry: Any, part: str) -> np.ndarray:
    raw, split = _column_values(frame, entry)
    texts: dict[str, str | None] = {}  # cell -> the name text it holds
    names: dict[str | None, str | None] = {None: None}  # name text -> normalized
    out = np.empty(len(raw), dtype=object)
    for i, value in enumerate(raw.tolist()):
        text = texts.get(value, "")
        if text == "":
            text = value or None
            if split is not None:
                text = split_full_name(text, *split.split("|"))
            texts[value] = text
        if text not in names:
            names[text] = normalize_name(text, part)
        out[i] = names[text]
    return out


def _normalized_dates(frame: pd.DataFrame, column: str, order: str | None) -> np.ndarray:
    raw = frame[column].to_numpy(dtype=object)
    cache: dict[str, str | None] = {}
    out = np.empty(len(raw), dtype=object)
    for i, value in enumerate(raw.tolist()):
        if value not in cache:
            date = parse_date(value, order or "MDY") if value else None
            cache[value] = date.isoformat() if date else None
        out[i] = cache[value]
    return out


def exact_match_keys(out_dir: str | Path, agency: str) -> pd.DataFrame:
    """``record_id`` and the exact-match key (None when a part is missing) of one agency."""
    folder = Path(out_dir)
    mapping = yaml.safe_load((folder / "mappings" / f"{agency}.yaml").read_text("utf-8"))
    frame = pd.read_csv(
        folder / f"{agency}.csv", dtype=str, keep_default_na=False, na_filter=False
    )
    columns = mapping["columns"]
    given = _normalized_names(frame, columns["given_name"], "given")
    surname = _normalized_names(frame, columns["surname"], "surname")
    dob = _normalized_dates(frame, columns["dob"], mapping.get("date_order"))
    key = np.asarray(
        [
            None if g is None or s is None or d is None else f"{g}|{s}|{d}"
            for g, s, d in zip(given.tolist(), surname.tolist(), dob.tolist(), strict=True)
        ],
        dtype=object,
    )
    return pd.DataFrame({"record_id": frame[mapping["id_column"]].to_numpy(), "key": key})


def exact_match_recall(out_dir: str | Path) -> RecallResult:
    """Pairwise recall of exact matching on (given name, surname, DOB) in ``out_dir``."""
    folder = Path(out_dir)
    truth = pd.read_csv(folder / "truth.csv", dtype=str, keep_default_na=False)
    parts = []
    for agency in sorted(truth["agency"].unique()):
        keys = exact_match_keys(folder, agency)
        keys["agency"] = agency
        parts.append(keys)
    keys = pd.concat(parts, ignore_index=True)
    merged = truth.merge(keys, on=["agency", "record_id"], how="left", validate="one_to_one")
    per_person = merged.groupby("person_id").size().to_numpy(dtype=np.int64)
    true_pairs = int((per_person * (per_person - 1) // 2).sum())
    known = merged.dropna(subset=["key"])
    per_key = known.groupby(["person_id", "key"]).size().to_numpy(dtype=np.int64)
    exact_pairs = int((per_key * (per_key - 1) // 2).sum())
    recall = exact_pairs / true_pairs if true_pairs else None
    return RecallResult(recall=recall, true_pairs=true_pairs, exact_pairs=exact_pairs,
                        records=len(merged))
