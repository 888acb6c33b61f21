"""Dice similarity of CLKs: the hot loop, and the plain reference it is tested against.

The Dice coefficient of two bit sets is ``2 |a AND b| / (|a| + |b|)`` (0 when
both are empty).  Because ``|a AND b| <= min(|a|, |b|)``, a pair can only reach
threshold ``t`` if the smaller popcount is at least ``t / (2 - t)`` times the
larger; sorting one side by popcount turns that into a contiguous range, so
impossible pairs are never compared.

The kernel is compiled with numba, using the CPU's popcount instruction through
LLVM's ``ctpop`` intrinsic.  :func:`dice_reference` is the same computation in
plain numpy, for tests.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _popcount64(typingctx, value):  # type: ignore[no-untyped-def]
    signature = types.uint64(types.uint64)

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        (arg,) = args
        fn = builder.module.declare_intrinsic("llvm.ctpop", [arg.type])
        return builder.call(fn, [arg])

    return signature, codegen


def as_words(clks: np.ndarray) -> np.ndarray:
    """CLKs as an ``(n, words)`` uint64 array (zero-padded to a multiple of 8 bytes)."""
    clks = np.ascontiguousarray(clks, dtype=np.uint8)
    if clks.shape[1] % 8:
        clks = np.pad(clks, ((0, 0), (0, 8 - clks.shape[1] % 8)))
    return np.ascontiguousarray(clks).view(np.uint64)


@njit(nogil=True, cache=True)
def popcounts(words: np.ndarray) -> np.ndarray:
    """Bits set in each row of an ``(n, words)`` uint64 array."""
    n, width = words.shape
    out = np.empty(n, np.int64)
    for i in range(n):
        total = 0
        for k in range(width):
            total += _popcount64(words[i, k])
        out[i] = total
    return out


@njit(nogil=True, cache=True)
def _dice_range(
    a_words: np.ndarray,
    a_pop: np.ndarray,
    b_words: np.ndarray,
    b_pop: np.ndarray,
    threshold: float,
    skip_lower: bool,
    start: int,
    out_i: np.ndarray,
    out_j: np.ndarray,
    out_s: np.ndarray,
) -> tuple[int, int, int]:
    """Pairs with Dice >= threshold for rows ``start..`` of ``a``; ``b`` sorted by popcount.

    Fills the preallocated ``out_*`` buffers and stops before a row whose range
    could overflow them.  Returns (pairs written, next row to do, pairs compared).
    With ``skip_lower`` (a set compared with itself) only pairs j > i are kept.
    """
    n, width = a_words.shape
    capacity = out_i.shape[0]
    count = 0
    compared = 0
    for i in range(start, n):
        pa = a_pop[i]
        if threshold > 0.0:
            low = pa * threshold / (2.0 - threshold)
            high = pa * (2.0 - threshold) / threshold
            j0 = np.searchsorted(b_pop, low - 1e-9)
            j1 = np.searchsorted(b_pop, high + 1e-9, side="right")
        else:
            j0, j1 = 0, b_pop.shape[0]
        if skip_lower and j0 <= i:
            j0 = i + 1
        if count + (j1 - j0) > capacity and count > 0:
            return count, i, compared
        for j in range(j0, j1):
            inter = 0
            for k in range(width):
                inter += _popcount64(a_words[i, k] & b_words[j, k])
            compared += 1
            total = pa + b_pop[j]
            if total > 0:
                score = 2.0 * inter / total
                if score >= threshold:
                    out_i[count] = i
                    out_j[count] = j
                    out_s[count] = score
                    count += 1
            elif threshold <= 0.0:
                out_i[count] = i
                out_j[count] = j
                out_s[count] = 0.0
                count += 1
    return count, n, compared


def _all_pairs(
    a_words: np.ndarray,
    a_pop: np.ndarray,
    b_words: np.ndarray,
    b_pop: np.ndarray,
    threshold: float,
    skip_lower: bool,
    capacity: int = 1 << 20,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Run the kernel to the end, in as many buffer-fulls as it takes.

    A buffer holds at least one row's whole range (``len(b_words)`` pairs), so
    the kernel can always make progress.
    """
    capacity = max(capacity, len(b_words), 1)
    parts_i, parts_j, parts_s = [], [], []
    compared_total = 0
    start = 0
    while True:
        out_i = np.empty(capacity, np.int64)
        out_j = np.empty(capacity, np.int64)
        out_s = np.empty(capacity, np.float64)
        count, start, compared = _dice_range(
            a_words, a_pop, b_words, b_pop, threshold, skip_lower, start, out_i, out_j, out_s
        )
        compared_total += compared
        parts_i.append(out_i[:count])
        parts_j.append(out_j[:count])
        parts_s.append(out_s[:count])
        if start >= len(a_words):
            break
    if len(parts_i) == 1 and 2 * len(parts_i[0]) >= capacity:  # a well-filled buffer as is
        return parts_i[0], parts_j[0], parts_s[0], compared_total
    return (  # one copy of each part (a view would keep its whole buffer alive)
        np.concatenate(parts_i),
        np.concatenate(parts_j),
        np.concatenate(parts_s),
        compared_total,
    )


