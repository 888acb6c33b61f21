"""Scored candidate pairs: the matcher's comparisons, before any threshold.

A pairs file has ``agency_a,record_a,agency_b,record_b,similarity`` -- or
``row_token_a`` / ``row_token_b`` instead of the record ids, resolved through
the agencies' row-token maps.  Each row is one compared pair of records and
its similarity score (any real number; higher means more alike).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from htlink.errors import InputDataError
from htlink.evaluate._csv import line_numbers, read_string_table, require_nonempty
from htlink.evaluate.links import TokenSource, check_known, resolve_tokens
from htlink.evaluate.truth import Truth

PAIR_COLUMNS = ("agency_a", "record_a", "agency_b", "record_b", "similarity")


def load_pairs(path: Path | str, tokens: Mapping[str, TokenSource] | None = None) -> pd.DataFrame:
    """A pairs file as ``agency_a, record_a, agency_b, record_b, similarity`` (float)."""
    path = Path(path)
    frame = read_string_table(
        path,
        what="pairs",
        required=(
            "agency_a",
            ("record_a", "row_token_a"),
            "agency_b",
            ("record_b", "row_token_b"),
            "similarity",
        ),
    )
    if frame.empty:
        raise InputDataError(
            f"The pairs file {path} has no pairs.", "It needs one row per compared pair."
        )
    require_nonempty(frame, ("agency_a", "agency_b", "similarity"), path, "pairs")
    out = pd.DataFrame({"agency_a": frame["agency_a"], "agency_b": frame["agency_b"]})
    for side in ("a", "b"):
        if f"record_{side}" in frame.columns:
            require_nonempty(frame, (f"record_{side}",), path, "pairs")
            out[f"record_{side}"] = frame[f"record_{side}"]
        else:
            require_nonempty(frame, (f"row_token_{side}",), path, "pairs")
            out[f"record_{side}"] = resolve_tokens(
                frame[f"agency_{side}"],
                frame[f"row_token_{side}"],
                tokens,
                source=f"pairs file {path}",
            )
    similarity = pd.to_numeric(frame["similarity"], errors="coerce")
    bad = ~np.isfinite(similarity.to_numpy(dtype=float))
    if bad.any():
        raise InputDataError(
            f"{int(bad.sum())} rows of the pairs file {path} have a similarity that is not a "
            f"number (first at {line_numbers(bad)}).",
            "similarity must be a finite number.",
        )
    out["similarity"] = similarity.to_numpy(dtype=float)
    return out.loc[:, list(PAIR_COLUMNS)].reset_index(drop=True)


@dataclass(frozen=True)
class LocatedPairs:
    """Pairs as record positions into the truth, each pair once.

    ``first < second``; a pair listed more than once keeps its highest
    similarity.  ``is_match``: the two records are the same person;
    ``same_agency``: both come from one agency.
    """

    first: np.ndarray
    second: np.ndarray
    similarity: np.ndarray
    is_match: np.ndarray
    same_agency: np.ndarray
    duplicates_dropped: int = 0

    def __len__(self) -> int:
        return len(self.first)

    def subset(self, keep: np.ndarray) -> LocatedPairs:
        """Only the pairs where ``keep`` holds."""
        return LocatedPairs(
            self.first[keep],
            self.second[keep],
            self.similarity[keep],
            self.is_match[keep],
            self.same_agency[keep],
            self.duplicates_dropped,
        )


def locate_pairs(truth: Truth, pairs: pd.DataFrame) -> LocatedPairs:
    """Place scored pairs on the truth's records and label them match / non-match."""
    a, b = (
        check_known(
            truth,
            pd.DataFrame({"agency": pairs[f"agency_{side}"], "record_id": pairs[f"record_{side}"]}),
            "the pairs",
        )
        for side in ("a", "b")
    )
    self_pairs = a == b
    if self_pairs.any():
        raise InputDataError(
            f"{int(self_pairs.sum())} rows of the pairs pair a record with itself "
            f"(first at {line_numbers(self_pairs)}).",
            "Each pair must name two different records.",
        )
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    sim = pairs["similarity"].to_numpy(dtype=float)
    order = np.lexsort((-sim, hi, lo))  # by pair, highest similarity first
    lo, hi, sim = lo[order], hi[order], sim[order]
    first_of_pair = np.ones(len(lo), dtype=bool)
    first_of_pair[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, sim = lo[first_of_pair], hi[first_of_pair], sim[first_of_pair]
    persons = truth.person_labels
    agencies = truth.agency_labels
    return LocatedPairs(
        first=lo,
        second=hi,
        similarity=sim,
        is_match=persons[lo] == persons[hi],
        same_agency=agencies[lo] == agencies[hi],
        duplicates_dropped=int((~first_of_pair).sum()),
    )
