"""Graph-matching (similarity) attack in the style of Vidanage et al. (CIKM 2020).

Vidanage, Christen, Ranbaduge & Schnell, "A graph matching attack on
privacy-preserving record linkage" (CIKM 2020): similarities survive encoding,
so the graph of pairwise similarities between the attacked encodings looks like
the graph of pairwise similarities between the attacker's plaintext records,
and the nodes of the two graphs can be matched.  This implementation keeps
that idea and solves the matching with seeded, iterated assignment (in the
spirit of the seed-and-extend de-anonymization of Narayanan & Shmatikov 2009
and of Frank-Wolfe graph matching):

1. **Two similarity graphs on one scale.**  Encoded side ``E``: Dice of every
   pair of attacked encodings.  Plaintext side ``P``, best first:

   * ``reference_bits`` given -- the attacker's *own* encodings of its
     plaintext records under a secret of its own choosing, with the public
     schema (and, for hardened schemas, the same public hardening rules: salt,
     balancing, BLIP).  ``P`` is their Dice graph: the same encoding process
     with a different secret, so ``E`` and ``P`` are on the same scale and no
     calibration is needed;
   * otherwise the Dice of the records' q-gram token sets (the schema's own
     tokens per feature), and ``E`` is mapped onto ``P``'s scale by matching
     quantiles (:func:`calibrate`).

2. **Two views of each graph.**  *Dense*: the similarity matrix with the
   diagonal left out, double-centred (row and column means removed), each row
   scaled to unit length.  *Sparse*: only the strongest ``sparse_share`` of
   all pairs (one threshold per graph, at that quantile), as their excess over
   the threshold, rows scaled to unit length.  The dense view uses every
   pair, which matters when the plaintext list holds people not encoded (only
   part of the nodes have a counterpart); the sparse view drops the pairs that
   carry only noise, which matters when the graph falls apart into blocks
   (salting: encodings with different salts are unrelated, so only the
   within-block pairs are informative).

3. **Initial soft seeds.**  Each node is described by its ``top_k`` largest
   similarities in decreasing order; ``D[i, a]`` is the Euclidean distance
   between the descriptions of encoded node ``i`` and plaintext node ``a``,
   standardized per row, and ``K = softmax(-D / temperature)`` per row is a
   soft guess of each encoded node's counterpart.  With ``A`` (encoded) and
   ``B`` (plaintext) a view's matrices, the first scores are
   ``S = A K B^T`` -- each node compared with each candidate through *all*
   soft seeds -- and the first matching is the one-to-one assignment
   maximizing the total score (:func:`scipy.optimize.linear_sum_assignment`).

4. **Seed-and-extend rounds.**  Every matched pair ``(j, m(j))`` becomes a
   seed; each encoded node ``i`` and plaintext node ``a`` are compared by the
   similarity of their rows over the seeds,
   ``S[i, a] = sum_j A[i, j] B[a, m(j)]`` (for a full matching, the cosine of node ``i``'s
   similarities to the seeds with node ``a``'s similarities to the seeds'
   counterparts), and the assignment is solved again.  Correct seeds agree,
   wrong ones add noise only, so each round has more correct seeds than the
   last; rounds stop when at most ``n // 100`` matches change, when the
   matching repeats the one of two rounds before, or after ``max_rounds``.
   All matches are used as seeds, with equal weight: we tried keeping only
   "confident" seeds (z-score of the match within its row and column, as a
   stand-in for mutual-best-with-margin), and on this data that criterion did
   not separate correct from wrong matches early on, so selecting seeds
   stalled the growth that plain rounds achieve.

5. **Starts and choice.**  Steps 3-4 run for each view and each starting
   point ``(top_k, temperature)`` of ``starts`` -- by default one,
   ``(20, 0.1)``; graphs of at most ``SMALL_GRAPH`` (500) encodings, which are
   cheap to match and least sure to take off, try the six of
   ``SMALL_GRAPH_STARTS``.  The attack keeps the matching with the highest
   *edge consistency*, which the attacker computes without any ground truth:
   the share of the strongest ``consistency_share`` (1%) of encoded pairs
   ``(i, j)`` whose images ``(m(i), m(j))`` are among the strongest 1% of
   plaintext pairs.

Each attacked encoding's guess is the plaintext record it is matched to (every
node is matched when both sides have the same size; -1 where the assignment
leaves a node out).  ``cost`` is ``1 - S[i, m(i)]`` of the final round.

The attacker never uses the linkage secret, the ground truth or any pairing
of encodings with plaintext records: only the two sets of similarities.

Cost: a few ``n x n`` float32 matrices; per round one ``n x n x n`` matrix
product and one ``n x n`` assignment (about 0.3 s at n = 1,500 on two cores),
up to ``max_rounds`` rounds for each view and start: 5-20 s at n = 1,500,
about a second at n = 300.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from htlink.attacks.bits import dice_matrix

#: Starting points ``(top_k, temperature)`` of the soft seeds (step 3).
DEFAULT_STARTS: tuple[tuple[int, float], ...] = ((20, 0.1),)
#: Graphs of at most this many encodings are cheap to match and their matching is
#: the least certain to take off, so they get more starting points.
SMALL_GRAPH = 500
SMALL_GRAPH_STARTS: tuple[tuple[int, float], ...] = (
    (20, 0.1), (40, 0.1), (20, 0.05), (10, 0.1), (40, 0.05), (80, 0.1),
)  # fmt: skip


@dataclass
class GraphMatch:
    match: np.ndarray  # plaintext index per target (-1: unmatched)
    cost: np.ndarray  # 1 - seed-profile cosine of the match (inf: unmatched)
    view: str = ""  # "dense" or "sparse": the view whose matching was kept
    rounds: int = 0  # seed-and-extend rounds run for the kept view
    consistency: float = 0.0  # edge consistency of the kept matching
    start: tuple[int, float] = (0, 0.0)  # (top_k, temperature) of the kept matching's start


def calibrate(encoded_sims: np.ndarray, plain_sims: np.ndarray, points: int = 512) -> np.ndarray:
    """Map ``encoded_sims`` onto the distribution of ``plain_sims`` (quantile matching)."""
    qs = np.linspace(0, 1, points)
    off_e = encoded_sims[~np.eye(len(encoded_sims), dtype=bool)]
    off_p = plain_sims[~np.eye(len(plain_sims), dtype=bool)]
    src = np.quantile(off_e, qs)
    dst = np.quantile(off_p, qs)
    src, keep = np.unique(src, return_index=True)
    return np.interp(encoded_sims, src, dst[keep]).astype(np.float32)


def _off_diagonal(sims: np.ndarray) -> np.ndarray:
    return sims[~np.eye(len(sims), dtype=bool)]


def _unit_rows(a: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    return (a / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def dense_view(sims: np.ndarray) -> np.ndarray:
    """Double-centred similarities (diagonal left out and set to 0), unit rows."""
    s = sims.astype(np.float64)
    n = len(s)
    if n < 2:
        return np.zeros_like(s, dtype=np.float32)
    off = ~np.eye(n, dtype=bool)
    s = np.where(off, s, 0.0)
    row = s.sum(axis=1, keepdims=True) / (n - 1)
    s = np.where(off, s - row, 0.0)
    col = s.sum(axis=0, keepdims=True) / (n - 1)
    s = np.where(off, s - col, 0.0)
    return _unit_rows(s)


def sparse_view(sims: np.ndarray, share: float) -> np.ndarray:
    """The strongest ``share`` of pairs as their excess over that quantile, unit rows."""
    n = len(sims)
    if n < 2:
        return np.zeros_like(sims, dtype=np.float32)
    threshold = np.quantile(_off_diagonal(sims), 1.0 - share)
    s = np.maximum(sims.astype(np.float64) - threshold, 0.0)
    np.fill_diagonal(s, 0.0)
    return _unit_rows(s)


def top_similarities(sims: np.ndarray, k: int) -> np.ndarray:
    """Each node's ``k`` largest similarities to other nodes, in decreasing order."""
    off = sims.astype(np.float32).copy()
    np.fill_diagonal(off, -np.inf)
    k = max(1, min(k, len(sims) - 1))
    top = -np.sort(-off, axis=1)[:, :k]
    return np.where(np.isfinite(top), top, 0.0)