def dice_pairs(
    a_words: np.ndarray, b_words: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Pairs (i in a, j in b) with Dice >= threshold, their scores, and how many were compared.

    Indices refer to the rows as given; ``b`` is sorted by popcount internally.
    """
    a_pop = popcounts(a_words)
    b_pop = popcounts(b_words)
    order = np.argsort(b_pop, kind="stable")
    i, j, s, compared = _all_pairs(
        a_words, a_pop, np.ascontiguousarray(b_words[order]), b_pop[order], float(threshold), False
    )
    return i, order[j], s, compared


def dice_pairs_within(
    words: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Pairs i < j within one set with Dice >= threshold (for de-duplication)."""
    pop = popcounts(words)
    order = np.argsort(pop, kind="stable")
    sorted_words = np.ascontiguousarray(words[order])
    i, j, s, compared = _all_pairs(
        sorted_words, pop[order], sorted_words, pop[order], float(threshold), True
    )
    a, b = order[i], order[j]
    return np.minimum(a, b), np.maximum(a, b), s, compared


@njit(nogil=True, cache=True)
def _bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin, as numpy computes them: a guess from the value, corrected by the edges."""
    bins = edges.shape[0] - 1
    counts = np.zeros(bins, np.int64)
    low, high = edges[0], edges[bins]
    scale = bins / (high - low)
    for k in range(values.shape[0]):
        x = values[k]
        if not (low <= x <= high):
            continue
        b = min(np.int64((x - low) * scale), bins - 1)
        if x < edges[b]:
            b -= 1
        elif b < bins - 1 and x >= edges[b + 1]:
            b += 1
        counts[b] += 1
    return counts


def score_histogram(
    scores: np.ndarray, bins: int, low: float, high: float
) -> tuple[np.ndarray, np.ndarray]:
    """``np.histogram(scores, bins, range=(low, high))``, in one compiled pass.

    Same edges and counts (bins closed on the left, the last on both sides, values
    outside the range left out); numpy's version took two seconds on 24.5 million
    scores.
    """
    edges = np.linspace(low, high, bins + 1)
    return _bin_counts(np.ascontiguousarray(scores, dtype=np.float64), edges), edges


def dice_reference(a_words: np.ndarray, b_words: np.ndarray) -> np.ndarray:
    """The full ``(n, m)`` Dice matrix in plain numpy (slow; for tests)."""
    inter = np.bitwise_count(a_words[:, None, :] & b_words[None, :, :]).sum(axis=2)
    pa = np.bitwise_count(a_words).sum(axis=1)[:, None]
    pb = np.bitwise_count(b_words).sum(axis=1)[None, :]
    total = pa + pb
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 2.0 * inter / np.maximum(total, 1), 0.0)
