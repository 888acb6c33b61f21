"""Tokenizers: how a value becomes the set of strings that are hashed into the filter.

* ``ngram``: the value padded with ``n - 1`` spaces on each side, cut into
  overlapping n-grams; *positional* n-grams are prefixed with their 1-based
  position and a space (``"1  c"``), so the same letters at another place differ.
* ``exact``: the whole value is one token.
* ``numeric``: the value's neighbourhood on a grid (Vatsalan & Christen 2015), so
  numbers less than ``thresholdDistance`` apart share tokens.

All three reproduce clkhash 0.18.3's tokens exactly; an empty value has no tokens.
"""

from __future__ import annotations

import numpy as np

from htlink.schema.model import Comparison


def ngrams(word: str, n: int, positional: bool) -> list[str]:
    if not word:
        return []
    if n > 1:
        pad = " " * (n - 1)
        word = pad + word + pad
    count = len(word) - n + 1
    if positional:
        return [f"{i + 1} {word[i : i + n]}" for i in range(count)]
    return [word[i : i + n] for i in range(count)]


def numeric_tokens(word: str, comparison: Comparison) -> list[str]:
    if not word:
        return []
    precision = comparison.fractional_precision
    interval = round(comparison.threshold_distance * 10**precision)
    resolution = comparison.resolution
    try:
        value = int(word, 10)
        if precision > 0:
            value *= 10**precision
    except ValueError:
        as_float = float(word)
        value = round(as_float * 10**precision) if precision > 0 else int(as_float)
    value = value * 2 * resolution
    residue = value % interval
    if residue:
        value = value - residue if residue < interval / 2 else value + (interval - residue)
    return [str(value + i * interval) for i in range(-resolution, resolution + 1)]


def tokenize(comparison: Comparison, word: str) -> list[str]:
    if comparison.type == "ngram":
        return ngrams(word, comparison.n, comparison.positional)
    if comparison.type == "exact":
        return [word] if word else []
    return numeric_tokens(word, comparison)


_CP_BITS = 21  # every Unicode code point fits in 21 bits


def ngram_keys_supported(n: int, positional: bool) -> bool:
    """Whether :func:`ngram_keys` can pack this n-gram kind into int64 keys."""
    return n * _CP_BITS + (8 if positional else 0) <= 63


def ngram_keys(
    texts: list[str], n: int, positional: bool, block_cells: int = 4_000_000
) -> tuple[np.ndarray, np.ndarray] | None:
    """Vectorized :func:`ngrams` for many values at once.

    Returns ``(counts, keys)``: the number of n-grams of each text, and every
    n-gram of every text in order (text by text, left to right) as an int64 key
    packing its code points (and its 1-based position in the top bits when
    positional).  Returns None when a text is too long for a positional key or
    contains NUL; the caller then tokenizes one value at a time.  Work is done in
    blocks of rows so that one very long value cannot blow up memory.
    """
    if not texts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    rows_per_block = max(1, block_cells // (int(lengths.max()) + 2 * n))
    all_counts: list[np.ndarray] = []
    all_keys: list[np.ndarray] = []
    for start in range(0, len(texts), rows_per_block):
        block = _ngram_keys_block(texts[start : start + rows_per_block], n, positional)
        if block is None:
            return None
        all_counts.append(block[0])
        all_keys.append(block[1])
    return np.concatenate(all_counts), np.concatenate(all_keys)


def _ngram_keys_block(
    texts: list[str], n: int, positional: bool
) -> tuple[np.ndarray, np.ndarray] | None:
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    longest = int(lengths.max())
    if longest == 0:
        return np.zeros(len(texts), np.int64), np.zeros(0, np.int64)
    if positional and longest + n > 255:
        return None
    chars = np.array(texts, dtype=f"<U{longest}").view(np.uint32).reshape(len(texts), longest)
    width = longest + 2 * (n - 1)
    padded = np.full((len(texts), width), 32, dtype=np.int64)
    padded[:, n - 1 : n - 1 + longest] = chars
    inside = np.arange(width)[None, :] < (lengths + n - 1)[:, None]
    # characters past each text's end read as padding spaces (only the first n-1 matter)
    padded[~inside] = 32
    if (padded == 0).any():
        return None
    grams = width - n + 1
    keys = np.zeros((len(texts), grams), dtype=np.int64)
    for j in range(n):
        keys = (keys << _CP_BITS) | padded[:, j : j + grams]
    if positional:
        keys |= (np.arange(1, grams + 1, dtype=np.int64) << (_CP_BITS * n))[None, :]
    counts = np.where(lengths > 0, lengths + n - 1, 0)
    valid = np.arange(grams)[None, :] < counts[:, None]
    return counts, keys[valid]


def key_to_token(key: int, n: int, positional: bool) -> str:
    """The n-gram string packed in ``key`` by :func:`ngram_keys`."""
    mask = (1 << _CP_BITS) - 1
    gram = "".join(chr((key >> (_CP_BITS * (n - 1 - j))) & mask) for j in range(n))
    if positional:
        return f"{key >> (_CP_BITS * n)} {gram}"
    return gram