def soft_seeds(enc: np.ndarray, plain: np.ndarray, top_k: int, temperature: float) -> np.ndarray:
    """Row-stochastic ``(n, m)`` guess of each encoded node's counterpart (its top similarities)."""
    k = min(top_k, len(enc) - 1, len(plain) - 1)
    d = cdist(top_similarities(enc, k), top_similarities(plain, k))
    std = d.std(axis=1, keepdims=True)
    d = (d - d.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1.0)
    logits = -d / temperature
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def _assign(scores: np.ndarray) -> np.ndarray:
    rows, cols = linear_sum_assignment(scores, maximize=True)
    match = np.full(scores.shape[0], -1, dtype=np.int64)
    match[rows] = cols
    return match


def seed_scores(a: np.ndarray, b: np.ndarray, match: np.ndarray) -> np.ndarray:
    """``S[i, x] = sum_j a[i, j] b[x, match[j]]`` over the matched ``j`` (the seeds)."""
    seeds = np.flatnonzero(match >= 0)
    return a[:, seeds] @ b[:, match[seeds]].T


def seed_and_extend(
    a: np.ndarray, b: np.ndarray, match: np.ndarray, max_rounds: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Re-match on seed profiles until stable; returns (match, last scores, rounds)."""
    tolerance = len(match) // 100
    before: np.ndarray | None = None
    rounds = 0
    scores = seed_scores(a, b, match)
    while rounds < max_rounds:
        rounds += 1
        new = _assign(scores)
        changed = int((new != match).sum())
        repeats = before is not None and np.array_equal(new, before)
        before, match = match, new
        scores = seed_scores(a, b, match)
        if changed <= tolerance or repeats:
            break
    return match, scores, rounds


def edge_consistency(enc: np.ndarray, plain: np.ndarray, match: np.ndarray, share: float) -> float:
    """Share of the strongest ``share`` of encoded pairs mapped onto strongest plaintext pairs."""
    if len(enc) < 2 or len(plain) < 2:
        return 0.0
    strong_e = enc >= np.quantile(_off_diagonal(enc), 1.0 - share)
    strong_p = plain >= np.quantile(_off_diagonal(plain), 1.0 - share)
    np.fill_diagonal(strong_e, False)
    np.fill_diagonal(strong_p, False)
    total = int(strong_e.sum())
    ok = np.flatnonzero(match >= 0)
    if total == 0 or len(ok) == 0:
        return 0.0
    kept = strong_e[np.ix_(ok, ok)] & strong_p[np.ix_(match[ok], match[ok])]
    return float(kept.sum()) / total


def graph_matching_attack(
    targets: np.ndarray,
    plaintext_tokens: np.ndarray,
    reference_bits: np.ndarray | None = None,
    *,
    starts: Sequence[tuple[int, float]] | None = None,
    sparse_share: float = 0.05,
    max_rounds: int = 60,
    consistency_share: float = 0.01,
    views: tuple[str, ...] = ("dense", "sparse"),
) -> GraphMatch:
    """Match attacked encodings (unpacked bits) to plaintext records; see the module docstring.

    ``plaintext_tokens``: the attacker's records as a 0/1 token matrix (used when
    ``reference_bits`` is None).  ``reference_bits``: the attacker's own
    encodings (unpacked bits) of the same records, in the same order, under a
    secret of its own and the public schema; the stronger attack.  The two
    sides may differ in size (the larger side then has unmatched nodes).
    """
    enc = dice_matrix(targets, targets)
    if reference_bits is not None:
        if len(reference_bits) != len(plaintext_tokens):
            raise ValueError("reference_bits must encode the plaintext records, one row each")
        plain = dice_matrix(reference_bits, reference_bits)
    else:
        plain = dice_matrix(plaintext_tokens, plaintext_tokens)
        enc = calibrate(enc, plain)
    return match_similarity_graphs(
        enc,
        plain,
        starts=starts,
        sparse_share=sparse_share,
        max_rounds=max_rounds,
        consistency_share=consistency_share,
        views=views,
    )


def match_similarity_graphs(
    enc: np.ndarray,
    plain: np.ndarray,
    *,
    starts: Sequence[tuple[int, float]] | None = None,
    sparse_share: float = 0.05,
    max_rounds: int = 60,
    consistency_share: float = 0.01,
    views: tuple[str, ...] = ("dense", "sparse"),
) -> GraphMatch:
    """Match the nodes of two similarity graphs on one scale (steps 2-5 of the module docstring)."""
    enc = np.array(enc, dtype=np.float32)
    plain = np.array(plain, dtype=np.float32)
    np.fill_diagonal(enc, 1.0)
    np.fill_diagonal(plain, 1.0)
    n = len(enc)
    if n == 0 or len(plain) == 0:
        return GraphMatch(np.full(n, -1, dtype=np.int64), np.full(n, np.inf))
    if starts is None:
        starts = DEFAULT_STARTS if n > SMALL_GRAPH else SMALL_GRAPH_STARTS
    viewed = {}
    for view in views:
        if view == "dense":
            viewed[view] = dense_view(enc), dense_view(plain)
        elif view == "sparse":
            viewed[view] = sparse_view(enc, sparse_share), sparse_view(plain, sparse_share)
        else:
            raise ValueError(f"unknown view {view!r}")
    best: GraphMatch | None = None
    for top_k, temperature in starts:
        prior = soft_seeds(enc, plain, top_k, temperature)
        for view, (a, b) in viewed.items():
            match = _assign(a @ (prior @ b.T))
            match, scores, rounds = seed_and_extend(a, b, match, max_rounds)
            cost = np.full(n, np.inf)
            ok = match >= 0
            cost[ok] = 1.0 - scores[np.flatnonzero(ok), match[ok]]
            consistency = edge_consistency(enc, plain, match, consistency_share)
            if best is None or consistency > best.consistency:
                best = GraphMatch(match, cost, view, rounds, consistency, (top_k, temperature))
    assert best is not None
    return best
