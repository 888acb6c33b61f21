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


def link_order(u: np.ndarray, v: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Links by descending score; ties by ascending (first record, second record)."""
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    return np.lexsort((hi, lo, -scores))


def cluster_records(
    source_of: np.ndarray,
    deduplicated: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    scores: np.ndarray,
    words: np.ndarray | None = None,
    min_average: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cluster ``len(source_of)`` records given scored links ``(u[k], v[k], scores[k])``.

    ``source_of[x]`` is record x's source (0..63); ``deduplicated[s]`` says whether
    source s has at most one record per person.  With ``words`` (every record's
    CLK as uint64 words, in record order) and ``min_average`` > 0, two clusters
    merge only if the mean Dice over their cross pairs reaches ``min_average``.
    Returns each record's cluster root, its confidence (the best accepted link
    touching it; NaN when it stays alone) and which links were accepted.
    """
    if min_average > 0.0 and words is None:
        raise ValueError("min_average needs the records' words")
    if len(deduplicated) > 64:
        raise ValueError("at most 64 sources can be linked at once")
    mask = 0
    for s, flag in enumerate(deduplicated):
        if flag:
            mask |= 1 << s
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    order = link_order(u, v, scores)
    if words is None:
        words = np.zeros((len(source_of), 1), dtype=np.uint64)
    return _cluster(
        len(source_of),
        np.asarray(source_of, dtype=np.int64),
        np.int64(mask),
        u,
        v,
        order,
        scores,
        np.ascontiguousarray(words),
        float(min_average),
    )
