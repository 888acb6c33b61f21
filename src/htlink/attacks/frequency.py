"""Frequency-alignment attack (Kuzu et al. 2011; Christen et al. 2017, "frequency analysis").

Identical values give identical encodings (without BLIP), so the attacker
counts how often each distinct encoding occurs, counts how often each distinct
value occurs in their plaintext list, sorts both by frequency and aligns them
rank by rank: the most frequent encoding is guessed to be the most frequent
value, and so on.  Ties in frequency are broken at random (the attacker cannot
tell equally frequent values apart), so values that occur once are re-identified
only by chance.  An all-zero encoding (a missing value in a single-field
encoding) gets no guess.

Applied to a single-field encoding (one feature alone, e.g. a surname -- what a
field-level encoding is) and to whole-record CLKs (where values are record
tuples: nearly all unique, so the attack is expected to fail).

Cost: sorting; any size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from htlink.attacks.bits import group_rows


def frequency_order(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices sorted by count, most frequent first, ties in random order."""
    noise = rng.permutation(len(counts))
    return np.lexsort((noise, -np.asarray(counts)))


def ranked_values(
    values: Sequence[str | None], rng: np.random.Generator
) -> tuple[list[str], np.ndarray]:
    """Distinct non-missing values, most frequent first (ties at random), and their counts."""
    counts = Counter(v for v in values if v is not None)
    names = sorted(counts)
    freq = np.array([counts[v] for v in names], dtype=np.int64)
    order = frequency_order(freq, rng)
    return [names[i] for i in order], freq[order]


def frequency_attack(
    targets: np.ndarray,
    plaintext_values: Sequence[str | None],
    rng: np.random.Generator,
    min_count: int = 1,
) -> np.ndarray:
    """One guessed value (or None) per target encoding (packed or unpacked rows).

    Only encodings occurring at least ``min_count`` times are aligned.
    """
    distinct, inverse, counts = group_rows(targets)
    empty = ~distinct.any(axis=1)
    counts = np.where(empty, -1, counts)  # never align the empty filter
    order = frequency_order(counts, rng)
    values, _ = ranked_values(plaintext_values, rng)
    guess_of_distinct = np.full(len(distinct), None, dtype=object)
    for rank, d in enumerate(order[: len(values)]):
        if counts[d] >= max(min_count, 1):
            guess_of_distinct[d] = values[rank]
    return guess_of_distinct[inverse]
