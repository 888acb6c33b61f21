"""Probabilistic (Fellegi–Sunter) linkage on field-level encodings.

``htlink match --method probabilistic`` runs :func:`link_probabilistic`.  It
needs submissions encoded with ``htlink encode --field-level``: besides the
CLK, one Bloom filter per feature (all zero where the value is missing).

1. **Candidates.**  CLK Dice at a low floor (``candidate_threshold``, 0.6 by
   default) across agencies, and within agencies that are not de-duplicated,
   with :func:`~htlink.match.similarities.dice_pairs` and
   :func:`~htlink.match.similarities.dice_pairs_within`.  Pairs below the floor
   are never compared field by field and are non-matches.
2. **Comparison vectors.**  For each candidate pair and each feature, the Dice
   of the two field filters, discretised into an *agreement level*: ``-1``
   missing (either filter empty), ``0`` disagree (Dice below the lowest cut),
   up to ``len(cuts)`` for the highest cut (by default: below 0.7, 0.7, 0.9,
   and 1.0 = identical).  The kernel is numba; :func:`field_dice_reference` is
   the plain numpy version the tests compare it with.
3. **Fellegi–Sunter by EM, without labels.**  Fields are conditionally
   independent given the match status; ``m[f, k]`` (``u[f, k]``) is the chance
   that a matching (non-matching) pair is at level ``k`` on feature ``f``, and
   ``lambda`` is the share of matches among the candidates.  A missing feature
   contributes nothing to either class (it is neither agreement nor
   disagreement).  ``u`` starts from random pairs of records (nearly all
   non-matches), ``m`` from a prior that favours agreement; EM runs on the
   distinct comparison vectors with their counts, so its cost does not grow
   with the number of pairs.
4. **Match probability** per pair: ``P(match | levels)``.
5. **Clustering and pseudonyms** exactly as the Dice engine: the pairs whose
   probability reaches ``threshold`` (0.5: a match is then more likely than
   not) go to :func:`~htlink.match.solving.cluster_records`, strongest first
   (by match weight, ties by CLK Dice), and every cluster gets its project
   pseudonym.  ``cluster_records``' average-linkage guard works on the CLKs: two
   clusters merge only if the mean CLK Dice of their members reaches
   ``min_average`` -- by default the candidate floor, so a chain of probable
   links cannot join groups that, taken as wholes, would not even have been
   candidates.  The confidence written per record is the probability of its
   best accepted link.

The summary holds only aggregates: the estimated ``m`` and ``u`` per feature
and level, ``lambda``, the EM iterations, counts and a histogram.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from htlink.encode.submission import Submission
from htlink.errors import HtlinkError
from htlink.match.engine import IncompatibleSubmissionsError, LinkResult, check_compatible
from htlink.match.pseudonyms import cluster_pseudonyms
from htlink.match.similarities import _popcount64, as_words, dice_pairs, dice_pairs_within
from htlink.match.solving import cluster_records

#: Dice cut points of the agreement levels: level k (k >= 1) is Dice >= CUTS[k - 1].
DEFAULT_CUTS: tuple[float, ...] = (0.7, 0.9, 1.0)
DEFAULT_CANDIDATE_THRESHOLD = 0.6
DEFAULT_THRESHOLD = 0.5
MISSING = -1
HISTOGRAM_BINS = 20
#: Floor for estimated probabilities, so that no level is ever impossible (log 0).
EPSILON = 1e-6


class MissingFieldEncodingsError(IncompatibleSubmissionsError):
    """Submissions without field-level encodings cannot be linked probabilistically."""


# --------------------------------------------------------------------------- comparison


def field_words(submissions: list[Submission], features: list[str]) -> np.ndarray:
    """Every record's field-level encodings as one ``(n, features, words)`` uint64 array."""
    per_sub = []
    for sub in submissions:
        assert sub.fields is not None
        per_sub.append(np.stack([as_words(sub.fields[f]) for f in features], axis=1))
    return np.ascontiguousarray(np.concatenate(per_sub))


