"""What every agency builder returns, and helpers the builders share."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from htlink.synthetic.world import AgencyJob


@dataclass
class AgencyTable:
    """One agency's extract with its record ids, the people behind them and its mapping."""

    kind: str
    frame: pd.DataFrame
    id_column: str
    person: np.ndarray  # population index of each row (for truth.csv only)
    mapping: dict[str, Any]  # the `htlink encode` mapping file for this extract
    corruption: Counter[str] = field(default_factory=Counter)


def local_ids(job: AgencyJob, rate: float) -> np.ndarray:
    """Group numbers for an agency's own person id (MRN, case id).

    A person's first record opens a group; each later record opens a new one
    with probability ``rate`` (a patient registered again, a new case opened).
    """
    new = (job.draw.seq == 0) | job.chance(rate)
    job.counts["new_local_id"] += int((new & (job.draw.seq > 0)).sum())
    return np.cumsum(new) - 1


def choose(job: AgencyJob, shares: dict[str, float]) -> np.ndarray:
    """One of ``shares``' keys per record, by share."""
    keys = list(shares)
    p = np.asarray([shares[k] for k in keys], dtype=float)
    return np.asarray(keys, dtype=object)[job.rng.choice(len(keys), size=job.size, p=p / p.sum())]


def text_column(values: np.ndarray) -> pd.Series:
    """A column of text with None for missing values (written as empty cells)."""
    return pd.Series(values, dtype=object)


def name_part_mapping(column: str, name_format: str) -> dict[str, dict[str, str]]:
    """Mapping entries that split one full-name column into given name and surname."""
    return {
        "given_name": {"column": column, "part": "given", "name_format": name_format},
        "surname": {"column": column, "part": "surname", "name_format": name_format},
    }
