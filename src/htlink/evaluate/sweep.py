"""Threshold sweep: linkage quality of "link every pair scoring at least t", for each t.

Precision at ``t`` is the share of pairs scoring ``>= t`` that are true
matches; recall is relative to **all** true pairs in the truth (within the
scope), not only to the scored ones -- a pair that blocking never compared can
never be found, and the sweep says so: recall at the lowest threshold is the
pair completeness of the candidate set.

Everything is computed exactly from the sorted scores: the table at a grid of
thresholds, the best-F1 threshold over every distinct score, and the score
distributions (histograms) of true matches and non-matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from htlink.evaluate.metrics import PairCounts


@dataclass(frozen=True)
class SweepResult:
    """Pairwise quality against the similarity threshold.

    The arrays are aligned with :attr:`thresholds`.  :meth:`at` gives the exact
    counts at any threshold; :attr:`best` is the threshold with the highest F1
    (the highest such threshold when several tie).
    """

    thresholds: np.ndarray
    predicted_pairs: np.ndarray
    true_positives: np.ndarray
    total_true_pairs: int
    scored_pairs: int
    scored_matches: int
    best_threshold: float
    bin_edges: np.ndarray
    match_counts: np.ndarray
    nonmatch_counts: np.ndarray
    scope: str = "all"
    _desc: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    _cum_tp: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.int64))

    @property
    def precision(self) -> np.ndarray:
        """Precision at each threshold (1.0 where no pair scores that high)."""
        pp = self.predicted_pairs
        return np.where(pp > 0, self.true_positives / np.maximum(pp, 1), 1.0)

    @property
    def recall(self) -> np.ndarray:
        """Recall at each threshold, against all true pairs in scope."""
        if self.total_true_pairs == 0:
            return np.ones(len(self.thresholds))
        return self.true_positives / self.total_true_pairs

    @property
    def f1(self) -> np.ndarray:
        """F1 at each threshold: ``2·TP / (linked + true)``."""
        den = self.predicted_pairs + self.total_true_pairs
        return np.where(den > 0, 2 * self.true_positives / np.maximum(den, 1), 1.0)

    def at(self, threshold: float) -> PairCounts:
        """Exact counts when every pair scoring ``>= threshold`` is linked."""
        k = int(len(self._desc) - np.searchsorted(self._desc[::-1], threshold, side="left"))
        tp = int(self._cum_tp[k - 1]) if k > 0 else 0
        return PairCounts(self.total_true_pairs, k, tp)

    @property
    def best(self) -> PairCounts:
        """Counts at :attr:`best_threshold`."""
        return self.at(self.best_threshold)

    @property
    def max_recall(self) -> float:
        """Recall if every scored pair were linked: the candidate set's pair completeness."""
        if self.total_true_pairs == 0:
            return 1.0
        return self.scored_matches / self.total_true_pairs

    def to_dict(self, chosen: float | None = None) -> dict[str, Any]:
        """The table, the best threshold, the histograms (and ``chosen``), for JSON."""
        out: dict[str, Any] = {
            "scope": self.scope,
            "scored_pairs": self.scored_pairs,
            "scored_matches": self.scored_matches,
            "total_true_pairs": self.total_true_pairs,
            "max_recall": self.max_recall,
            "best": {"threshold": self.best_threshold, **self.best.to_dict()},
            "chosen": (
                {"threshold": chosen, **self.at(chosen).to_dict()} if chosen is not None else None
            ),
            "table": [
                {
                    "threshold": float(t),
                    "predicted_pairs": int(pp),
                    "true_positives": int(tp),
                    "precision": float(p),
                    "recall": float(r),
                    "f1": float(f),
                }
                for t, pp, tp, p, r, f in zip(
                    self.thresholds,
                    self.predicted_pairs,
                    self.true_positives,
                    self.precision,
                    self.recall,
                    self.f1,
                    strict=True,
                )
            ],
            "histogram": {
                "bin_edges": [float(e) for e in self.bin_edges],
                "matches": [int(c) for c in self.match_counts],
                "non_matches": [int(c) for c in self.nonmatch_counts],
            },
        }
        return out


def default_thresholds(similarity: np.ndarray, points: int = 101) -> np.ndarray:
    """An even grid over the scores' range; 0.00, 0.01, ..., 1.00 for scores in [0, 1]."""
    if len(similarity) == 0:
        return np.linspace(0.0, 1.0, points)
    lo, hi = float(similarity.min()), float(similarity.max())
    if lo >= 0.0 and hi <= 1.0:
        lo, hi = 0.0, 1.0
    elif lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.round(np.linspace(lo, hi, points), 10)


def threshold_sweep(
    similarity: Sequence[float] | np.ndarray,
    is_match: Sequence[bool] | np.ndarray,
    total_true_pairs: int,
    *,
    thresholds: Sequence[float] | np.ndarray | None = None,
    bins: int = 50,
    scope: str = "all",
) -> SweepResult:
    """Sweep the threshold over scored pairs.

    ``similarity`` and ``is_match`` describe each scored pair (each pair once);
    ``total_true_pairs`` is the number of true pairs in the truth within
    ``scope`` (see :func:`htlink.evaluate.metrics.true_pair_count`).
    """
    sim = np.asarray(similarity, dtype=float)
    match = np.asarray(is_match, dtype=bool)
    if sim.shape != match.shape or sim.ndim != 1:
        raise ValueError("similarity and is_match must be 1-d and of the same length")
    if len(sim) and not np.isfinite(sim).all():
        raise ValueError("similarity must be finite")
    scored_matches = int(match.sum())
    if scored_matches > total_true_pairs:
        raise ValueError("more scored matches than true pairs: is total_true_pairs in scope?")
    order = np.argsort(-sim, kind="stable")
    desc, cum_tp = sim[order], np.cumsum(match[order], dtype=np.int64)
    grid = default_thresholds(sim) if thresholds is None else np.asarray(thresholds, dtype=float)
    asc = desc[::-1]
    k = len(desc) - np.searchsorted(asc, grid, side="left")
    tp = np.where(k > 0, cum_tp[np.maximum(k - 1, 0)] if len(desc) else 0, 0)
    # best F1 over every distinct score: the last position of each run of equal scores
    if len(desc):
        run_end = np.flatnonzero(np.append(desc[1:] != desc[:-1], True))
        f1 = 2 * cum_tp[run_end] / (run_end + 1 + total_true_pairs)
        best_threshold = float(desc[run_end[int(np.argmax(f1))]])
    else:
        best_threshold = float(grid.max()) if len(grid) else 0.0
    lo, hi = (float(grid.min()), float(grid.max())) if len(grid) else (0.0, 1.0)
    if len(sim):
        lo, hi = min(lo, float(sim.min())), max(hi, float(sim.max()))
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    return SweepResult(
        thresholds=grid,
        predicted_pairs=k.astype(np.int64),
        true_positives=np.asarray(tp, dtype=np.int64),
        total_true_pairs=int(total_true_pairs),
        scored_pairs=len(sim),
        scored_matches=scored_matches,
        best_threshold=best_threshold,
        bin_edges=edges,
        match_counts=np.histogram(sim[match], bins=edges)[0],
        nonmatch_counts=np.histogram(sim[~match], bins=edges)[0],
        scope=scope,
        _desc=desc,
        _cum_tp=cum_tp,
    )
