"""Linkage quality measures, computed from two clusterings of the same records.

A *clustering* is one label per record: records with equal labels are the same
person.  The truth gives one clustering (``true``), the linkage another
(``pred``; unlinked records carry labels of their own).  Every pairwise count
comes from the contingency table of the two clusterings -- how many records
each (true person, predicted cluster) cell holds -- as a sum of ``C(n, 2)``
over cells, so the cost grows with the number of records, never with the
number of pairs.

Conventions for empty denominators: precision is 1.0 when nothing was linked
(no predicted pairs), recall is 1.0 when there is nothing to find (no true
pairs), and F1 is ``2·TP / (predicted + true)``, which is 1.0 only when both
are empty.  The counts are always reported alongside, so a vacuous 1.0 is
visible as "0 predicted pairs".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Which record pairs a measure counts: every pair, or only pairs whose two
#: records come from different agencies.
SCOPES = ("all", "cross")


def _ratio(num: int, den: int, empty: float) -> float:
    return num / den if den else empty


@dataclass(frozen=True)
class PairCounts:
    """Pair counts of one comparison of a linkage with the truth.

    ``true_pairs``: pairs of records of the same person; ``predicted_pairs``:
    pairs the linkage put in one cluster; ``true_positives``: pairs in both.
    """

    true_pairs: int
    predicted_pairs: int
    true_positives: int

    @property
    def false_positives(self) -> int:
        """Linked pairs that are two different people."""
        return self.predicted_pairs - self.true_positives

    @property
    def false_negatives(self) -> int:
        """Pairs of one person that the linkage left apart."""
        return self.true_pairs - self.true_positives

    @property
    def precision(self) -> float:
        """Share of linked pairs that are right (1.0 when nothing was linked)."""
        return _ratio(self.true_positives, self.predicted_pairs, 1.0)

    @property
    def recall(self) -> float:
        """Share of true pairs that were linked (1.0 when there are none)."""
        return _ratio(self.true_positives, self.true_pairs, 1.0)

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall: ``2·TP / (predicted + true)``."""
        return _ratio(2 * self.true_positives, self.predicted_pairs + self.true_pairs, 1.0)

    def __add__(self, other: PairCounts) -> PairCounts:
        return PairCounts(
            self.true_pairs + other.true_pairs,
            self.predicted_pairs + other.predicted_pairs,
            self.true_positives + other.true_positives,
        )

    def to_dict(self) -> dict[str, Any]:
        """The counts and the three scores, for JSON."""
        return {
            "true_pairs": self.true_pairs,
            "predicted_pairs": self.predicted_pairs,
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


EMPTY_COUNTS = PairCounts(0, 0, 0)


def _codes(labels: Iterable[Any], name: str) -> np.ndarray:
    values = pd.Series(labels if isinstance(labels, np.ndarray | pd.Series) else list(labels))
    if values.isna().any():
        raise ValueError(f"{name} labels must not be missing: give unlinked records own labels")
    codes, _ = pd.factorize(values, sort=False)
    return codes.astype(np.int64)


def _aligned(true: Iterable[Any], pred: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    t, p = _codes(true, "true"), _codes(pred, "predicted")
    if len(t) != len(p):
        raise ValueError(f"true has {len(t)} labels but pred has {len(p)}")
    return t, p


def _agency_codes(agencies: Iterable[Any], n: int) -> tuple[np.ndarray, list[str]]:
    """Agency codes 0..K-1 in sorted name order, and the names."""
    values = pd.Series(agencies if isinstance(agencies, np.ndarray | pd.Series) else list(agencies))
    if len(values) != n:
        raise ValueError(f"agencies has {len(values)} labels but there are {n} records")
    codes, uniques = pd.factorize(values.astype(str), sort=True)
    return codes.astype(np.int64), [str(u) for u in uniques]


def _pairs(counts: np.ndarray) -> int:
    counts = counts.astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def _cells(t: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-empty contingency cells: (true code, predicted code, records)."""
    if len(t) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    width = int(p.max()) + 1
    keys, counts = np.unique(t * width + p, return_counts=True)
    return keys // width, keys % width, counts.astype(np.int64)


def pairwise_metrics(true: Iterable[Any], pred: Iterable[Any]) -> PairCounts:
    """Pairwise precision, recall and F1 of ``pred`` against ``true`` (all pairs).

    ``true`` and ``pred`` hold one label per record, in the same record order.
    """
    t, p = _aligned(true, pred)
    _, _, cell_n = _cells(t, p)
    return PairCounts(
        true_pairs=_pairs(np.bincount(t)) if len(t) else 0,
        predicted_pairs=_pairs(np.bincount(p)) if len(p) else 0,
        true_positives=_pairs(cell_n),
    )


def _group_by_agency(groups: np.ndarray, agency_codes: np.ndarray, n_agencies: int) -> np.ndarray:
    """Records per (group, agency) for groups of two or more records: a dense matrix."""
    if len(groups) == 0:
        return np.zeros((0, n_agencies), dtype=np.int64)
    sizes = np.bincount(groups)
    keep = sizes[groups] >= 2  # singletons form no pair at all
    g, a = groups[keep], agency_codes[keep]
    if len(g) == 0:
        return np.zeros((0, n_agencies), dtype=np.int64)
    dense_g = pd.factorize(g)[0]
    matrix = np.zeros((int(dense_g.max()) + 1, n_agencies), dtype=np.int64)
    np.add.at(matrix, (dense_g, a), 1)
    return matrix


def _pairs_by_agency(matrix: np.ndarray, names: Sequence[str]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for i, a in enumerate(names):
        col = matrix[:, i]
        out[(a, a)] = int((col * (col - 1) // 2).sum())
        for j in range(i + 1, len(names)):
            out[(a, names[j])] = int((col * matrix[:, j]).sum())
    return out


def agency_pair_metrics(
    true: Iterable[Any], pred: Iterable[Any], agencies: Iterable[Any]
) -> dict[tuple[str, str], PairCounts]:
    """Pair counts per agency pair: ``(A, B)`` counts pairs with one record in A and
    one in B, ``(A, A)`` pairs within A (duplicates).  Keys are sorted, ``A <= B``.
    """
    t, p = _aligned(true, pred)
    a_codes, names = _agency_codes(agencies, len(t))
    k = len(names)
    cell_t, cell_p, _ = _cells(t, p)
    # one code per non-empty cell, for every record
    if len(t):
        width = int(p.max()) + 1
        cell_codes = np.searchsorted(cell_t * width + cell_p, t * width + p)
    else:
        cell_codes = t
    true_by = _pairs_by_agency(_group_by_agency(t, a_codes, k), names)
    pred_by = _pairs_by_agency(_group_by_agency(p, a_codes, k), names)
    tp_by = _pairs_by_agency(_group_by_agency(cell_codes, a_codes, k), names)
    return {key: PairCounts(true_by[key], pred_by[key], tp_by[key]) for key in true_by}


def split_by_scope(by_pair: Mapping[tuple[str, str], PairCounts]) -> dict[str, PairCounts]:
    """Sum per-agency-pair counts into ``all``, ``cross_agency`` and ``within_agency``."""
    cross = sum((c for (a, b), c in by_pair.items() if a != b), EMPTY_COUNTS)
    within = sum((c for (a, b), c in by_pair.items() if a == b), EMPTY_COUNTS)
    return {"all": cross + within, "cross_agency": cross, "within_agency": within}


def _size_distribution(sizes: np.ndarray) -> dict[int, int]:
    if len(sizes) == 0:
        return {}
    values, counts = np.unique(sizes, return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts, strict=True)}


@dataclass(frozen=True)
class ClusterMetrics:
    """How well whole people were reassembled, not just pairs.

    A person is *exactly reunited* when one predicted cluster holds all of that
    person's records and nobody else's; *split* when the records are spread over
    two or more predicted clusters; *over-merged* when a predicted cluster holding
    one of the records also holds another person's record (both can happen).
    Cluster precision / recall are the shares of predicted clusters / true people
    that match exactly.
    """

    people: int
    predicted_clusters: int
    exactly_reunited: int
    split_people: int
    over_merged_people: int
    split_and_over_merged_people: int
    mixed_clusters: int
    multi_record_people: int
    multi_record_reunited: int
    true_sizes: dict[int, int] = field(default_factory=dict)
    predicted_sizes: dict[int, int] = field(default_factory=dict)
    #: by the number of agencies a person appears in: (people, exactly reunited)
    by_agency_count: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def reunited_share(self) -> float:
        """Share of all people whose records are exactly reunited."""
        return _ratio(self.exactly_reunited, self.people, 1.0)

    @property
    def multi_record_reunited_share(self) -> float:
        """The same share among people with two or more records (the ones at stake)."""
        return _ratio(self.multi_record_reunited, self.multi_record_people, 1.0)

    @property
    def cluster_precision(self) -> float:
        """Share of predicted clusters that are exactly one whole person."""
        return _ratio(self.exactly_reunited, self.predicted_clusters, 1.0)

    @property
    def cluster_recall(self) -> float:
        """Share of people reproduced exactly by a predicted cluster."""
        return self.reunited_share

    @property
    def cluster_f1(self) -> float:
        """Harmonic mean of cluster precision and cluster recall."""
        return _ratio(2 * self.exactly_reunited, self.predicted_clusters + self.people, 1.0)

    def to_dict(self) -> dict[str, Any]:
        """All counts and shares, for JSON (size keys as strings)."""
        return {
            "people": self.people,
            "predicted_clusters": self.predicted_clusters,
            "exactly_reunited": self.exactly_reunited,
            "reunited_share": self.reunited_share,
            "multi_record_people": self.multi_record_people,
            "multi_record_reunited": self.multi_record_reunited,
            "multi_record_reunited_share": self.multi_record_reunited_share,
            "split_people": self.split_people,
            "over_merged_people": self.over_merged_people,
            "split_and_over_merged_people": self.split_and_over_merged_people,
            "mixed_clusters": self.mixed_clusters,
            "cluster_precision": self.cluster_precision,
            "cluster_recall": self.cluster_recall,
            "cluster_f1": self.cluster_f1,
            "true_cluster_sizes": {str(k): v for k, v in self.true_sizes.items()},
            "predicted_cluster_sizes": {str(k): v for k, v in self.predicted_sizes.items()},
            "by_agency_count": {
                str(k): {
                    "people": n,
                    "exactly_reunited": r,
                    "reunited_share": _ratio(r, n, 1.0),
                }
                for k, (n, r) in self.by_agency_count.items()
            },
        }


def cluster_metrics(
    true: Iterable[Any], pred: Iterable[Any], agencies: Iterable[Any] | None = None
) -> ClusterMetrics:
    """Cluster-level measures of ``pred`` against ``true`` (see :class:`ClusterMetrics`).

    With ``agencies`` (one per record), people are also grouped by how many
    agencies they appear in.
    """
    t, p = _aligned(true, pred)
    cell_t, cell_p, _ = _cells(t, p)
    n_true = int(t.max()) + 1 if len(t) else 0
    n_pred = int(p.max()) + 1 if len(p) else 0
    parts_per_person = np.bincount(cell_t, minlength=n_true)
    people_per_cluster = np.bincount(cell_p, minlength=n_pred)
    split = parts_per_person > 1
    mixed = people_per_cluster > 1
    merged = np.zeros(n_true, dtype=bool)
    merged[cell_t[mixed[cell_p]]] = True
    exact = ~split & ~merged
    true_sizes = np.bincount(t, minlength=n_true)
    multi = true_sizes >= 2
    by_count: dict[int, tuple[int, int]] = {}
    if agencies is not None:
        a_codes, names = _agency_codes(agencies, len(t))
        width = max(len(names), 1)
        person_agency = np.unique(t * width + a_codes)
        n_agencies = np.bincount(person_agency // width, minlength=n_true)
        for k in np.unique(n_agencies):
            sel = n_agencies == k
            by_count[int(k)] = (int(sel.sum()), int((exact & sel).sum()))
    return ClusterMetrics(
        people=n_true,
        predicted_clusters=n_pred,
        exactly_reunited=int(exact.sum()),
        split_people=int(split.sum()),
        over_merged_people=int(merged.sum()),
        split_and_over_merged_people=int((split & merged).sum()),
        mixed_clusters=int(mixed.sum()),
        multi_record_people=int(multi.sum()),
        multi_record_reunited=int((exact & multi).sum()),
        true_sizes=_size_distribution(true_sizes),
        predicted_sizes=_size_distribution(np.bincount(p, minlength=n_pred)),
        by_agency_count=by_count,
    )


# --------------------------------------------------------------------------- blocking


def comparison_space(sizes: Mapping[str, int] | Sequence[int], scope: str = "all") -> int:
    """Number of record pairs a linkage could compare, given records per agency.

    ``scope="cross"``: pairs across agencies only (``sum n_A·n_B``); ``"all"``:
    also pairs within each agency (de-duplication), i.e. ``C(N, 2)``.
    """
    _check_scope(scope)
    values = np.asarray(list(sizes.values()) if isinstance(sizes, Mapping) else list(sizes))
    values = values.astype(np.int64)
    total = int(values.sum())
    every = total * (total - 1) // 2
    if scope == "all":
        return every
    return every - int((values * (values - 1) // 2).sum())


def true_pair_count(
    true: Iterable[Any], agencies: Iterable[Any] | None = None, scope: str = "all"
) -> int:
    """Number of pairs of records of the same person, within ``scope``."""
    _check_scope(scope)
    t = _codes(true, "true")
    every = _pairs(np.bincount(t)) if len(t) else 0
    if scope == "all":
        return every
    if agencies is None:
        raise ValueError("scope='cross' needs the agency of every record")
    a_codes, names = _agency_codes(agencies, len(t))
    width = max(len(names), 1)
    _, within = np.unique(t * width + a_codes, return_counts=True)
    return every - _pairs(within)


def _check_scope(scope: str) -> None:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}")


@dataclass(frozen=True)
class BlockingMetrics:
    """How well a candidate set (the pairs blocking lets through) covers the truth.

    ``pair_completeness``: share of true pairs among the candidates (the recall
    ceiling of everything after blocking); ``reduction_ratio``: share of the
    comparison space that was *not* compared; ``pairs_quality``: share of
    candidates that are true pairs.
    """

    candidate_pairs: int
    true_candidate_pairs: int
    true_pairs: int
    comparison_space: int
    scope: str = "all"

    @property
    def pair_completeness(self) -> float:
        return _ratio(self.true_candidate_pairs, self.true_pairs, 1.0)

    @property
    def reduction_ratio(self) -> float:
        return 1.0 - _ratio(self.candidate_pairs, self.comparison_space, 0.0)

    @property
    def pairs_quality(self) -> float:
        return _ratio(self.true_candidate_pairs, self.candidate_pairs, 1.0)

    def to_dict(self) -> dict[str, Any]:
        """The counts and the three shares, for JSON."""
        return {
            "scope": self.scope,
            "candidate_pairs": self.candidate_pairs,
            "true_candidate_pairs": self.true_candidate_pairs,
            "true_pairs": self.true_pairs,
            "comparison_space": self.comparison_space,
            "pair_completeness": self.pair_completeness,
            "reduction_ratio": self.reduction_ratio,
            "pairs_quality": self.pairs_quality,
        }


def blocking_metrics(
    first: Sequence[int] | np.ndarray,
    second: Sequence[int] | np.ndarray,
    true: Iterable[Any],
    agencies: Iterable[Any] | None = None,
    *,
    scope: str = "all",
) -> BlockingMetrics:
    """Pair completeness and reduction ratio of a set of candidate pairs.

    ``first[i]`` and ``second[i]`` are the positions (into ``true`` and
    ``agencies``) of the two records of candidate ``i``.  A pair listed twice,
    in either order, counts once; with ``scope="cross"`` candidates within one
    agency are outside the comparison space and are not counted.
    """
    _check_scope(scope)
    t = _codes(true, "true")
    a = np.asarray(first, dtype=np.int64)
    b = np.asarray(second, dtype=np.int64)
    if a.shape != b.shape:
        raise ValueError("first and second must have the same length")
    if len(a) and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= len(t)):
        raise ValueError("candidate positions must index the records")
    if np.any(a == b):
        raise ValueError("a candidate pair cannot pair a record with itself")
    width = max(len(t), 1)
    pairs = np.unique(np.minimum(a, b) * width + np.maximum(a, b))
    lo, hi = pairs // width, pairs % width
    if agencies is not None:
        a_codes, names = _agency_codes(agencies, len(t))
        sizes = np.bincount(a_codes, minlength=len(names))
        if scope == "cross":
            keep = a_codes[lo] != a_codes[hi]
            lo, hi = lo[keep], hi[keep]
    elif scope == "cross":
        raise ValueError("scope='cross' needs the agency of every record")
    else:
        a_codes, sizes = None, np.asarray([len(t)])
    return BlockingMetrics(
        candidate_pairs=len(lo),
        true_candidate_pairs=int((t[lo] == t[hi]).sum()),
        true_pairs=true_pair_count(t, a_codes, scope),
        comparison_space=comparison_space(list(sizes), scope),
        scope=scope,
    )
