"""Pattern-mining attack in the style of Christen et al. (PAKDD 2017; TKDE 2019).

Christen, Ranbaduge, Vatsalan & Schnell, "Precise and fast cryptanalysis for
Bloom filter based privacy-preserving record linkage" (IEEE TKDE 2019) and
Christen, Schnell, Vatsalan & Ranbaduge, "Efficient cryptanalysis of Bloom
filters for PPRL" (PAKDD 2017).  The attacker knows the encoding settings (the
schema is public, so ``tokenize`` gives the encoder's own tokens) and holds a
plaintext list, but not the secret, and not which encoding belongs to which value:

1. **Frequency alignment (PAKDD 2017 variant, kept).**  Distinct encodings and
   distinct values are ranked by frequency; among the top ``n_align`` ranks, those
   whose count is at least ``min_count`` and *distinguishable* (no other encoding,
   and no other value, has the same count) are aligned rank by rank.  Aligned
   encodings keep their value; from the aligned pairs a position is a q-gram g's
   when it is set in (``1 - tolerance`` of) the aligned encodings whose value holds
   g (g in at least ``min_with`` of them) and in at most ``max_out`` of the others.
2. **Mining q-gram positions without alignment (TKDE 2019 idea, our version).**
   a. *Frequent itemsets that look like one q-gram.*  A q-gram's positions are set
      together in every encoding holding it, so the set of encodings having *all*
      of them keeps (nearly) the same size as positions are added.  From every bit
      position (set in at least ``min_support`` encodings) as a seed, the itemset
      grows greedily by the position keeping most encodings; the path is cut at
      the end of its first *plateau* -- at least ``mine_min_positions - 2``
      additions each losing at most ``step_tolerance`` of the support, followed by
      a steeper loss.  Near-duplicate itemsets (half their positions in one kept
      before) are dropped.  Positions set in (almost) every encoding are skipped.
   b. *Which itemset is which q-gram.*  On the encoding side: each itemset's
      support (encodings holding all its positions) and the joint supports of every
      two itemsets.  On the plaintext side: each frequent q-gram's count and the
      joint counts of every two q-grams (scaled to the number of encodings).  This
      is Christen et al.'s partitioning (a q-gram's frequency among values with /
      without an identified q-gram) used for all identified q-grams at once.  The
      start is the one-to-one assignment of the ``n_start`` most supported itemsets
      into the ``n_start + 2`` most frequent q-grams (or the reverse) with the
      lowest mean chi-square-like discrepancy ``(a - e)^2 / (a + e + 4)`` over
      supports and joint supports; then, one at a time, the free (itemset, q-gram)
      pair whose support and joint supports with every pair assigned so far agree
      best is assigned, while that mean discrepancy is at most ``max_cost``.
      Nothing is aligned here: only counts of the list and of the encodings.
3. **Reconstruction.**  An identified q-gram is *present* in an encoding when all
   its positions are set.  Every not-aligned encoding is compared with every value
   of the list on the identified q-grams (present where the value has the q-gram,
   absent where not); the candidate agreeing on most is the guess (ties: the more
   frequent value).
4. **Iteration** (``rounds`` times).  Encodings whose best candidate agrees on
   every identified q-gram and is the only one to do so are taken as pairs, with
   the aligned ones, and positions are learnt from them as in step 1
   (``learn_tolerance``, ``max_out``), for every q-gram in at least ``min_with`` of
   the pairs -- rare q-grams included; these replace mined positions of the same
   q-gram.  Step 3 is then repeated.

With ``mine=False`` the attack is the PAKDD 2017 variant alone (steps 1 and 3).

Limits.  Presence is "all positions set", so BLIP (random flips) and XOR folding
(collisions cancel bits) break plateaus and presence tests: this version learns
nothing there, nor across salts (per-record secrets).  On whole-record CLKs
(density about 40%) the background of other features' bits hides plateaus and
the version learns nothing either; it still runs (seconds).

Cost: itemset growth ``positions x encodings x positions`` per step (float32
products, batches of 256 seeds, at most 32 steps); the assignment is
``itemsets x q-grams`` per assigned pair; reconstruction is ``targets x
candidates x q-grams`` in one matrix product per round.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import permutations

import numpy as np

from htlink.attacks.bits import group_rows
from htlink.attacks.frequency import frequency_order, ranked_values


@dataclass
class MiningResult:
    guesses: np.ndarray  # one value (or None) per target
    aligned: int  # encodings aligned with values by frequency (step 1)
    identified: dict[str, np.ndarray] = field(default_factory=dict)  # q-gram -> positions
    mined: int = 0  # q-grams whose positions were mined without any alignment (step 2)
    confident: int = 0  # distinct encodings reconstructed with confidence (step 4)


def _vocabulary(
    values: Sequence[str], tokenize: Callable[[str], list[str]]
) -> tuple[list[str], np.ndarray]:
    """Distinct tokens of ``values`` and a ``(len(values), tokens)`` 0/1 membership matrix."""
    token_sets = [set(tokenize(v)) for v in values]
    vocab = sorted(set().union(*token_sets)) if token_sets else []
    index = {t: i for i, t in enumerate(vocab)}
    matrix = np.zeros((len(values), len(vocab)), dtype=np.uint8)
    for r, tokens in enumerate(token_sets):
        matrix[r, [index[t] for t in tokens]] = 1
    return vocab, matrix


def _unique_counts(counts: np.ndarray) -> np.ndarray:
    """The counts that occur exactly once in ``counts``."""
    values, times = np.unique(counts, return_counts=True)
    return values[times == 1]


def _learn_from_pairs(
    bits: np.ndarray,
    values: Sequence[str],
    tokenize: Callable[[str], list[str]],
    tolerance: float,
    min_with: int,
    max_out: float,
    min_positions: int,
) -> dict[str, np.ndarray]:
    """Positions of each q-gram from encodings paired with values (row i encodes values[i])."""
    k = len(values)
    if k < 2:
        return {}
    vocab, has = _vocabulary(values, tokenize)
    fbits = bits.astype(np.float32)  # (k, l)
    with_g = has.T.astype(np.float32)  # (tokens, k)
    n_with = with_g.sum(axis=1, keepdims=True)
    n_without = k - n_with
    share_in = (with_g @ fbits) / np.maximum(n_with, 1)
    share_out = ((1 - with_g) @ fbits) / np.maximum(n_without, 1)
    ok = (share_in >= 1 - tolerance - 1e-9) & (share_out <= max_out + 1e-9) & (n_with >= min_with)
    return {
        vocab[t]: np.flatnonzero(ok[t]) for t in range(len(vocab)) if ok[t].sum() >= min_positions
    }


def _itemsets(
    bits: np.ndarray,
    weights: np.ndarray,
    min_support: float,
    step_tol: float,
    min_positions: int,
    batch: int = 256,
    max_steps: int = 32,
) -> list[np.ndarray]:
    """Frequent itemsets of bit positions that behave like one q-gram's positions.

    Greedy growth from every position as a seed: add the position that keeps most
    encodings.  A q-gram's positions are set together, so once the positions
    set by other q-grams' collisions are gone the support reaches a *plateau*
    (each addition loses at most ``step_tol`` of it); the first addition losing
    more ends the itemset.  Itemsets that never reach a plateau of at least
    ``min_positions`` positions and ``min_support`` encodings are dropped, as are
    near-duplicates (half their positions in an itemset kept before).
    """
    n_r = float(weights.sum())
    col = weights @ bits
    usable = np.flatnonzero((col >= min_support) & (col < (1 - step_tol) * n_r))
    if len(usable) < min_positions:
        return []
    b = bits[:, usable]
    covered = np.zeros(len(usable), dtype=bool)
    found: list[np.ndarray] = []
    order = np.argsort(-col[usable], kind="stable")
    for start in range(0, len(order), batch):
        seeds = order[start : start + batch]
        seeds = seeds[~covered[seeds]]
        if not len(seeds):
            continue
        ar = np.arange(len(seeds))
        member = b[:, seeds].T.copy()
        path = np.zeros((len(seeds), max_steps + 1), dtype=np.int64)
        path[:, 0] = seeds
        hist = np.zeros((len(seeds), max_steps + 1))
        hist[:, 0] = member @ weights
        taken = np.zeros((len(seeds), len(usable)), dtype=bool)
        taken[ar, seeds] = True
        steps = 0
        for step in range(1, max_steps + 1):
            sup = (member * weights) @ b
            sup[taken] = -1
            best = sup.argmax(axis=1)
            path[:, step] = best
            hist[:, step] = sup[ar, best]
            taken[ar, best] = True
            member *= b[:, best].T
            steps = step
            if (hist[:, step] < min_support).all():
                break
        if steps < 2:
            continue
        # cut each path at the end of its first plateau: a run of flat additions
        # (each losing at most step_tol of the support) followed by a steeper one
        flat = hist[:, 1 : steps + 1] >= (1 - step_tol) * hist[:, :steps]
        run = np.zeros_like(flat, dtype=np.int64)
        for j in range(steps):
            run[:, j] = np.where(flat[:, j], (run[:, j - 1] if j else 0) + 1, 0)
        need = max(1, min_positions - 2)
        ends = ~flat[:, 1:] & (run[:, :-1] >= need) & (hist[:, 1:steps] >= min_support)
        has_end = ends.any(axis=1)
        cut = ends.argmax(axis=1) + 1  # the prefix path[: cut + 1] is the plateau
        for i in np.argsort(-hist[ar, cut], kind="stable"):
            if not has_end[i]:
                continue
            pos = path[i, : cut[i] + 1]
            if covered[pos].sum() * 2 >= len(pos):
                continue
            covered[pos] = True
            found.append(usable[np.sort(pos)])
    return found


def _mine(
    distinct: np.ndarray,
    weights: np.ndarray,
    values: list[str],
    value_counts: np.ndarray,
    tokenize: Callable[[str], list[str]],
    min_support: float,
    step_tol: float,
    max_grams: int,
    min_positions: int,
    max_cost: float,
    n_start: int = 5,
    max_share: float = 0.95,
) -> dict[str, np.ndarray]:
    """Frequent q-gram -> bit positions without alignment (see the module docstring)."""
    vocab, has = _vocabulary(values, tokenize)
    if not vocab:
        return {}
    vc = value_counts.astype(np.float64)
    n_val = float(vc.sum())
    w = weights.astype(np.float32)
    n_enc = float(w.sum())
    scale = n_enc / n_val
    cnt_all = vc @ has
    eligible = np.flatnonzero((cnt_all * scale >= min_support) & (cnt_all <= max_share * n_val))
    eligible = eligible[np.argsort(-cnt_all[eligible], kind="stable")][:max_grams]
    if not len(eligible):
        return {}
    sets = _itemsets(distinct.astype(np.float32), w, min_support, step_tol, min_positions)
    if not sets:
        return {}
    # encoding side: which encodings hold each itemset; supports and joint supports
    hold = np.stack([distinct[:, s].all(axis=1) for s in sets], axis=1).astype(np.float64)
    jenc = hold.T @ (hold * w[:, None].astype(np.float64))  # (itemsets, itemsets)
    # plaintext side: counts and joint counts of the candidate q-grams, on the encoding scale
    h = has[:, eligible].astype(np.float64)
    jval = (h.T @ (h * vc[:, None])) * scale  # (q-grams, q-grams)
    n_i, n_g = len(sets), len(eligible)

    def chi(a: np.ndarray, e: np.ndarray) -> np.ndarray:
        return (a - e) ** 2 / (a + e + 4.0)

    own = chi(np.diag(jenc)[:, None], np.diag(jval)[None, :])  # (itemsets, q-grams)
    # start: the best one-to-one assignment between the top itemsets and the top q-grams
    # (n_start of one side into n_start + 2 of the other: an itemset may be missing, or
    # spurious), judged on supports and joint supports
    by_support = np.argsort(-np.diag(jenc), kind="stable")
    best_cost, best_map = np.inf, None
    top_i = by_support[: n_start + 2].tolist()
    top_g = list(range(min(n_start + 2, n_g)))
    m = min(n_start, len(top_i), len(top_g))
    candidates = [(np.array(top_i[:m]), np.array(p)) for p in permutations(top_g, m)]
    candidates += [(np.array(p), np.arange(m)) for p in permutations(top_i, m)]
    for ii, gg in candidates:
        cost = chi(jenc[np.ix_(ii, ii)], jval[np.ix_(gg, gg)]).mean()
        if cost < best_cost:
            best_cost, best_map = cost, (ii, gg)
    if best_map is None or best_cost > max_cost:
        return {}
    assign_i = [int(i) for i in best_map[0]]
    assign_g = [int(g) for g in best_map[1]]
    # extend: the (itemset, q-gram) pair whose supports with every assigned pair agree best
    total = own.copy()
    for i, g in zip(assign_i, assign_g, strict=True):
        total += chi(jenc[:, i][:, None], jval[:, g][None, :])
    free_i = np.ones(n_i, dtype=bool)
    free_g = np.ones(n_g, dtype=bool)
    free_i[assign_i] = False
    free_g[assign_g] = False
    while free_i.any() and free_g.any():
        cost = total / (len(assign_i) + 1)
        cost[~free_i, :] = np.inf
        cost[:, ~free_g] = np.inf
        flat = int(np.argmin(cost))
        i, g = divmod(flat, n_g)
        if cost[i, g] > max_cost:
            break
        assign_i.append(i)
        assign_g.append(g)
        free_i[i] = False
        free_g[g] = False
        total += chi(jenc[:, i][:, None], jval[:, g][None, :])
    return {vocab[eligible[g]]: sets[i] for i, g in zip(assign_i, assign_g, strict=True)}


def _reconstruct(
    distinct: np.ndarray,
    rows: np.ndarray,
    identified: dict[str, np.ndarray],
    values: list[str],
    tokenize: Callable[[str], list[str]],
    tie_break: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Best candidate per row of ``distinct[rows]``, its agreement, the runner-up's, #q-grams."""
    grams = sorted(identified)
    present = np.empty((len(rows), len(grams)), dtype=np.float32)
    for j, g in enumerate(grams):
        present[:, j] = distinct[np.ix_(rows, identified[g])].all(axis=1)
    token_index = {g: j for j, g in enumerate(grams)}
    cand = np.zeros((len(values), len(grams)), dtype=np.float32)
    for c, v in enumerate(values):
        for t in set(tokenize(v)):
            j = token_index.get(t)
            if j is not None:
                cand[c, j] = 1
    best = np.zeros(len(rows), dtype=np.int64)
    top = np.zeros(len(rows), dtype=np.float32)
    second = np.zeros(len(rows), dtype=np.float32)
    for start in range(0, len(rows), 1024):
        p = present[start : start + 1024]
        agree = p @ cand.T + (1 - p) @ (1 - cand).T
        b = (agree + tie_break[None, :]).argmax(axis=1)
        best[start : start + 1024] = b
        top[start : start + 1024] = agree[np.arange(len(b)), b]
        if agree.shape[1] > 1:
            second[start : start + 1024] = np.partition(agree, -2, axis=1)[:, -2]
    return best, top, second, len(grams)


