"""From scored candidate pairs to people: greedy clustering under source constraints.

The rule, the same for two agencies and for many:

1. Sort the candidate links by score, highest first; equal scores are taken in
   the order of their record numbers (lower first record, then lower second).
2. Take each link in that order and merge the two records' clusters, unless
   (a) the merged cluster would hold two records of a source that declared
   itself de-duplicated, or (b) the two clusters are not alike as a whole: the
   mean Dice score over every pair of their members (one from each) is below
   ``min_average``.  Then the link is rejected.
3. Clusters are the connected components of the accepted links.

Rule (b) is average linkage.  Without it one strong link per step can chain
different people together -- A is like B, B like C, C like D -- and with repeat
visits in a source that is not de-duplicated, chains grew into clusters of
thousands on the synthetic agencies.

With two de-duplicated sources this is greedy one-to-one assignment.  A
conflict such as A~B, B~C but A≁C is resolved by the order: if B's link to A
came first, C joins A's cluster through B only if no constraint forbids it --
the cluster is a person made of the strongest consistent evidence, and a
rejected link never pulls a record out of a cluster it already joined.  Within
a source that is not de-duplicated (repeat visits), links inside that source
merge records like any other link.

How the order is computed
    Sorting every candidate link (24.5 million of them for FEBRL4 at 0.7) by three
    keys with ``np.lexsort`` took longer than everything else together.  Dice scores
    take few distinct values (27,021 among those 24.5 million links), so each score
    is replaced by its rank among the distinct scores, highest first (one pass with a
    hash table), and the rank and the two record numbers are packed into one 64-bit
    key, ``rank << 2b | low << b | high`` for records numbered below ``2**b``.
    Sorting these keys (plain ``np.sort``: no permutation, no second key) gives the
    links in exactly the documented order, and the clustering loop reads them
    sequentially.  Links that are equal in all three (the same pair listed twice with
    the same score) have equal keys; they are always accepted or rejected together
    (the second finds the decision of the first unchanged), so their input order does
    not matter.  Inputs that cannot be packed (NaN scores, more than
    :data:`MAX_DISTINCT_SCORES` distinct scores, keys wider than 64 bits) take the
    reference path: ``np.lexsort`` (:func:`link_order`) and the same loop.  The
    tests check both paths against each other on random inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from htlink.match.similarities import _popcount64, popcounts


@njit(nogil=True, cache=True)
def _find(parent: np.ndarray, x: int) -> int:
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:
        parent[x], x = root, parent[x]
    return root


@njit(nogil=True, cache=True)
def _mean_dice(
    words: np.ndarray, pop: np.ndarray, next_member: np.ndarray, ra: int, rb: int
) -> float:
    """Mean Dice over all pairs (x in cluster ra, y in cluster rb), via member lists."""
    total = 0.0
    count = 0
    x = ra
    while x >= 0:
        y = rb
        while y >= 0:
            inter = 0
            for k in range(words.shape[1]):
                inter += _popcount64(words[x, k] & words[y, k])
            denominator = pop[x] + pop[y]
            total += 2.0 * inter / denominator if denominator > 0 else 0.0
            count += 1
            y = next_member[y]
        x = next_member[x]
    return total / count


@njit(nogil=True, cache=True)
def _cluster(
    n: int,
    source_of: np.ndarray,
    dedup_mask: np.int64,
    u: np.ndarray,
    v: np.ndarray,
    order: np.ndarray,
    scores: np.ndarray,
    words: np.ndarray,
    min_average: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    parent = np.arange(n)
    next_member = np.full(n, -1, np.int64)  # members of a cluster: a list from its root
    last_member = np.arange(n)
    pop = popcounts(words) if min_average > 0.0 else np.zeros(n, np.int64)
    sources = np.zeros(n, np.int64)
    for x in range(n):
        sources[x] = np.int64(1) << source_of[x]
    confidence = np.full(n, np.nan)
    accepted = np.zeros(order.shape[0], np.bool_)
    for e in order:
        a, b = u[e], v[e]
        ra, rb = _find(parent, a), _find(parent, b)
        if ra == rb:
            accepted[e] = True
        elif sources[ra] & sources[rb] & dedup_mask:
            continue
        elif min_average > 0.0 and _mean_dice(words, pop, next_member, ra, rb) < min_average:
            continue
        else:
            keep, gone = (ra, rb) if ra < rb else (rb, ra)
            parent[gone] = keep
            sources[keep] |= sources[gone]
            next_member[last_member[keep]] = gone
            last_member[keep] = last_member[gone]
            accepted[e] = True
        if accepted[e]:
            s = scores[e]
            if not confidence[a] >= s:
                confidence[a] = s
            if not confidence[b] >= s:
                confidence[b] = s
    roots = np.empty(n, np.int64)
    for x in range(n):
        roots[x] = _find(parent, x)
    return roots, confidence, accepted


#: More distinct scores than this and the links are ordered by ``np.lexsort`` instead.
MAX_DISTINCT_SCORES = 1 << 22


@njit(nogil=True, cache=True, inline="always")
def _slot(bits: np.uint64, mask: int) -> np.int64:
    h = bits * np.uint64(0x9E3779B97F4A7C15)
    return np.int64((h ^ (h >> np.uint64(31))) & np.uint64(mask))


@njit(nogil=True, cache=True)
def _score_ids(bits: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct values of ``bits`` in order of first appearance.

    Returns ``(id of every element, the distinct values by id)``; both empty when
    there are more than ``limit`` distinct values.
    """
    size = 1024
    table = np.zeros(size, np.uint64)
    slot_id = np.full(size, -1, np.int64)
    values = np.empty(64, np.uint64)
    ids = np.empty(bits.shape[0], np.int32)
    count = 0
    for k in range(bits.shape[0]):
        x = bits[k]
        s = _slot(x, size - 1)
        while slot_id[s] >= 0 and table[s] != x:
            s = (s + 1) & (size - 1)
        if slot_id[s] >= 0:
            ids[k] = slot_id[s]
            continue
        if count == limit:
            return np.zeros(0, np.int32), np.zeros(0, np.uint64)
        if count == values.shape[0]:
            grown = np.empty(2 * count, np.uint64)
            grown[:count] = values
            values = grown
        table[s] = x
        slot_id[s] = count
        values[count] = x
        ids[k] = count
        count += 1
        if 2 * count > size:  # keep the table at most half full
            size *= 2
            table = np.zeros(size, np.uint64)
            slot_id = np.full(size, -1, np.int64)
            for c in range(count):
                y = values[c]
                t = _slot(y, size - 1)
                while slot_id[t] >= 0:
                    t = (t + 1) & (size - 1)
                table[t] = y
                slot_id[t] = c
    return ids, values[:count].copy()