@njit(nogil=True, cache=True)
def field_popcounts(words: np.ndarray) -> np.ndarray:
    """Bits set per record and feature of an ``(n, features, words)`` array."""
    n, n_fields, width = words.shape
    out = np.empty((n, n_fields), np.int64)
    for i in range(n):
        for f in range(n_fields):
            total = 0
            for k in range(width):
                total += _popcount64(words[i, f, k])
            out[i, f] = total
    return out


@njit(nogil=True, cache=True)
def _field_dice(
    words: np.ndarray, pop: np.ndarray, u: np.ndarray, v: np.ndarray, out: np.ndarray
) -> None:
    n_fields, width = words.shape[1], words.shape[2]
    for p in range(u.shape[0]):
        a, b = u[p], v[p]
        for f in range(n_fields):
            if pop[a, f] == 0 or pop[b, f] == 0:
                out[p, f] = np.nan
                continue
            inter = 0
            for k in range(width):
                inter += _popcount64(words[a, f, k] & words[b, f, k])
            out[p, f] = 2.0 * inter / (pop[a, f] + pop[b, f])


@njit(nogil=True, cache=True)
def _field_levels(
    words: np.ndarray,
    pop: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    cuts: np.ndarray,
    out: np.ndarray,
) -> None:
    n_fields, width = words.shape[1], words.shape[2]
    for p in range(u.shape[0]):
        a, b = u[p], v[p]
        for f in range(n_fields):
            pa, pb = pop[a, f], pop[b, f]
            if pa == 0 or pb == 0:
                out[p, f] = -1
                continue
            inter = 0
            for k in range(width):
                inter += _popcount64(words[a, f, k] & words[b, f, k])
            # 2 inter / (pa + pb) >= cut, in integers where the cut allows (exact for 1.0)
            level = 0
            for c in range(cuts.shape[0]):
                if 2.0 * inter >= cuts[c] * (pa + pb) - 1e-9:
                    level = c + 1
            out[p, f] = level