def pattern_mining_attack(
    targets: np.ndarray,
    plaintext_values: Sequence[str | None],
    tokenize: Callable[[str], list[str]],
    rng: np.random.Generator,
    n_align: int = 200,
    min_count: int = 2,
    tolerance: float = 0.0,
    min_with: int = 3,
    max_out: float = 0.5,
    min_positions: int = 2,
    *,
    mine: bool = True,
    min_support: float = 20.0,
    step_tolerance: float = 0.03,
    max_grams: int = 400,
    mine_min_positions: int = 4,
    max_cost: float = 2.0,
    rounds: int = 2,
    learn_tolerance: float = 0.05,
) -> MiningResult:
    """Guess a value per target encoding (unpacked 0/1 rows); see the module docstring."""
    distinct, inverse, counts = group_rows(targets)
    empty = ~distinct.any(axis=1)
    counts = np.where(empty, -1, counts)
    order = frequency_order(counts, rng)
    values, value_counts = ranked_values(plaintext_values, rng)
    guesses = np.full(len(distinct), None, dtype=object)
    if not values:
        return MiningResult(guesses[inverse], 0)

    # 1. alignment of frequent encodings and values whose frequency is distinguishable:
    #    a count shared by two encodings (or two values) says nothing about which is which
    top = min(n_align, len(values), len(order))
    enc_counts = counts[order[:top]]
    val_counts = value_counts[:top]
    enc_unique = np.isin(enc_counts, _unique_counts(counts))
    val_unique = np.isin(val_counts, _unique_counts(value_counts))
    keep = enc_unique & val_unique & (enc_counts >= min_count) & (val_counts >= min_count)
    aligned_rows = order[:top][keep]
    aligned_values = [v for v, k_ in zip(values[:top], keep, strict=True) if k_]
    k = len(aligned_rows)
    guesses[aligned_rows] = aligned_values
    identified = _learn_from_pairs(
        distinct[aligned_rows], aligned_values, tokenize, tolerance, min_with, max_out,
        min_positions,
    )  # fmt: skip

    # 2. q-gram positions mined from co-occurrence, without alignment
    mined: dict[str, np.ndarray] = {}
    if mine:
        live = np.flatnonzero(~empty)
        mined = _mine(
            distinct[live], counts[live].astype(np.float64), values, value_counts, tokenize,
            min_support, step_tolerance, max_grams, mine_min_positions, max_cost,
        )  # fmt: skip
        identified = {**mined, **identified}
    if not identified:
        return MiningResult(guesses[inverse], k)

    # 3. present/absent q-grams per distinct encoding, compared with every candidate value
    freq = Counter(v for v in plaintext_values if v is not None)
    tie_break = np.log1p(np.array([freq[v] for v in values], dtype=np.float32)) * 1e-3
    todo = np.flatnonzero((guesses == None) & ~empty)  # noqa: E711 - elementwise on objects
    n_conf = 0
    for round_ in range(rounds + 1):
        best, agree, second, n_grams = _reconstruct(
            distinct, todo, identified, values, tokenize, tie_break
        )
        guesses[todo] = [values[b] for b in best]
        if round_ == rounds or not mine:
            break
        # 4. confidently reconstructed encodings (perfect, unique) teach more positions
        conf = (agree >= n_grams - 0.5) & (second < agree - 0.5)
        n_conf = int(conf.sum())
        rows = np.concatenate([aligned_rows, todo[conf]])
        pair_values = aligned_values + [values[b] for b in best[conf]]
        learned = _learn_from_pairs(
            distinct[rows], pair_values, tokenize, learn_tolerance, min_with, max_out,
            mine_min_positions,
        )  # fmt: skip
        if not learned:
            break
        identified = {**identified, **learned}
    return MiningResult(guesses[inverse], k, identified, len(mined), n_conf)
