"""Blocking: candidate pairs whose number follows the plausible pairs, not N x M.

Two ways to decide which pairs of records are worth a Dice comparison:

* **LSH on the CLK bits** (:func:`lsh_pairs`, :func:`lsh_pairs_within`): needs nothing
  but the encodings, so the hub can run it on any submission.
* **Block keys computed by the agencies** (:func:`pairs_from_block_keys`): records that
  share a key are candidates; exact and simple, but only as good as the keys.

LSH design
==========

*Bit-sampling LSH for the Hamming distance*, with the standard AND-OR construction:
``bands`` bands, each a fixed random choice of ``rows_per_band`` (``r``) bit positions.
A record's band key is its ``r`` bits at those positions, hashed to 64 bits (the
record's words ANDed with the band's mask and run through a multiply-xor chain: one AND
and one multiply per 64-bit word, whatever ``r`` is).  Two records are candidates when
their keys agree in at least one band, and every candidate is verified with the exact
Dice kernel, so the results are exact -- the same scores as
:func:`~htlink.match.similarities.dice_pairs` -- and blocking can only lose recall,
never precision.  A pair that agrees on a share ``p`` of the sampled bits becomes a
candidate with probability ``1 - (1 - p**r)**b`` (the S-curve).

Why bit sampling and not MinHash: a CLK is a dense Bloom filter (about 420 of 1024 bits
set with the person schema), so Dice 0.8 is a Hamming distance of about 170 bits, 16 %
of the filter, and that is the regime bit sampling is made for.  A band key costs a few
nanoseconds, against one hash evaluation per set bit (hundreds) for every MinHash value.

**Which bits.**  Bits are not alike.  For a pair *at* the threshold ``t`` every set bit
of either record is unshared with probability about ``1 - t``, so bit ``k`` (set in a
share ``f_k`` of the records) differs with probability about ``2 (1 - t) f_k``, while
for two random records it agrees with probability ``f_k**2 + (1 - f_k)**2``.  The ratio
of the log-probabilities (random pair against a pair at the threshold) is largest for
rarely set bits (``1 / (1 - t)`` as ``f -> 0``; only about 3 at ``f = 0.5``), so the
bits are sampled from a *pool* of the less frequently set bits: the planner tries pools
cut at several bit frequencies, measured on a sample of the data, and keeps the
cheapest.  Nearly constant bits (set in under 0.5 % or over 99.5 % of records) never
enter a pool: they only make buckets big.

**Choosing r and b automatically** (:func:`plan_lsh`; either can be given instead):

1. *Recall*: an exhaustive Dice run of a random sample of rows against the whole other
   side finds real pairs at or above the threshold -- exactly the pairs that pair
   completeness is measured on.  For each such pair and pool, the number of pool bits
   on which the two records differ gives its exact probability of colliding in one band
   of ``r`` bits sampled without replacement, and so the expected pair completeness for
   any ``(r, b)``: the mean over the sample pairs of ``1 - (1 - P_pair(r))**b``.  The
   planner asks for ``b`` such that this reaches ``1 - (1 - target_recall) / 2`` (half
   the allowed loss is kept as a margin for estimation error and oversized buckets).
   With fewer than 50 sample pairs it uses the model above instead: a pair at exactly
   the threshold, differing on ``2 (1 - t) f_k`` of each pool bit.
2. *Cost*: the number of candidates per band is measured, not modelled (bits are far
   from independent: families of records share names, dates and postcodes): band keys
   of up to 100,000 sampled rows per side are counted, and colliding pairs scaled to
   ``N x M``.  The estimated time is ``b`` index builds and probes plus the candidates'
   verifications; the planner picks the pool and ``r`` with the lowest estimate that
   reaches the recall target, or plain exhaustive Dice when that is estimated to be
   cheaper (small inputs, low thresholds), in which case the result is exact.

**Implementation.**  Bands are processed in groups sized to a memory budget (1 GiB of
indexes).  For each band of a group, the indexed side (``b``, or the set itself) is
counting-sorted by a multiplicative hash of its band key into a table of
``2**ceil(log2 M)`` buckets, each entry holding the row number and the low 32 bits of
its key (12 bytes per row and band in all).  Then each row of ``a`` computes its keys
for every band of the group, looks up all its buckets first (independent memory loads,
which the CPU overlaps), gathers the rows whose key matches, sorts them so that a row
colliding in several bands is compared once, and verifies them with the popcount
kernel, keeping pairs at or above the threshold.  Rows of ``a`` are split into chunks
run on threads (the numba kernels release the GIL).  A pair found in several groups is
kept once: each group's pairs are sorted by ``(i, j)`` and merged into the running
result.  Memory is the two inputs, the group's indexes and the pairs found.

**Oversized buckets.**  Some bit patterns are common (records with several fields
missing have few bits set and share all-zero keys), and a bucket holding a large share
of the indexed side would make the cost quadratic again.  A probe into a bucket with
more than ``max_bucket`` rows is skipped for that band; the pair can still collide in
any other band, which for all but the emptiest records it does.  Skipped buckets and
the comparisons they would have cost are counted in :class:`BlockingStats`, and an
:class:`OversizedBucketWarning` says how many (counts only, never data).

**Chunked and distributed runs.**  The parameters chosen for one run are a
:class:`LshPlan`.  Pass the same plan (``plan=``) to every chunk so that all chunks use
the same bit positions: chunks of rows of ``a`` against all of ``b`` give exactly the
rows' pairs of the whole run, and so do disjoint selections of bands
(:meth:`LshPlan.select`) merged with :func:`union_pairs` -- the better split for a
cluster, since each task then builds only its own bands' indexes.

**Measured** (``benchmarks/bench_blocking.py``, docs/performance.md): 1,000,000 x
1,000,000 person-schema CLKs at threshold 0.8 on 2 cores in 62-128 s (planning 6-9 s)
with a peak of 2.6 GiB; 199 bands of 28 bits; 607 million comparisons (reduction ratio
0.99939); pair completeness 0.9953 against exhaustive Dice on a 2,000-row sample.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from htlink.match.similarities import (
    _all_pairs,
    _popcount64,
    dice_pairs,
    dice_pairs_within,
    popcounts,
)

__all__ = [
    "DEFAULT_MAX_BUCKET",
    "BlockingStats",
    "LshPlan",
    "OversizedBucketWarning",
    "lsh_pairs",
    "lsh_pairs_within",
    "pairs_from_block_keys",
    "pairs_from_block_keys_within",
    "plan_lsh",
    "union_pairs",
    "verify_pairs",
]

#: A probe into a bucket holding more rows than this is skipped (and counted).
DEFAULT_MAX_BUCKET = 5_000
#: Memory allowed for one group of band indexes (12 bytes per indexed row and band).
INDEX_BUDGET_BYTES = 1 << 30
#: Bit-frequency cut-offs of the candidate bit pools the planner tries.
POOL_CUTOFFS: tuple[float, ...] = (0.3, 0.4, 0.5, 0.7, 1.0)
#: Bits set in fewer or more records than these shares never enter a pool.
MIN_BIT_FREQUENCY = 0.005
MAX_BIT_FREQUENCY = 0.995
#: Band widths the planner tries.
ROWS_PER_BAND_GRID: tuple[int, ...] = (8, 12, 16, 20, 24, 28, 32, 36, 40, 48, 56, 64, 80, 96)
#: The planner never chooses more bands than this.
MAX_AUTO_BANDS = 1024
#: Rows per side used to measure bit frequencies and band collision rates.
SAMPLE_ROWS = 100_000
#: Comparisons allowed for the exhaustive sample that finds pairs for the recall estimate.
RECALL_SAMPLE_COMPARISONS = 250_000_000
#: Sample pairs needed before the recall estimate uses them instead of the model.
MIN_SAMPLE_PAIRS = 50
#: Cost model, seconds per unit on one core (measured with benchmarks/bench_blocking.py).
COST_INDEX_ROW = 80e-9  # per indexed row and band
COST_PROBE_ROW = 300e-9  # per probing row and band
COST_CANDIDATE = 150e-9  # per verified candidate pair
COST_EXHAUSTIVE_PAIR = 18e-9  # per pair in the exhaustive kernel
#: Below this estimated exhaustive time the planner does not plan (planning takes seconds).
SMALL_EXHAUSTIVE_SECONDS = 2.0

_MIX_BUCKET = np.uint64(0x9E3779B97F4A7C15)
_MIX_PRINT = np.uint64(0xC2B2AE3D27D4EB4F)
_LOW32 = np.uint64(0xFFFFFFFF)


class OversizedBucketWarning(UserWarning):
    """LSH skipped buckets larger than ``max_bucket`` (some candidate pairs not compared)."""


@dataclass(eq=False)
class LshPlan:
    """The bit positions of every band, and why they were chosen.

    ``positions`` is a ``(bands, rows_per_band)`` int64 array of bit positions (bit ``p``
    is bit ``p % 64`` of uint64 word ``p // 64``).  With ``method == "exhaustive"`` the
    planner judged plain Dice on all pairs cheaper, and ``positions`` is empty.
    """

    positions: np.ndarray
    threshold: float
    method: str = "lsh"
    target_recall: float = 0.99
    expected_recall: float = float("nan")
    recall_source: str = "given"
    sample_pairs: int = 0
    #: Dice comparisons the planner made to find its sample pairs (an exhaustive sample)
    sample_compared: int = 0
    pool_size: int = 0
    pool_max_frequency: float = float("nan")
    estimated_candidates: float = float("nan")
    estimated_seconds: float = float("nan")
    planning_seconds: float = 0.0
    #: every (pool, r) the planner costed: cutoff, r, bands, recall, candidates, seconds
    considered: list[dict[str, float]] = field(default_factory=list)

    @property
    def bands(self) -> int:
        """Number of bands."""
        return int(self.positions.shape[0])

    @property
    def rows_per_band(self) -> int:
        """Bits per band key."""
        return int(self.positions.shape[1]) if self.positions.ndim == 2 else 0

    def select(self, bands: slice) -> LshPlan:
        """The same plan restricted to some bands (e.g. one task's share on a cluster).

        Runs of disjoint band selections that together cover the plan find, between them,
        exactly the pairs of the whole plan: merge them with :func:`union_pairs`.
        """
        return LshPlan(**{**self.__dict__, "positions": self.positions[bands]})

    def describe(self) -> dict[str, Any]:
        """The plan as plain JSON-able values (no bit positions)."""
        return {
            "method": self.method,
            "threshold": self.threshold,
            "bands": self.bands,
            "rows_per_band": self.rows_per_band,
            "target_recall": self.target_recall,
            "expected_recall": _finite_or_none(self.expected_recall),
            "recall_source": self.recall_source,
            "sample_pairs": self.sample_pairs,
            "sample_compared": self.sample_compared,
            "pool_size": self.pool_size,
            "pool_max_frequency": _finite_or_none(self.pool_max_frequency),
            "estimated_candidates": _finite_or_none(self.estimated_candidates),
            "estimated_seconds": _finite_or_none(self.estimated_seconds),
            "planning_seconds": round(self.planning_seconds, 3),
        }


@dataclass
class BlockingStats:
    """What a blocked run compared and skipped (counts only)."""

    method: str
    bands: int
    rows_per_band: int
    candidate_pairs: int  #: Dice comparisons made (a pair found in two band groups counts twice)
    total_pairs: int  #: pairs an exhaustive run would consider: N x M, or n (n - 1) / 2
    pairs: int  #: pairs returned (score >= threshold)
    skipped_buckets: int = 0  #: (band, bucket)s larger than max_bucket
    skipped_probes: int = 0  #: probes of a row into such a bucket
    skipped_pairs: int = 0  #: comparisons those probes would have made
    max_bucket: int = DEFAULT_MAX_BUCKET
    band_groups: int = 0
    seconds: float = 0.0  #: wall time of the run, planning excluded
    index_seconds: float = 0.0  #: of which building band indexes
    probe_seconds: float = 0.0  #: probing and verifying
    merge_seconds: float = 0.0  #: de-duplicating pairs across band groups
    plan: dict[str, Any] = field(default_factory=dict)

    @property
    def reduction_ratio(self) -> float:
        """Share of all pairs never compared: ``1 - candidate_pairs / total_pairs``."""
        return 1.0 - self.candidate_pairs / self.total_pairs if self.total_pairs else 0.0

    def as_dict(self) -> dict[str, Any]:
        """All fields plus the reduction ratio, JSON-able."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["reduction_ratio"] = self.reduction_ratio
        return out


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# --------------------------------------------------------------------------- kernels


@njit(nogil=True, cache=True, inline="always")
def _row_key(words: np.ndarray, i: int, mask: np.ndarray) -> np.uint64:
    """The band key of row ``i``: a 64-bit hash of its bits under the band's ``mask``.

    Hashing the masked words costs one AND and one multiply per word, whatever the number
    of bits in the band.  Two different bit patterns get the same key with probability
    about 2**-64, which only adds a candidate (every candidate is verified).
    """
    h = np.uint64(0x243F6A8885A308D3)
    for w in range(mask.shape[0]):
        h = (h ^ (words[i, w] & mask[w])) * _MIX_BUCKET
    h ^= h >> np.uint64(29)
    h *= _MIX_PRINT
    h ^= h >> np.uint64(32)
    return h


@njit(nogil=True, cache=True)
def _keys_of_rows(words: np.ndarray, rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Band keys of the given rows."""
    out = np.empty(rows.shape[0], np.uint64)
    for k in range(rows.shape[0]):
        out[k] = _row_key(words, rows[k], mask)
    return out


@njit(nogil=True, cache=True)
def _bit_counts(words: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """How many of the given rows have each bit set."""
    width = words.shape[1]
    counts = np.zeros(width * 64, np.int64)
    for k in range(rows.shape[0]):
        i = rows[k]
        for w in range(width):
            v = words[i, w]
            while v:
                low = v & (~v + np.uint64(1))
                counts[w * 64 + _popcount64(low - np.uint64(1))] += 1
                v ^= low
    return counts


@njit(nogil=True, cache=True)
def _count_collisions(a_sorted: np.ndarray, b_sorted: np.ndarray) -> float:
    """Pairs (x in a, y in b) with equal keys; both arrays sorted."""
    i = 0
    j = 0
    total = 0.0
    na = a_sorted.shape[0]
    nb = b_sorted.shape[0]
    while i < na and j < nb:
        if a_sorted[i] < b_sorted[j]:
            i += 1
        elif a_sorted[i] > b_sorted[j]:
            j += 1
        else:
            key = a_sorted[i]
            ca = 0
            while i < na and a_sorted[i] == key:
                ca += 1
                i += 1
            cb = 0
            while j < nb and b_sorted[j] == key:
                cb += 1
                j += 1
            total += float(ca) * float(cb)
    return total


@njit(nogil=True, cache=True)
def _count_collisions_within(keys_sorted: np.ndarray) -> float:
    """Unordered pairs with equal keys in one sorted array."""
    total = 0.0
    n = keys_sorted.shape[0]
    i = 0
    while i < n:
        j = i
        while j < n and keys_sorted[j] == keys_sorted[i]:
            j += 1
        c = float(j - i)
        total += c * (c - 1.0) / 2.0
        i = j
    return total


@njit(nogil=True, cache=True)
def _build_index(
    words: np.ndarray,
    mask: np.ndarray,
    table_bits: int,
    offsets: np.ndarray,
    entries: np.ndarray,
    max_bucket: int,
) -> int:
    """Counting-sort the rows of ``words`` by bucket; returns the number of oversized buckets.

    The bucket is the top ``table_bits`` bits of the band key.  ``offsets``
    (``2**table_bits + 1``) receives each bucket's start; ``entries`` (one per row) holds
    ``row << 32 | low 32 bits of the key``, rows in increasing order within a bucket.
    """
    n = words.shape[0]
    shift = np.uint64(64 - table_bits)
    buckets = offsets.shape[0] - 1
    for h in range(buckets + 1):
        offsets[h] = 0
    keys = np.empty(n, np.uint64)
    for j in range(n):
        key = _row_key(words, j, mask)
        keys[j] = key
        offsets[np.int64(key >> shift) + 1] += 1
    oversized = 0
    for h in range(buckets):
        if offsets[h + 1] > max_bucket:
            oversized += 1
        offsets[h + 1] += offsets[h]
    fill = offsets[:buckets].copy()
    for j in range(n):
        key = keys[j]
        h = np.int64(key >> shift)
        entries[fill[h]] = (np.uint64(j) << np.uint64(32)) | (key & _LOW32)
        fill[h] += 1
    return oversized


@njit(nogil=True, cache=True, inline="always")
def _sort_small(values: np.ndarray, count: int) -> None:
    """Sort ``values[:count]`` in place (insertion sort for the usual handful)."""
    if count > 32:
        values[:count] = np.sort(values[:count])
        return
    for x in range(1, count):
        v = values[x]
        y = x - 1
        while y >= 0 and values[y] > v:
            values[y + 1] = values[y]
            y -= 1
        values[y + 1] = v


@njit(nogil=True, cache=True)
def _probe(
    a_words: np.ndarray,
    a_pop: np.ndarray,
    b_words: np.ndarray,
    b_pop: np.ndarray,
    masks: np.ndarray,
    offsets: np.ndarray,
    entries: np.ndarray,
    table_bits: int,
    threshold: float,
    max_bucket: int,
    within: bool,
    start: int,
    stop: int,
    out_i: np.ndarray,
    out_j: np.ndarray,
    out_s: np.ndarray,
) -> tuple[int, int, int, int, int]:
    """Verify the band collisions of rows ``start..stop`` of ``a`` with the indexed side.

    Each row looks up its bucket in every band of the group first (independent loads, so
    the CPU can overlap the cache misses), gathers the rows whose key matches, sorts them
    so that a row colliding in several bands is compared once, and verifies them.  Stops
    before a row whose worst case could overflow the ``out_*`` buffers.  Returns (pairs
    written, next row, comparisons, skipped probes, skipped comparisons).  With ``within``
    only pairs ``j > i`` are considered.
    """
    groups = masks.shape[0]
    width = a_words.shape[1]
    shift = np.uint64(64 - table_bits)
    capacity = out_i.shape[0]
    worst = min(groups * max_bucket, b_words.shape[0])
    bucket = np.empty(groups, np.int64)
    lo = np.empty(groups, np.int64)
    hi = np.empty(groups, np.int64)
    prints = np.empty(groups, np.uint64)
    found = np.empty(groups * min(max_bucket, b_words.shape[0]), np.int64)
    count = 0
    compared = 0
    skipped_probes = 0
    skipped_pairs = 0
    for i in range(start, stop):
        if count + worst > capacity:
            return count, i, compared, skipped_probes, skipped_pairs
        for g in range(groups):
            key = _row_key(a_words, i, masks[g])
            h = np.int64(key >> shift)
            bucket[g] = h
            prints[g] = key & _LOW32
        for g in range(groups):
            h = bucket[g]
            lo[g] = offsets[g, h]
            hi[g] = offsets[g, h + 1]
        nfound = 0
        for g in range(groups):
            size = hi[g] - lo[g]
            if size > max_bucket:
                skipped_probes += 1
                skipped_pairs += size
                continue
            fp = prints[g]
            for e in range(lo[g], hi[g]):
                entry = entries[g, e]
                if (entry & _LOW32) == fp:
                    j = np.int64(entry >> np.uint64(32))
                    found[nfound] = j
                    nfound += 1
        _sort_small(found, nfound)
        pa = a_pop[i]
        previous = -1
        for x in range(nfound):
            j = found[x]
            if j == previous or (within and j <= i):
                continue
            previous = j
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
    return count, stop, compared, skipped_probes, skipped_pairs


@njit(nogil=True, cache=True)
def _merge_unique(
    codes_a: np.ndarray, scores_a: np.ndarray, codes_b: np.ndarray, scores_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Union of two sorted code arrays (``a`` without duplicates; ``b`` may repeat)."""
    out_c = np.empty(codes_a.shape[0] + codes_b.shape[0], np.int64)
    out_s = np.empty(out_c.shape[0], np.float64)
    i = 0
    j = 0
    n = 0
    na = codes_a.shape[0]
    nb = codes_b.shape[0]
    while i < na or j < nb:
        if j >= nb or (i < na and codes_a[i] <= codes_b[j]):
            c = codes_a[i]
            s = scores_a[i]
            i += 1
        else:
            c = codes_b[j]
            s = scores_b[j]
            j += 1
        if n == 0 or out_c[n - 1] != c:
            out_c[n] = c
            out_s[n] = s
            n += 1
    return out_c[:n], out_s[:n]


# --------------------------------------------------------------------------- planning


def _masks(positions: np.ndarray, width: int) -> np.ndarray:
    """Per band, a ``width``-word uint64 mask with the band's bit positions set."""
    masks = np.zeros((positions.shape[0], width), np.uint64)
    for band, row in enumerate(positions):
        np.bitwise_or.at(
            masks[band], row // 64, np.left_shift(np.uint64(1), (row % 64).astype(np.uint64))
        )
    return masks


def _check_words(words: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(words, np.ndarray) or words.ndim != 2 or words.dtype != np.uint64:
        raise TypeError(f"{name} must be an (n, words) uint64 array (see as_words).")
    if words.shape[0] >= 2**31:
        raise ValueError(f"{name} has too many rows for blocking (at most 2**31 - 1).")
    return np.ascontiguousarray(words)


def _check_threshold(threshold: float) -> float:
    threshold = float(threshold)
    if not 0.0 < threshold <= 1.0:
        raise ValueError(
            "LSH blocking needs a Dice threshold in (0, 1]; at 0 every pair qualifies "
            "(use dice_pairs)."
        )
    return threshold


def _sample_rows(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    if n <= size:
        return np.arange(n, dtype=np.int64)
    return np.sort(rng.choice(n, size, replace=False)).astype(np.int64)


def _bit_frequencies(
    a_words: np.ndarray, b_words: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
    sides = [a_words] if b_words is None else [a_words, b_words]
    freqs = []
    for words in sides:
        rows = _sample_rows(words.shape[0], SAMPLE_ROWS, rng)
        freqs.append(_bit_counts(words, rows) / max(len(rows), 1))
    return np.mean(freqs, axis=0)


def _pools(freq: np.ndarray, min_bits: int) -> list[tuple[float, np.ndarray]]:
    """Candidate pools: informative bits with frequency at most each cut-off."""
    informative = (freq >= MIN_BIT_FREQUENCY) & (freq <= MAX_BIT_FREQUENCY)
    pools: list[tuple[float, np.ndarray]] = []
    seen: set[int] = set()
    for cutoff in POOL_CUTOFFS:
        pool = np.flatnonzero(informative & (freq <= cutoff)).astype(np.int64)
        if len(pool) >= min_bits and len(pool) not in seen:
            seen.add(len(pool))
            pools.append((cutoff, pool))
    if not pools:  # very sparse or very dense encodings: the least frequent informative bits
        pool = np.flatnonzero(informative).astype(np.int64)
        if len(pool) == 0:
            pool = np.arange(len(freq), dtype=np.int64)
        pools.append((float("nan"), pool))
    return pools


def _sample_pair_bits(
    a_words: np.ndarray,
    b_words: np.ndarray | None,
    threshold: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, int]:
    """Exhaustive Dice of sampled rows of ``a`` against the other side.

    Returns an (n_pairs, bits) bool array -- the bits on which each pair found
    differs -- and the number of comparisons made.
    """
    other = a_words if b_words is None else b_words
    n = a_words.shape[0]
    m = other.shape[0]
    rows = int(min(n, max(64, RECALL_SAMPLE_COMPARISONS // max(m, 1))))
    sample = _sample_rows(n, rows, rng)
    i, j, _, compared = dice_pairs(a_words[sample], other, threshold)
    if b_words is None:  # within one set: drop self-pairs
        keep = sample[i] != j
        i, j = i[keep], j[keep]
    xor = a_words[sample[i]] ^ other[j]
    bits = np.unpackbits(xor.view(np.uint8), axis=1, bitorder="little").astype(bool)
    return bits, int(compared)


def _collision_prob(pool_size: int, differing: np.ndarray, r: int) -> np.ndarray:
    """P(all r bits of a band sampled without replacement from the pool agree), per pair."""
    agree = pool_size - differing.astype(np.float64)
    logp = np.zeros(len(differing))
    for k in range(r):
        with np.errstate(divide="ignore", invalid="ignore"):
            logp += np.log(np.maximum(agree - k, 0.0) / (pool_size - k))
    return np.exp(logp)


def _bands_for(probs: np.ndarray, target: float, limit: int) -> tuple[int, float]:
    """Fewest bands whose mean collision probability over the pairs reaches ``target``."""

    def recall(b: int) -> float:
        return float(np.mean(1.0 - (1.0 - probs) ** b))

    if recall(limit) < target:
        return limit, recall(limit)
    lo, hi = 1, limit
    while lo < hi:
        mid = (lo + hi) // 2
        if recall(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo, recall(lo)


def _collision_rate(
    a_words: np.ndarray,
    b_words: np.ndarray | None,
    a_rows: np.ndarray,
    b_rows: np.ndarray,
    mask: np.ndarray,
) -> float:
    """Share of pairs of sampled rows whose band keys agree."""
    ka = np.sort(_keys_of_rows(a_words, a_rows, mask))
    if b_words is None:
        n = len(a_rows)
        return _count_collisions_within(ka) / max(n * (n - 1) / 2, 1.0)
    kb = np.sort(_keys_of_rows(b_words, b_rows, mask))
    return _count_collisions(ka, kb) / max(len(a_rows) * len(b_rows), 1)


def plan_lsh(
    a_words: np.ndarray,
    b_words: np.ndarray | None,
    threshold: float,
    *,
    bands: int | None = None,
    rows_per_band: int | None = None,
    target_recall: float = 0.99,
    seed: int = 0,
    workers: int | None = None,
    allow_exhaustive: bool = True,
) -> LshPlan:
    """Choose the bit pool, ``rows_per_band`` and ``bands`` (see the module docstring).

    ``b_words=None`` plans de-duplication within ``a_words``.  Given values of ``bands``
    and ``rows_per_band`` are kept; the others are chosen for ``target_recall`` at the
    lowest estimated cost.  When both are given, the pool is the one with the highest
    expected recall.  ``allow_exhaustive=False`` keeps the planner from choosing plain
    Dice on all pairs.  Deterministic for a given ``seed`` and data.
    """
    started = time.perf_counter()
    threshold = _check_threshold(threshold)
    a_words = _check_words(a_words, "a_words")
    if b_words is not None:
        b_words = _check_words(b_words, "b_words")
        if b_words.shape[1] != a_words.shape[1]:
            raise ValueError("a_words and b_words have different widths (bit lengths).")
    if not 0.0 < target_recall < 1.0:
        raise ValueError("target_recall must be between 0 and 1.")
    if rows_per_band is not None and not 1 <= rows_per_band <= a_words.shape[1] * 64:
        raise ValueError("rows_per_band must be between 1 and the bit length.")
    if bands is not None and bands < 1:
        raise ValueError("bands must be at least 1.")
    workers = _workers(workers)
    rng = np.random.default_rng(seed)
    n = a_words.shape[0]
    m = n if b_words is None else b_words.shape[0]
    total_pairs = n * (n - 1) / 2 if b_words is None else float(n) * m
    design = 1.0 - (1.0 - target_recall) / 2.0
    auto = bands is None and rows_per_band is None
    exhaustive_seconds = _exhaustive_seconds(total_pairs, within=b_words is None, workers=workers)
    if allow_exhaustive and auto and exhaustive_seconds <= SMALL_EXHAUSTIVE_SECONDS:
        return LshPlan(
            positions=np.zeros((0, 0), np.int64),
            threshold=threshold,
            method="exhaustive",
            target_recall=target_recall,
            expected_recall=1.0,
            recall_source="exhaustive",
            estimated_candidates=total_pairs,
            estimated_seconds=exhaustive_seconds,
            planning_seconds=time.perf_counter() - started,
        )

    freq = _bit_frequencies(a_words, b_words, rng)
    pools = _pools(freq, min_bits=rows_per_band or 16)
    differing_bits, sample_compared = _sample_pair_bits(a_words, b_words, threshold, rng)
    use_sample = len(differing_bits) >= MIN_SAMPLE_PAIRS
    a_rows = _sample_rows(n, SAMPLE_ROWS, rng)
    b_rows = a_rows if b_words is None else _sample_rows(m, SAMPLE_ROWS, rng)

    best: dict[str, Any] | None = None
    considered: list[dict[str, float]] = []
    for index, (cutoff, pool) in enumerate(pools):
        if use_sample:
            differing = differing_bits[:, pool].sum(axis=1)
        else:  # a pair at exactly the threshold, each pool bit differing with 2 (1 - t) f
            differing = np.array([np.sum(np.minimum(2.0 * (1.0 - threshold) * freq[pool], 1))])
        if rows_per_band is not None:
            grid = [rows_per_band] if rows_per_band <= len(pool) else []
        else:  # a band takes at most half the pool, so that bands differ
            grid = [r for r in ROWS_PER_BAND_GRID if r <= len(pool) // 2] or [len(pool) // 2]
        for r in grid:
            probs = _collision_prob(len(pool), differing, r)
            if bands is None:
                b, recall = _bands_for(probs, design, MAX_AUTO_BANDS)
            else:
                b, recall = bands, float(np.mean(1.0 - (1.0 - probs) ** bands))
            if best is not None and best["recall"] >= design and recall < design:
                continue  # cannot win: skip measuring its cost
            rate_rng = np.random.default_rng([seed, 2, index, r])
            rates = [
                _collision_rate(
                    a_words,
                    b_words,
                    a_rows,
                    b_rows,
                    _masks(rate_rng.choice(pool, r, replace=False)[None, :], a_words.shape[1])[0],
                )
                for _ in range(3)
            ]
            candidates = float(np.mean(rates)) * total_pairs * b
            seconds = (
                b * (COST_INDEX_ROW * m + COST_PROBE_ROW * n) + COST_CANDIDATE * candidates
            ) / workers
            option = {
                "cutoff": cutoff,
                "pool": pool,
                "r": r,
                "b": b,
                "recall": recall,
                "candidates": candidates,
                "seconds": seconds,
            }
            considered.append({k: v for k, v in option.items() if k != "pool"})
            if best is None or _better(option, best, design, both_given=bands is not None):
                best = option
    if best is None:
        raise ValueError(f"rows_per_band={rows_per_band} is larger than every usable bit pool.")
    plan_rng = np.random.default_rng([seed, 1])
    method = "lsh"
    positions = np.stack(
        [np.sort(plan_rng.choice(best["pool"], best["r"], replace=False)) for _ in range(best["b"])]
    ).astype(np.int64)
    if allow_exhaustive and auto and exhaustive_seconds <= best["seconds"]:
        method = "exhaustive"
        positions = np.zeros((0, 0), np.int64)
    return LshPlan(
        positions=positions,
        threshold=threshold,
        method=method,
        target_recall=target_recall,
        expected_recall=1.0 if method == "exhaustive" else best["recall"],
        recall_source="sample pairs" if use_sample else "model",
        sample_pairs=len(differing_bits),
        sample_compared=sample_compared,
        pool_size=len(best["pool"]),
        pool_max_frequency=best["cutoff"],
        estimated_candidates=total_pairs if method == "exhaustive" else best["candidates"],
        estimated_seconds=exhaustive_seconds if method == "exhaustive" else best["seconds"],
        planning_seconds=time.perf_counter() - started,
        considered=considered,
    )


def _exhaustive_seconds(total_pairs: float, within: bool, workers: int) -> float:
    """Estimated time of exhaustive Dice (threaded across rows of ``a`` unless ``within``)."""
    return COST_EXHAUSTIVE_PAIR * total_pairs / (1 if within else workers)


def _better(option: dict[str, Any], best: dict[str, Any], design: float, both_given: bool) -> bool:
    """Meeting the recall target first, then cheaper; or higher recall if none meets it."""
    if both_given:
        return bool(option["recall"] > best["recall"])
    ok, best_ok = option["recall"] >= design, best["recall"] >= design
    if ok != best_ok:
        return bool(ok)
    if ok:
        return bool(option["seconds"] < best["seconds"])
    return bool(option["recall"] > best["recall"])


# --------------------------------------------------------------------------- running


def _workers(workers: int | None) -> int:
    if workers is None:
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    if workers < 1:
        raise ValueError("workers must be at least 1.")
    return int(workers)


def _exhaustive_threaded(
    a_words: np.ndarray, b_words: np.ndarray, threshold: float, workers: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """:func:`dice_pairs`, with the rows of ``a`` split across threads."""
    if workers == 1 or a_words.shape[0] < 2 * workers:
        return dice_pairs(a_words, b_words, threshold)
    a_pop = popcounts(a_words)
    b_pop = popcounts(b_words)
    order = np.argsort(b_pop, kind="stable")
    b_sorted = np.ascontiguousarray(b_words[order])
    b_pop_sorted = b_pop[order]
    bounds = np.linspace(0, a_words.shape[0], 4 * workers + 1).astype(np.int64)

    def chunk(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        lo, hi = bounds[k], bounds[k + 1]
        i, j, s, c = _all_pairs(
            a_words[lo:hi], a_pop[lo:hi], b_sorted, b_pop_sorted, threshold, False
        )
        return i + lo, order[j], s, c

    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(chunk, range(len(bounds) - 1)))
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        sum(p[3] for p in parts),
    )


def _run(
    a_words: np.ndarray,
    b_words: np.ndarray | None,
    plan: LshPlan,
    max_bucket: int,
    workers: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, BlockingStats]:
    started = time.perf_counter()
    within = b_words is None
    side = a_words if b_words is None else b_words
    n, m = a_words.shape[0], side.shape[0]
    total_pairs = n * (n - 1) // 2 if within else n * m
    threshold = plan.threshold

    if plan.method == "exhaustive" or n == 0 or m == 0:
        if progress is not None:
            progress(0, 1)
        if n == 0 or m == 0:
            i = j = np.zeros(0, np.int64)
            s = np.zeros(0, np.float64)
            compared = 0
        elif within:
            i, j, s, compared = dice_pairs_within(a_words, threshold)
        else:
            i, j, s, compared = _exhaustive_threaded(a_words, side, threshold, workers)
        order = np.lexsort((j, i))
        stats = BlockingStats(
            method="exhaustive" if plan.method == "exhaustive" else "lsh",
            bands=plan.bands,
            rows_per_band=plan.rows_per_band,
            candidate_pairs=int(compared),
            total_pairs=int(total_pairs),
            pairs=len(i),
            max_bucket=max_bucket,
            seconds=time.perf_counter() - started,
            plan=plan.describe(),
        )
        if progress is not None:
            progress(1, 1)
        return i[order], j[order], s[order], stats

    a_pop = popcounts(a_words)
    b_pop = a_pop if within else popcounts(side)
    table_bits = max(1, math.ceil(math.log2(max(m, 2))))
    per_band = 8 * m + 4 * ((1 << table_bits) + 1)
    group = max(1, min(plan.bands, INDEX_BUDGET_BYTES // per_band))
    offsets = np.empty((group, (1 << table_bits) + 1), np.int32 if m < 2**31 else np.int64)
    entries = np.empty((group, m), np.uint64)
    chunk = max(1024, min(65_536, -(-n // (8 * workers))))
    codes = np.zeros(0, np.int64)
    scores = np.zeros(0, np.float64)
    compared = skipped_buckets = skipped_probes = skipped_pairs = 0
    groups_run = 0
    index_seconds = probe_seconds = merge_seconds = 0.0
    steps = -(-plan.bands // group) * -(-n // chunk)  # (band group, chunk of rows) pairs
    steps_done = 0
    if progress is not None:
        progress(0, steps)

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        for g0 in range(0, plan.bands, group):
            masks = _masks(plan.positions[g0 : g0 + group], a_words.shape[1])
            size = masks.shape[0]
            tick = time.perf_counter()
            oversized = list(
                pool.map(
                    lambda g, masks=masks: _build_index(
                        side, masks[g], table_bits, offsets[g], entries[g], max_bucket
                    ),
                    range(size),
                )
            )
            skipped_buckets += sum(oversized)
            index_seconds += time.perf_counter() - tick
            tick = time.perf_counter()
            worst = min(size * max_bucket, m)
            capacity = max(1 << 18, 2 * worst)

            def task(
                start: int,
                masks: np.ndarray = masks,
                size: int = size,
                capacity: int = capacity,
            ) -> tuple[np.ndarray, np.ndarray, int, int, int]:
                stop = min(start + chunk, n)
                parts_c, parts_s = [], []
                done = cmp_ = sp = spp = 0
                row = start
                while row < stop:
                    out_i = np.empty(capacity, np.int64)
                    out_j = np.empty(capacity, np.int64)
                    out_s = np.empty(capacity, np.float64)
                    count, row, c, p, pp = _probe(
                        a_words, a_pop, side, b_pop, masks, offsets[:size], entries[:size],
                        table_bits, threshold, max_bucket, within, row, stop, out_i, out_j, out_s,
                    )  # fmt: skip
                    cmp_ += c
                    sp += p
                    spp += pp
                    done += count
                    parts_c.append(out_i[:count] * m + out_j[:count])
                    parts_s.append(out_s[:count].copy())
                return np.concatenate(parts_c), np.concatenate(parts_s), cmp_, sp, spp

            group_c, group_s = [], []
            for c_arr, s_arr, c, p, pp in pool.map(task, range(0, n, chunk)):
                group_c.append(c_arr)
                group_s.append(s_arr)
                compared += c
                skipped_probes += p
                skipped_pairs += pp
                steps_done += 1
                if progress is not None:
                    progress(steps_done, steps)
            probe_seconds += time.perf_counter() - tick
            tick = time.perf_counter()
            gc = np.concatenate(group_c)
            gs = np.concatenate(group_s)
            order = np.argsort(gc, kind="stable")
            codes, scores = _merge_unique(codes, scores, gc[order], gs[order])
            merge_seconds += time.perf_counter() - tick
            groups_run += 1
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # do not finish a cancelled run
        raise
    pool.shutdown(wait=True)

    i, j = np.divmod(codes, m)
    if skipped_probes:
        warnings.warn(
            f"LSH blocking skipped {skipped_probes:,} probes into {skipped_buckets:,} buckets "
            f"larger than max_bucket={max_bucket:,} ({skipped_pairs:,} comparisons not made).",
            OversizedBucketWarning,
            stacklevel=3,
        )
    stats = BlockingStats(
        method="lsh",
        bands=plan.bands,
        rows_per_band=plan.rows_per_band,
        candidate_pairs=int(compared),
        total_pairs=int(total_pairs),
        pairs=len(codes),
        skipped_buckets=int(skipped_buckets),
        skipped_probes=int(skipped_probes),
        skipped_pairs=int(skipped_pairs),
        max_bucket=max_bucket,
        band_groups=groups_run,
        seconds=time.perf_counter() - started,
        index_seconds=index_seconds,
        probe_seconds=probe_seconds,
        merge_seconds=merge_seconds,
        plan=plan.describe(),
    )
    return i, j, scores, stats


def lsh_pairs(
    a_words: np.ndarray,
    b_words: np.ndarray,
    threshold: float,
    *,
    bands: int | None = None,
    rows_per_band: int | None = None,
    seed: int = 0,
    max_bucket: int = DEFAULT_MAX_BUCKET,
    target_recall: float = 0.99,
    plan: LshPlan | None = None,
    workers: int | None = None,
    allow_exhaustive: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, BlockingStats]:
    """Pairs (i in a, j in b) with Dice >= threshold that share a band key, and statistics.

    Like :func:`~htlink.match.similarities.dice_pairs` (same scores, exact), but only
    pairs that collide in at least one LSH band are compared, so a few pairs above the
    threshold may be missed (expected pair completeness ``target_recall`` or better).
    Pairs come sorted by ``(i, j)``.  ``bands`` and ``rows_per_band`` override the
    planner; ``plan`` (from :func:`plan_lsh`) skips planning altogether, which is how
    chunks of one run share their bit positions (its bands are used at ``threshold``;
    its recall estimate was for the plan's own threshold).  ``max_bucket``: see the
    module docstring.  ``workers`` threads (default: the CPUs this process may use).
    Deterministic for a given ``seed``, whatever the number of workers.
    ``progress(steps_done, steps)`` is called after each chunk of rows of each band
    group; an exception it raises stops the run (no further chunks) and propagates.
    """
    a_words = _check_words(a_words, "a_words")
    b_words = _check_words(b_words, "b_words")
    if max_bucket < 1:
        raise ValueError("max_bucket must be at least 1.")
    workers = _workers(workers)
    if plan is None:
        plan = plan_lsh(
            a_words, b_words, threshold, bands=bands, rows_per_band=rows_per_band,
            target_recall=target_recall, seed=seed, workers=workers,
            allow_exhaustive=allow_exhaustive,
        )  # fmt: skip
    elif b_words.shape[1] != a_words.shape[1]:
        raise ValueError("a_words and b_words have different widths (bit lengths).")
    plan = _with_threshold(plan, threshold)
    return _run(a_words, b_words, plan, int(max_bucket), workers, progress)


def lsh_pairs_within(
    words: np.ndarray,
    threshold: float,
    *,
    bands: int | None = None,
    rows_per_band: int | None = None,
    seed: int = 0,
    max_bucket: int = DEFAULT_MAX_BUCKET,
    target_recall: float = 0.99,
    plan: LshPlan | None = None,
    workers: int | None = None,
    allow_exhaustive: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, BlockingStats]:
    """Pairs i < j within one set with Dice >= threshold that share a band key (de-duplication).

    The within-set counterpart of :func:`lsh_pairs`; same options and guarantees.
    """
    words = _check_words(words, "words")
    if max_bucket < 1:
        raise ValueError("max_bucket must be at least 1.")
    workers = _workers(workers)
    if plan is None:
        plan = plan_lsh(
            words, None, threshold, bands=bands, rows_per_band=rows_per_band,
            target_recall=target_recall, seed=seed, workers=workers,
            allow_exhaustive=allow_exhaustive,
        )  # fmt: skip
    plan = _with_threshold(plan, threshold)
    return _run(words, None, plan, int(max_bucket), workers, progress)


def _with_threshold(plan: LshPlan, threshold: float) -> LshPlan:
    threshold = _check_threshold(threshold)
    if plan.threshold == threshold:
        return plan
    return LshPlan(**{**plan.__dict__, "threshold": threshold})


def union_pairs(
    parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge (i, j, scores) results that may overlap: each pair once, sorted by (i, j).

    ``width`` is the number of rows of the indexed side (B, or the set itself).
    """
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    codes = np.concatenate([p[0].astype(np.int64) * width + p[1] for p in parts])
    scores = np.concatenate([p[2] for p in parts])
    codes, first = np.unique(codes, return_index=True)
    i, j = np.divmod(codes, width)
    return i, j, scores[first]


@njit(nogil=True, cache=True)
def _verify(
    a_words: np.ndarray, b_words: np.ndarray, i: np.ndarray, j: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    width = a_words.shape[1]
    keep = np.zeros(i.shape[0], np.bool_)
    scores = np.zeros(i.shape[0], np.float64)
    for x in range(i.shape[0]):
        inter = 0
        pa = 0
        pb = 0
        for k in range(width):
            wa = a_words[i[x], k]
            wb = b_words[j[x], k]
            inter += _popcount64(wa & wb)
            pa += _popcount64(wa)
            pb += _popcount64(wb)
        total = pa + pb
        score = 2.0 * inter / total if total > 0 else 0.0
        scores[x] = score
        keep[x] = score >= threshold
    return keep, scores


def verify_pairs(
    a_words: np.ndarray,
    b_words: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The given candidate pairs with Dice >= threshold, and their exact scores.

    For candidates from :func:`pairs_from_block_keys`: the same scores as
    :func:`~htlink.match.similarities.dice_pairs`, in the order given.
    """
    a_words = _check_words(a_words, "a_words")
    b_words = _check_words(b_words, "b_words")
    i = np.ascontiguousarray(i, dtype=np.int64)
    j = np.ascontiguousarray(j, dtype=np.int64)
    keep, scores = _verify(a_words, b_words, i, j, float(threshold))
    return i[keep], j[keep], scores[keep]


# --------------------------------------------------------------------------- block keys


def _key_table(keys: Sequence[Any] | np.ndarray | pd.Series) -> pd.DataFrame:
    """(row, key) pairs: a scalar per row, or a list/tuple/set/array of keys per row.

    Missing keys (None, NaN, empty string) make no pairs; a key listed twice for one row
    counts once.
    """
    values = keys.to_numpy() if isinstance(keys, pd.Series) else keys
    series = pd.Series(list(values), index=np.arange(len(values)), dtype=object)
    multi = (list, tuple, set, frozenset, np.ndarray)
    if series.map(lambda v: isinstance(v, multi)).any():
        series = series.map(lambda v: list(v) if isinstance(v, multi) else [v]).explode()
    table = pd.DataFrame({"row": series.index.to_numpy(np.int64), "key": series.to_numpy()})
    missing = table["key"].map(lambda v: v is None or v == "" or (isinstance(v, float) and v != v))
    return table[~missing.to_numpy(bool)].drop_duplicates()


def _sorted_unique_pairs(i: np.ndarray, j: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    codes = np.unique(i.astype(np.int64) * max(width, 1) + j.astype(np.int64))
    return codes // max(width, 1), codes % max(width, 1)


def pairs_from_block_keys(
    keys_a: Sequence[Any] | np.ndarray | pd.Series,
    keys_b: Sequence[Any] | np.ndarray | pd.Series,
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i in a, j in b) whose records share at least one block key.

    A record's key is a scalar (string, bytes, integer), or a list of keys when an agency
    computes several (e.g. one per blocking rule).  Missing keys (None, NaN, '') pair with
    nothing.  No cap: every pair that shares a key is returned, once, sorted by (i, j) --
    so a key shared by very many records makes very many pairs.
    """
    a = _key_table(keys_a)
    b = _key_table(keys_b)
    if a.empty or b.empty:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    codes, _ = pd.factorize(pd.concat([a["key"], b["key"]], ignore_index=True))
    ka, kb = codes[: len(a)], codes[len(a) :]
    ra, rb = a["row"].to_numpy(np.int64), b["row"].to_numpy(np.int64)
    order_b = np.argsort(kb, kind="stable")
    kb_sorted, rb_sorted = kb[order_b], rb[order_b]
    lo = np.searchsorted(kb_sorted, ka, side="left")
    hi = np.searchsorted(kb_sorted, ka, side="right")
    counts = hi - lo
    i = np.repeat(ra, counts)
    starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
    j = rb_sorted[np.arange(counts.sum()) + starts]
    return _sorted_unique_pairs(i, j, len(keys_b))


def pairs_from_block_keys_within(
    keys: Sequence[Any] | np.ndarray | pd.Series,
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair i < j within one set whose records share at least one block key."""
    i, j = pairs_from_block_keys(keys, keys)
    keep = i < j
    return i[keep], j[keep]
