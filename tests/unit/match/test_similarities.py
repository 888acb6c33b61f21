"""The Dice kernel finds exactly the pairs the plain reference finds, with the same scores."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from htlink.match.similarities import (
    as_words,
    dice_pairs,
    dice_pairs_within,
    dice_reference,
    popcounts,
)


def random_clks(rng: np.random.Generator, n: int, nbytes: int, density: float) -> np.ndarray:
    return np.packbits(rng.random((n, nbytes * 8)) < density, axis=1)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 30),
    m=st.integers(0, 30),
    nbytes=st.sampled_from([1, 8, 13, 128]),
    threshold=st.sampled_from([0.0, 0.3, 0.5, 0.8, 0.95, 1.0]),
)
def test_kernel_equals_reference(seed: int, n: int, m: int, nbytes: int, threshold: float) -> None:
    rng = np.random.default_rng(seed)
    a = as_words(random_clks(rng, n, nbytes, rng.uniform(0.05, 0.6)))
    b = as_words(random_clks(rng, m, nbytes, rng.uniform(0.05, 0.6)))
    if n and m:  # near-duplicates so high thresholds have matches
        b[: min(n, m)] = a[: min(n, m)] ^ (rng.random(b[: min(n, m)].shape) < 0.01).astype(
            np.uint64
        )
    i, j, s, _ = dice_pairs(a, b, threshold)
    ref = dice_reference(a, b) if n and m else np.zeros((n, m))
    expected = {(int(x), int(y)) for x, y in zip(*np.nonzero(ref >= threshold), strict=True)}
    assert {(int(x), int(y)) for x, y in zip(i, j, strict=True)} == expected
    for x, y, score in zip(i, j, s, strict=True):
        assert score == ref[x, y]


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40), threshold=st.sampled_from([0.2, 0.6, 0.9])
)
def test_within_equals_reference_upper_triangle(seed: int, n: int, threshold: float) -> None:
    rng = np.random.default_rng(seed)
    words = as_words(random_clks(rng, n, 16, 0.3))
    if n > 3:
        words[n // 2] = words[0]
    i, j, _scores, _ = dice_pairs_within(words, threshold)
    ref = dice_reference(words, words) if n else np.zeros((0, 0))
    expected = {(x, y) for x in range(n) for y in range(x + 1, n) if ref[x, y] >= threshold}
    assert {(int(x), int(y)) for x, y in zip(i, j, strict=True)} == expected


def test_popcounts_and_empty_clks() -> None:
    words = as_words(np.array([[0] * 16, [255] * 16, [1] + [0] * 15], dtype=np.uint8))
    assert popcounts(words).tolist() == [0, 128, 1]
    i, j, s, _ = dice_pairs(words, words, 0.0)
    scores = dict(zip(zip(i.tolist(), j.tolist(), strict=True), s.tolist(), strict=True))
    assert scores[(0, 0)] == 0.0 and scores[(1, 1)] == 1.0 and scores[(2, 1)] == 2 / 129


def test_small_buffers_resume_and_give_the_same_pairs() -> None:
    from htlink.match.similarities import _all_pairs, popcounts

    rng = np.random.default_rng(9)
    a = as_words(random_clks(rng, 60, 16, 0.3))
    b = as_words(random_clks(rng, 50, 16, 0.3))
    pa, pb = popcounts(a), popcounts(b)
    order = np.argsort(pb, kind="stable")
    bs = np.ascontiguousarray(b[order])
    full = _all_pairs(a, pa, bs, pb[order], 0.3, False)
    small = _all_pairs(a, pa, bs, pb[order], 0.3, False, capacity=1)
    assert len(full[0]) > 100
    for x, y in zip(full, small, strict=True):
        assert np.array_equal(np.asarray(x), np.asarray(y))