def field_dice(words: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Per-feature Dice of pairs ``(u[k], v[k])``: ``(pairs, features)``, NaN where missing."""
    u = np.ascontiguousarray(u, dtype=np.int64)
    v = np.ascontiguousarray(v, dtype=np.int64)
    out = np.empty((len(u), words.shape[1]), np.float64)
    _field_dice(words, field_popcounts(words), u, v, out)
    return out


def field_levels(
    words: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    cuts: tuple[float, ...] = DEFAULT_CUTS,
    pop: np.ndarray | None = None,
) -> np.ndarray:
    """Agreement levels ``(pairs, features)``: -1 missing, 0 disagree, k if Dice >= cuts[k-1]."""
    u = np.ascontiguousarray(u, dtype=np.int64)
    v = np.ascontiguousarray(v, dtype=np.int64)
    out = np.empty((len(u), words.shape[1]), np.int8)
    _field_levels(
        words,
        field_popcounts(words) if pop is None else pop,
        u,
        v,
        np.asarray(check_cuts(cuts), dtype=np.float64),
        out,
    )
    return out


def field_dice_reference(words: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """:func:`field_dice` in plain numpy (for tests)."""
    a, b = words[u], words[v]
    inter = np.bitwise_count(a & b).sum(axis=2)
    pa = np.bitwise_count(a).sum(axis=2)
    pb = np.bitwise_count(b).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((pa > 0) & (pb > 0), 2.0 * inter / (pa + pb), np.nan)


def levels_from_dice(dice: np.ndarray, cuts: tuple[float, ...] = DEFAULT_CUTS) -> np.ndarray:
    """Agreement levels of Dice scores (NaN = missing), the plain form of :func:`field_levels`."""
    levels = np.zeros(dice.shape, np.int8)
    for k, cut in enumerate(check_cuts(cuts), start=1):
        levels[dice >= cut - 1e-9] = k
    levels[np.isnan(dice)] = MISSING
    return levels


def check_cuts(cuts: tuple[float, ...]) -> tuple[float, ...]:
    cuts = tuple(float(c) for c in cuts)
    if not cuts or any(not 0.0 < c <= 1.0 for c in cuts) or list(cuts) != sorted(set(cuts)):
        raise HtlinkError(
            f"The agreement cuts {list(cuts)} must be increasing Dice values in (0, 1].",
            "For example 0.7, 0.9, 1.0.",
        )
    return cuts


# --------------------------------------------------------------------------- EM


@dataclass
class FellegiSunter:
    """A fitted model: ``m[f, k]``, ``u[f, k]`` per feature and level, and ``lam``."""

    m: np.ndarray  # (features, levels)
    u: np.ndarray  # (features, levels)
    lam: float
    iterations: int
    converged: bool

    def weights(self) -> np.ndarray:
        """Match weights ``log(m / u)`` per feature and level (natural log)."""
        return np.log(self.m) - np.log(self.u)

    def log_odds(self, levels: np.ndarray) -> np.ndarray:
        """Posterior log odds of a match for comparison vectors ``(pairs, features)``."""
        return _log_odds(levels, self.weights(), self.lam)

    def probability(self, levels: np.ndarray) -> np.ndarray:
        """``P(match | levels)`` per comparison vector."""
        return _sigmoid(self.log_odds(levels))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))


def _log_odds(levels: np.ndarray, weights: np.ndarray, lam: float) -> np.ndarray:
    lam = min(max(lam, EPSILON), 1.0 - EPSILON)
    total = np.full(len(levels), np.log(lam) - np.log1p(-lam))
    for f in range(levels.shape[1]):
        present = levels[:, f] >= 0
        total[present] += weights[f, levels[present, f]]
    return total


def _normalise(table: np.ndarray) -> np.ndarray:
    table = np.maximum(table, 0.0)
    sums = table.sum(axis=1, keepdims=True)
    n_levels = table.shape[1]
    table = np.where(sums > 0, table / np.where(sums > 0, sums, 1.0), 1.0 / n_levels)
    table = np.maximum(table, EPSILON)
    return table / table.sum(axis=1, keepdims=True)


def level_frequencies(
    levels: np.ndarray, n_levels: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """Share of each level per feature among non-missing values (``(features, levels)``)."""
    w = np.ones(len(levels)) if weights is None else weights
    table = np.zeros((levels.shape[1], n_levels))
    for f in range(levels.shape[1]):
        present = levels[:, f] >= 0
        table[f] = np.bincount(levels[present, f], weights=w[present], minlength=n_levels)
    return _normalise(table)


def default_m(n_features: int, n_levels: int) -> np.ndarray:
    """A starting ``m`` that favours agreement: level k is twice as likely as level k - 1."""
    row = 2.0 ** np.arange(n_levels)
    return _normalise(np.tile(row, (n_features, 1)))


def compress(levels: np.ndarray, n_levels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct comparison vectors, their counts, and each pair's vector index."""
    if not len(levels):
        return levels.reshape(0, levels.shape[1]), np.zeros(0, np.int64), np.zeros(0, np.int64)
    base = n_levels + 1
    codes = np.zeros(len(levels), np.int64)
    for f in range(levels.shape[1]):
        codes = codes * base + (levels[:, f].astype(np.int64) + 1)
    distinct, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    patterns = np.empty((len(distinct), levels.shape[1]), np.int8)
    rest = distinct.copy()
    for f in range(levels.shape[1] - 1, -1, -1):
        patterns[:, f] = rest % base - 1
        rest //= base
    return patterns, counts.astype(np.int64), inverse.reshape(-1)


def fit_em(
    levels: np.ndarray,
    n_levels: int,
    counts: np.ndarray | None = None,
    m0: np.ndarray | None = None,
    u0: np.ndarray | None = None,
    lam0: float = 0.1,
    max_iterations: int = 200,
    tolerance: float = 1e-6,
    fix_u: bool = False,
) -> FellegiSunter:
    """Fellegi–Sunter ``m``, ``u`` and ``lambda`` by EM on comparison vectors, without labels.

    ``levels`` is ``(vectors, features)`` (-1 = missing), each vector weighing
    ``counts`` pairs (1 each by default; pass the output of :func:`compress`).
    With ``fix_u`` only ``m`` and ``lambda`` are estimated.  The class called
    "match" is the one that agrees more: if EM converged to the swapped
    labelling, the two are exchanged.
    """
    levels = np.asarray(levels, dtype=np.int8)
    n_features = levels.shape[1]
    w = np.ones(len(levels)) if counts is None else np.asarray(counts, dtype=np.float64)
    m = (
        _normalise(np.array(m0, dtype=np.float64))
        if m0 is not None
        else default_m(n_features, n_levels)
    )
    u = (
        _normalise(np.array(u0, dtype=np.float64))
        if u0 is not None
        else level_frequencies(levels, n_levels, w)
    )
    if m.shape != (n_features, n_levels) or u.shape != (n_features, n_levels):
        raise ValueError("m0 and u0 must have one row per feature and one column per level")
    if np.any(levels >= n_levels) or np.any(levels < MISSING):
        raise ValueError("a level is out of range")
    lam = float(lam0)
    if not 0.0 < lam < 1.0:
        raise ValueError("lam0 must be in (0, 1)")
    total = w.sum()
    if total == 0:
        return FellegiSunter(m, u, lam, 0, True)
    converged = False
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        p = _sigmoid(_log_odds(levels, np.log(m) - np.log(u), lam))
        pm, pu = w * p, w * (1.0 - p)
        new_lam = float(min(max(pm.sum() / total, EPSILON), 1.0 - EPSILON))
        new_m = _weighted_levels(levels, n_levels, pm)
        new_u = u if fix_u else _weighted_levels(levels, n_levels, pu)
        change = max(
            abs(new_lam - lam),
            float(np.abs(new_m - m).max()),
            float(np.abs(new_u - u).max()),
        )
        m, u, lam = new_m, new_u, new_lam
        if change < tolerance:
            converged = True
            break
    top = n_levels - 1
    if not fix_u and (m[:, top] - u[:, top]).sum() < 0:
        m, u, lam = u, m, 1.0 - lam
    return FellegiSunter(m, u, lam, iterations, converged)


def _weighted_levels(levels: np.ndarray, n_levels: int, weights: np.ndarray) -> np.ndarray:
    table = np.zeros((levels.shape[1], n_levels))
    for f in range(levels.shape[1]):
        present = levels[:, f] >= 0
        table[f] = np.bincount(levels[present, f], weights=weights[present], minlength=n_levels)
    return _normalise(table)


# --------------------------------------------------------------------------- linkage


def field_features(submissions: list[Submission]) -> list[str]:
    """The features every submission carries field-level encodings for (same in all)."""
    lacking = [s.manifest["agency"] for s in submissions if not s.fields]
    if lacking:
        raise MissingFieldEncodingsError(
            f"Probabilistic matching needs field-level encodings; the submission(s) of "
            f"{', '.join(lacking)} have only CLKs.",
            "Ask every agency to encode again with `htlink encode --field-level` (see "
            "docs/threat-model.md before you do), or match with --method dice.",
        )
    names = [list(s.fields or {}) for s in submissions]
    if any(sorted(n) != sorted(names[0]) for n in names):
        raise MissingFieldEncodingsError(
            "The submissions carry field-level encodings for different features.",
            "Every agency must encode with the same schema and --field-level.",
        )
    return list(names[0])


def random_pairs(
    source_of: np.ndarray, deduplicated: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """About ``size`` random pairs of distinct records that the linkage could compare."""
    n = len(source_of)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a = rng.integers(0, n, size=size)
    b = rng.integers(0, n, size=size)
    same_source = source_of[a] == source_of[b]
    keep = (a != b) & ~(same_source & deduplicated[source_of[a]])
    return a[keep], b[keep]


def link_probabilistic(
    submissions: list[Submission],
    project_key: bytes,
    threshold: float = DEFAULT_THRESHOLD,
    candidate_threshold: float = DEFAULT_CANDIDATE_THRESHOLD,
    deduplicated: set[str] | None = None,
    min_average: float | None = None,
    cuts: tuple[float, ...] = DEFAULT_CUTS,
    max_iterations: int = 200,
    u_sample: int = 200_000,
    fix_u: bool = False,
    seed: int = 0,
) -> LinkResult:
    """Link ``submissions`` by Fellegi–Sunter match probabilities (see the module docstring).

    ``threshold`` is the match probability a pair needs; ``candidate_threshold``
    the CLK Dice floor for candidates; ``min_average`` the mean CLK Dice two
    clusters need to merge (default: ``candidate_threshold``; 0 turns the guard
    off).  ``fix_u`` keeps ``u`` at its estimate from random pairs.  Returns the
    same :class:`~htlink.match.engine.LinkResult` as the Dice engine.
    """
    check_compatible(submissions)
    features = field_features(submissions)
    if not 0.0 < threshold < 1.0:
        raise HtlinkError(f"The match probability threshold must be in (0, 1); got {threshold}.")
    if not 0.0 < candidate_threshold <= 1.0:
        raise HtlinkError(f"The candidate threshold must be in (0, 1]; got {candidate_threshold}.")
    cuts = check_cuts(cuts)
    n_levels = len(cuts) + 1
    deduplicated = deduplicated or set()
    agencies = [s.manifest["agency"] for s in submissions]
    unknown = sorted(deduplicated - set(agencies))
    if unknown:
        raise HtlinkError(
            f"--deduplicated names agencies without a submission: {', '.join(unknown)}."
        )
    floor = candidate_threshold if min_average is None else float(min_average)

    words = [as_words(s.clks) for s in submissions]
    sizes = [len(w) for w in words]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    source_of = np.repeat(np.arange(len(submissions)), sizes)
    flags = np.array([a in deduplicated for a in agencies])

    us, vs, ss = [], [], []
    pair_counts: dict[str, dict[str, int]] = {}
    for a, b in combinations(range(len(submissions)), 2):
        i, j, s, compared = dice_pairs(words[a], words[b], candidate_threshold)
        us.append(i + offsets[a])
        vs.append(j + offsets[b])
        ss.append(s)
        pair_counts[f"{agencies[a]}~{agencies[b]}"] = {"compared": compared, "candidates": len(s)}
    for a, agency in enumerate(agencies):
        if agency in deduplicated:
            continue
        i, j, s, compared = dice_pairs_within(words[a], candidate_threshold)
        us.append(i + offsets[a])
        vs.append(j + offsets[a])
        ss.append(s)
        pair_counts[f"{agency}~{agency}"] = {"compared": compared, "candidates": len(s)}
    u = np.concatenate(us).astype(np.int64)
    v = np.concatenate(vs).astype(np.int64)
    dice = np.concatenate(ss).astype(np.float64)

    fwords = field_words(submissions, features)
    fpop = field_popcounts(fwords)
    levels = field_levels(fwords, u, v, cuts, fpop)
    rng = np.random.default_rng(seed)
    ru, rv = random_pairs(source_of, flags, u_sample, rng)
    random_levels = field_levels(fwords, ru, rv, cuts, fpop)
    u0 = level_frequencies(random_levels, n_levels)
    patterns, pattern_counts, inverse = compress(levels, n_levels)
    model = fit_em(
        patterns, n_levels, pattern_counts, u0=u0, max_iterations=max_iterations, fix_u=fix_u
    )
    log_odds = model.log_odds(patterns)[inverse] if len(patterns) else np.zeros(0)
    probability = _sigmoid(log_odds)

    keep = probability >= threshold
    # strongest first: match weight, ties (same comparison vector) by CLK Dice
    order_score = log_odds[keep] + 1e-6 * dice[keep]
    roots, best, accepted_kept = cluster_records(
        source_of,
        flags,
        u[keep],
        v[keep],
        order_score,
        words=np.concatenate(words),
        min_average=floor,
    )
    confidence = np.where(np.isnan(best), np.nan, _sigmoid(np.nan_to_num(best)))
    accepted = np.zeros(len(u), bool)
    accepted[np.flatnonzero(keep)[accepted_kept]] = True
    tokens = [t for s in submissions for t in s.row_tokens]
    pseudonyms = cluster_pseudonyms(roots, source_of, tokens, agencies, project_key)

    links = {}
    for a, agency in enumerate(agencies):
        rows = slice(offsets[a], offsets[a + 1])
        links[agency] = pd.DataFrame(
            {
                "row_token": submissions[a].row_tokens,
                "pseudonym": pseudonyms[rows],
                "confidence": np.round(confidence[rows], 4),
            }
        )
    for key, (a, b) in _pair_keys(agencies, deduplicated).items():
        on_pair = (source_of[u] == a) & (source_of[v] == b)
        pair_counts[key]["probable"] = int((keep & on_pair).sum())
        pair_counts[key]["accepted_links"] = int((accepted & on_pair).sum())
    _, cluster_sizes = np.unique(roots, return_counts=True)
    size_hist = np.bincount(cluster_sizes)
    hist, edges = np.histogram(probability, bins=HISTOGRAM_BINS, range=(0.0, 1.0))
    summary: dict[str, Any] = {
        "method": "probabilistic",
        "threshold": threshold,
        "candidate_threshold": candidate_threshold,
        "min_average": floor,
        "agencies": {agency: sizes[a] for a, agency in enumerate(agencies)},
        "deduplicated": sorted(deduplicated),
        "pairs": pair_counts,
        "people": len(cluster_sizes),
        "cluster_sizes": {str(k): int(c) for k, c in enumerate(size_hist) if c},
        "model": model_summary(model, features, cuts, len(u), len(ru), fix_u),
        "probability_histogram": {
            "edges": [round(float(e), 4) for e in edges],
            "counts": hist.tolist(),
        },
    }
    return LinkResult(threshold=threshold, links=links, summary=summary)


def level_names(cuts: tuple[float, ...]) -> list[str]:
    """Readable names of the agreement levels, lowest first (missing is not a level)."""
    names = [f"dice<{cuts[0]:g}"]
    names += [f"dice>={c:g}" if c < 1.0 else "identical" for c in cuts]
    return names


def model_summary(
    model: FellegiSunter,
    features: list[str],
    cuts: tuple[float, ...],
    candidates: int,
    random_sample: int,
    fix_u: bool,
) -> dict[str, Any]:
    """The fitted model as aggregates only: m and u per feature and level, lambda, iterations."""
    names = level_names(cuts)
    return {
        "type": "fellegi-sunter",
        "levels": names,
        "lambda": round(model.lam, 6),
        "em_iterations": model.iterations,
        "em_converged": model.converged,
        "u_estimated": not fix_u,
        "candidate_pairs": candidates,
        "random_pairs_for_u": random_sample,
        "fields": {
            f: {
                "m": {n: round(float(model.m[k, j]), 6) for j, n in enumerate(names)},
                "u": {n: round(float(model.u[k, j]), 6) for j, n in enumerate(names)},
                "weight": {
                    n: round(float(np.log2(model.m[k, j] / model.u[k, j])), 3)
                    for j, n in enumerate(names)
                },
            }
            for k, f in enumerate(features)
        },
    }


def _pair_keys(agencies: list[str], deduplicated: set[str]) -> dict[str, tuple[int, int]]:
    keys = {
        f"{agencies[a]}~{agencies[b]}": (a, b) for a, b in combinations(range(len(agencies)), 2)
    }
    keys.update({f"{x}~{x}": (a, a) for a, x in enumerate(agencies) if x not in deduplicated})
    return keys
