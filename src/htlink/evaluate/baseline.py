"""A simple non-private baseline: link records whose normalized name and DOB are equal.

Records are linked when their normalized given name, surname and date of
birth (htlink's own normalization: :func:`~htlink.normalize.normalize_name`,
:func:`~htlink.normalize.parse_date`) are all present and all equal -- within
and across agencies.  It needs the identifiers in clear, so it is only for
synthetic or public data: a yardstick ("exact matching finds this much") for
the private linkage, and the exact-match recall in the docs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from htlink.errors import InputDataError
from htlink.normalize import normalize_name, parse_date


@dataclass(frozen=True)
class BaselineColumns:
    """Which columns of an agency's file hold the record id and the exact-match key."""

    record_id: str = "record_id"
    given_name: str = "given_name"
    surname: str = "surname"
    dob: str = "dob"
    #: how the agency writes dates like 03/04/1990: "MDY", "DMY" or "YMD"
    date_order: str | None = None


def _each_distinct(values: pd.Series, fn: object) -> pd.Series:
    """``fn`` applied once per distinct value (names repeat a lot)."""
    distinct = pd.unique(values.to_numpy(dtype=object))
    mapped = {v: fn(v) for v in distinct}  # type: ignore[operator]
    return values.map(mapped)


def exact_keys(frame: pd.DataFrame, columns: BaselineColumns = BaselineColumns()) -> pd.Series:
    """Each record's normalized ``given|surname|YYYY-MM-DD``, or None when a part is missing."""
    missing = [
        c for c in (columns.given_name, columns.surname, columns.dob) if c not in frame.columns
    ]
    if missing:
        raise InputDataError(
            f"The records have no column {', '.join(missing)} for the exact-match key.",
            "Name the given-name, surname and date-of-birth columns in BaselineColumns.",
        )
    given = _each_distinct(frame[columns.given_name], lambda v: normalize_name(v, "given"))
    surname = _each_distinct(frame[columns.surname], lambda v: normalize_name(v, "surname"))
    dob = _each_distinct(
        frame[columns.dob],
        lambda v: d.isoformat() if (d := parse_date(v, columns.date_order)) else None,
    )
    complete = given.notna() & surname.notna() & dob.notna()
    keys = given.astype(object) + "|" + surname.astype(object) + "|" + dob.astype(object)
    return keys.where(complete, None)


def exact_match_links(
    frames: Mapping[str, pd.DataFrame],
    columns: BaselineColumns | Mapping[str, BaselineColumns] = BaselineColumns(),
) -> pd.DataFrame:
    """Links by exact match on normalized (given name, surname, date of birth).

    ``frames`` maps agency names to their records; ``columns`` is one
    :class:`BaselineColumns` for all or one per agency.  Returns a links frame
    (``agency, record_id, pseudonym, confidence``) with a row per record: equal
    keys share a pseudonym, and a record with an incomplete key gets one of its
    own.  Pseudonyms are numbers, not derived from the key.
    """
    parts = []
    for agency, frame in frames.items():
        cols = columns if isinstance(columns, BaselineColumns) else columns[agency]
        if cols.record_id not in frame.columns:
            raise InputDataError(
                f"The records of {agency} have no record id column {cols.record_id}.",
                "Name it in BaselineColumns(record_id=...).",
            )
        parts.append(
            pd.DataFrame(
                {
                    "agency": agency,
                    "record_id": frame[cols.record_id].astype(str).str.strip().to_numpy(),
                    "key": exact_keys(frame, cols).to_numpy(dtype=object),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["agency", "record_id", "pseudonym", "confidence"])
    links = pd.concat(parts, ignore_index=True)
    codes, uniques = pd.factorize(links["key"])  # missing keys get -1
    lonely = codes < 0
    codes = codes.copy()
    codes[lonely] = len(uniques) + np.arange(int(lonely.sum()))
    links["pseudonym"] = [f"x{c}" for c in codes]
    links["confidence"] = 1.0
    return links.drop(columns="key")
