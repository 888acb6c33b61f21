"""Pattern-mining attack in the style of Christen et al. (PAKDD 2017; 2018).

Christen, Ranbaduge, Vatsalan & Schnell, "Precise and fast cryptanalysis for
Bloom filter based privacy-preserving record linkage" (IEEE TKDE 2018) and
"Efficient cryptanalysis of Bloom filters for PPRL" (PAKDD 2017).  The attacker
knows the encoding settings (the schema is public) but not the secret:

1. **Align frequent encodings with frequent values.**  Distinct encodings and
   distinct plaintext values are ranked by frequency; among the top ``n_align``
   ranks, those whose count is seen at least ``min_count`` times and is
   *distinguishable* (no other encoding, and no other value, has the same count)
   are aligned rank by rank (as in :mod:`htlink.attacks.frequency`).
2. **Find each q-gram's bit positions.**  For every q-gram g contained in at
   least ``min_with`` aligned values, a position is *g's* if it is set in (at
   least ``1 - tolerance`` of) the aligned encodings whose value contains g and
   in at most ``max_out`` of those whose value does not.  (A position of another
   q-gram is set in all of ``m`` encodings containing g only by collisions, with
   probability about density^m, so ``min_with`` of 3 leaves few false
   positions; ``max_out`` drops positions that nearly every encoding sets.)  A
   q-gram with fewer than ``min_positions`` such positions stays unidentified.
3. **Reconstruct every encoding.**  An identified q-gram is *present* in an
   encoding when all its positions are set.  Each attacked encoding is compared
   with every candidate value of the attacker's list on the identified q-grams
   (present where the value has the q-gram, absent where it has not); the
   candidate agreeing on most q-grams is the guess (ties: the more frequent
   value).  Aligned encodings keep their aligned value.

The q-grams are the schema's own tokens (``tokenize`` is given by the caller),
so the attack applies to a single-field encoding (values are field values) and
to CLKs (values are records, tokens of all features tagged with the feature).

Cost: ``targets x candidates x identified q-grams`` in one matrix product.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from htlink.attacks.bits import group_rows
from htlink.attacks.frequency import frequency_order, ranked_values


@dataclass
class MiningResult:
    guesses: np.ndarray  # one value (or None) per target
    aligned: int  # encodings aligned with values in step 1
    identified: dict[str, np.ndarray] = field(default_factory=dict)  # q-gram -> positions


def _vocabulary(values: Sequence[str], tokenize: Callable[[str], list[str]]) -> tuple[
    list[str], np.ndarray
]:
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
    if k < 2:
        return MiningResult(guesses[inverse], k)

    # 2. positions of each q-gram of the aligned values
    vocab, has = _vocabulary(aligned_values, tokenize)
    bits = distinct[aligned_rows].astype(np.float32)  # (k, l)
    with_g = has.T.astype(np.float32)  # (tokens, k)
    n_with = with_g.sum(axis=1, keepdims=True)
    n_without = k - n_with
    share_in = (with_g @ bits) / np.maximum(n_with, 1)
    share_out = ((1 - with_g) @ bits) / np.maximum(n_without, 1)
    ok = (share_in >= 1 - tolerance - 1e-9) & (share_out <= max_out + 1e-9) & (n_with >= min_with)
    identified = {
        vocab[t]: np.flatnonzero(ok[t]) for t in range(len(vocab)) if ok[t].sum() >= min_positions
    }
    if not identified:
        return MiningResult(guesses[inverse], k)

    # 3. present/absent q-grams per distinct encoding, compared with every candidate value
    grams = sorted(identified)
    present = np.empty((len(distinct), len(grams)), dtype=np.float32)
    for j, g in enumerate(grams):
        present[:, j] = distinct[:, identified[g]].all(axis=1)
    token_index = {g: j for j, g in enumerate(grams)}
    cand = np.zeros((len(values), len(grams)), dtype=np.float32)
    for c, v in enumerate(values):
        for t in set(tokenize(v)):
            j = token_index.get(t)
            if j is not None:
                cand[c, j] = 1
    freq = Counter(v for v in plaintext_values if v is not None)
    tie_break = np.log1p(np.array([freq[v] for v in values], dtype=np.float32)) * 1e-3
    todo = np.flatnonzero((guesses == None) & ~empty)  # noqa: E711 - elementwise on objects
    for start in range(0, len(todo), 1024):
        rows = todo[start : start + 1024]
        p = present[rows]
        agree = p @ cand.T + (1 - p) @ (1 - cand).T
        best = (agree + tie_break[None, :]).argmax(axis=1)
        guesses[rows] = [values[b] for b in best]
    return MiningResult(guesses[inverse], k, identified)