@njit(nogil=True, cache=True)
def _pack_keys(
    ids: np.ndarray, rank_of_id: np.ndarray, u: np.ndarray, v: np.ndarray, record_bits: int
) -> np.ndarray:
    """``rank << 2 record_bits | min(u, v) << record_bits | max(u, v)`` per link."""
    keys = np.empty(ids.shape[0], np.uint64)
    shift_rank = np.uint64(2 * record_bits)
    shift_lo = np.uint64(record_bits)
    for k in range(ids.shape[0]):
        a, b = u[k], v[k]
        if a > b:
            a, b = b, a
        keys[k] = (
            (np.uint64(rank_of_id[ids[k]]) << shift_rank)
            | (np.uint64(a) << shift_lo)
            | np.uint64(b)
        )
    return keys


def link_keys(
    u: np.ndarray, v: np.ndarray, scores: np.ndarray, n_records: int
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """The links as packed 64-bit keys whose ascending order is the clustering order.

    Returns ``(keys in input order, score of each rank, record_bits)``: a link's key is
    ``rank << 2 record_bits | min(u, v) << record_bits | max(u, v)``, where rank 0 is
    the highest score, so sorting the keys orders the links by descending score, then
    ascending first and second record -- the order of :func:`link_order`.  None when
    the links cannot be packed (NaN scores, more than :data:`MAX_DISTINCT_SCORES`
    distinct scores, or a key wider than 64 bits); record numbers must lie in
    ``0 .. n_records - 1``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    record_bits = max(1, int(n_records - 1).bit_length())
    canonical = scores + 0.0  # -0.0 -> 0.0: equal scores, equal bit patterns
    if np.isnan(canonical).any():
        return None
    ids, distinct = _score_ids(canonical.view(np.uint64), MAX_DISTINCT_SCORES)
    if len(distinct) == 0 and len(scores):
        return None
    rank_bits = max(1, int(len(distinct) - 1).bit_length()) if len(distinct) else 1
    if rank_bits + 2 * record_bits > 64:
        return None
    values = distinct.view(np.float64)
    descending = np.argsort(-values, kind="stable")
    score_of_rank = values[descending]
    rank_of_id = np.empty(len(values), np.int64)
    rank_of_id[descending] = np.arange(len(values))
    keys = _pack_keys(
        ids, rank_of_id, np.asarray(u, np.int64), np.asarray(v, np.int64), record_bits
    )
    return keys, score_of_rank, record_bits


def unpack_keys(
    keys: np.ndarray, score_of_rank: np.ndarray, record_bits: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(low record, high record, score)`` of packed keys (see :func:`link_keys`)."""
    mask = np.uint64((1 << record_bits) - 1)
    hi = (keys & mask).astype(np.int64)
    lo = ((keys >> np.uint64(record_bits)) & mask).astype(np.int64)
    rank = (keys >> np.uint64(2 * record_bits)).astype(np.int64)
    return lo, hi, score_of_rank[rank]


@njit(nogil=True, cache=True)
def _cluster_keys(
    n: int,
    source_of: np.ndarray,
    dedup_mask: np.int64,
    sorted_keys: np.ndarray,
    score_of_rank: np.ndarray,
    record_bits: int,
    words: np.ndarray,
    min_average: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_cluster` for links given as sorted packed keys, read in order."""
    parent = np.arange(n)
    next_member = np.full(n, -1, np.int64)
    last_member = np.arange(n)
    pop = popcounts(words) if min_average > 0.0 else np.zeros(n, np.int64)
    sources = np.zeros(n, np.int64)
    for x in range(n):
        sources[x] = np.int64(1) << source_of[x]
    confidence = np.full(n, np.nan)
    accepted = np.zeros(sorted_keys.shape[0], np.bool_)
    mask = np.uint64((1 << record_bits) - 1)
    shift_lo = np.uint64(record_bits)
    shift_rank = np.uint64(2 * record_bits)
    for e in range(sorted_keys.shape[0]):
        key = sorted_keys[e]
        a = np.int64((key >> shift_lo) & mask)
        b = np.int64(key & mask)
        ra, rb = _find(parent, a), _find(parent, b)
        if ra == rb:
            accepted[e] = True
        elif sources[ra] & sources[rb] & dedup_mask:
            continue
        elif min_average > 0.0 and _mean_dice(words, pop, next_member, ra, rb) < min_average:
            continue
        else:
            keep, gone = (ra, rb) if ra < rb else (rb, ra)
            parent[gone] = keep
            sources[keep] |= sources[gone]
            next_member[last_member[keep]] = gone
            last_member[keep] = last_member[gone]
            accepted[e] = True
        if accepted[e]:
            s = score_of_rank[np.int64(key >> shift_rank)]
            if not confidence[a] >= s:
                confidence[a] = s
            if not confidence[b] >= s:
                confidence[b] = s
    roots = np.empty(n, np.int64)
    for x in range(n):
        roots[x] = _find(parent, x)
    return roots, confidence, accepted


@njit(nogil=True, cache=True)
def _status_in_input_order(
    keys: np.ndarray, sorted_keys: np.ndarray, accepted_sorted: np.ndarray
) -> np.ndarray:
    """Each input link's decision, looked up by its key in a hash set of the minority.

    Links with equal keys always share their decision (see the module docstring).
    """
    n = keys.shape[0]
    n_accepted = 0
    for e in range(n):
        if accepted_sorted[e]:
            n_accepted += 1
    out = np.empty(n, np.bool_)
    if n_accepted == 0 or n_accepted == n:
        out[:] = n_accepted == n
        return out
    minority = n_accepted <= n - n_accepted  # remember the accepted keys, or the rejected
    size = 16
    while size < 2 * min(n_accepted, n - n_accepted):
        size *= 2
    table = np.zeros(size, np.uint64)
    used = np.zeros(size, np.bool_)
    for e in range(n):
        if accepted_sorted[e] == minority:
            x = sorted_keys[e]
            s = _slot(x, size - 1)
            while used[s] and table[s] != x:
                s = (s + 1) & (size - 1)
            used[s] = True
            table[s] = x
    for k in range(n):
        x = keys[k]
        s = _slot(x, size - 1)
        while used[s] and table[s] != x:
            s = (s + 1) & (size - 1)
        out[k] = used[s] == minority
    return out


def link_order(u: np.ndarray, v: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Links by descending score; ties by ascending (first record, second record).

    The reference order (``np.lexsort``); :func:`cluster_records` gets the same order
    faster from :func:`link_keys`.
    """
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    return np.lexsort((hi, lo, -scores))


def _validated(
    source_of: np.ndarray,
    deduplicated: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    scores: np.ndarray,
    words: np.ndarray | None,
    min_average: float,
) -> tuple[int, np.ndarray, np.int64, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if min_average > 0.0 and words is None:
        raise ValueError("min_average needs the records' words")
    if len(deduplicated) > 64:
        raise ValueError("at most 64 sources can be linked at once")
    mask = 0
    for s, flag in enumerate(deduplicated):
        if flag:
            mask |= 1 << s
    n = len(source_of)
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    if not len(u) == len(v) == len(scores):
        raise ValueError("u, v and scores must have the same length")
    if len(u) and (min(u.min(), v.min()) < 0 or max(u.max(), v.max()) >= n):
        raise ValueError("link record numbers must lie in 0 .. len(source_of) - 1")
    if words is None:
        words = np.zeros((n, 1), dtype=np.uint64)
    return (
        n,
        np.asarray(source_of, dtype=np.int64),
        np.int64(mask),
        u,
        v,
        scores,
        np.ascontiguousarray(words),
    )


def cluster_links(
    source_of: np.ndarray,
    deduplicated: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    scores: np.ndarray,
    words: np.ndarray | None = None,
    min_average: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`cluster_records`, returning the accepted links as record pairs.

    Returns each record's cluster root, its confidence, and the accepted links as
    ``(low record, high record)`` arrays (in clustering order; a link listed twice
    appears twice).  This is what :func:`~htlink.match.engine.link_submissions`
    uses: it only counts accepted links per agency pair, so it skips mapping every
    link's decision back to the input order.
    """
    n, source_of, mask, u, v, scores, words = _validated(
        source_of, deduplicated, u, v, scores, words, min_average
    )
    packed = link_keys(u, v, scores, n)
    if packed is None:
        roots, confidence, accepted = _cluster(
            n, source_of, mask, u, v, link_order(u, v, scores), scores, words, float(min_average)
        )
        return roots, confidence, np.minimum(u, v)[accepted], np.maximum(u, v)[accepted]
    keys, score_of_rank, record_bits = packed
    keys.sort()
    roots, confidence, accepted = _cluster_keys(
        n, source_of, mask, keys, score_of_rank, record_bits, words, float(min_average)
    )
    lo, hi, _ = unpack_keys(keys[accepted], score_of_rank, record_bits)
    return roots, confidence, lo, hi


def cluster_records(
    source_of: np.ndarray,
    deduplicated: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    scores: np.ndarray,
    words: np.ndarray | None = None,
    min_average: float = 0.0,
    *,
    exact_order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cluster ``len(source_of)`` records given scored links ``(u[k], v[k], scores[k])``.

    ``source_of[x]`` is record x's source (0..63); ``deduplicated[s]`` says whether
    source s has at most one record per person.  With ``words`` (every record's
    CLK as uint64 words, in record order) and ``min_average`` > 0, two clusters
    merge only if the mean Dice over their cross pairs reaches ``min_average``.
    Returns each record's cluster root, its confidence (the best accepted link
    touching it; NaN when it stays alone) and which links were accepted.

    ``exact_order`` (a permutation of the links) makes the loop take the links in that
    order instead of computing it; the tests pass :func:`link_order` to compare the
    packed-key path with the reference.
    """
    n, source_of, mask, u, v, scores, words = _validated(
        source_of, deduplicated, u, v, scores, words, min_average
    )
    packed = link_keys(u, v, scores, n) if exact_order is None else None
    if packed is None:
        order = link_order(u, v, scores) if exact_order is None else exact_order
        return _cluster(n, source_of, mask, u, v, order, scores, words, float(min_average))
    keys, score_of_rank, record_bits = packed
    sorted_keys = np.sort(keys)
    roots, confidence, accepted_sorted = _cluster_keys(
        n, source_of, mask, sorted_keys, score_of_rank, record_bits, words, float(min_average)
    )
    return roots, confidence, _status_in_input_order(keys, sorted_keys, accepted_sorted)
