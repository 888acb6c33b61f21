"""Auto threshold: the valley between coincidences and matches."""

from __future__ import annotations

import numpy as np

from htlink.match.similarities import as_words
from htlink.match.threshold import choose_threshold, find_valley, valley_threshold


def test_valley_between_decaying_bulk_and_match_hump() -> None:
    rng = np.random.default_rng(3)
    noise = 0.5 + rng.exponential(0.03, 2_000_000)
    matches = rng.normal(0.93, 0.03, 3000)
    t = valley_threshold(np.concatenate([noise, matches]))
    assert 0.72 <= t <= 0.85


def test_choose_threshold_separates_planted_matches() -> None:
    rng = np.random.default_rng(5)
    a_bits = rng.random((400, 1024)) < 0.3
    b_bits = a_bits ^ (rng.random(a_bits.shape) < 0.05)  # every record has a noisy counterpart
    b_bits = np.concatenate([b_bits, rng.random((400, 1024)) < 0.3])
    words = [as_words(np.packbits(a_bits, axis=1)), as_words(np.packbits(b_bits, axis=1))]
    choice = choose_threshold(words)
    assert 0.6 <= choice.threshold <= 0.85
    assert choice.pairs_above >= 2 * 400 * 0.95  # both directions of every planted pair
    assert "valley" in choice.explanation


def _mixture(
    seed: int, bulk_at: float, bulk_scale: float, hump_at: float, hump_sd: float, matches: int
) -> np.ndarray:
    """Scores of 0.5 or more: a coincidental bulk decaying from ``bulk_at`` plus a match hump."""
    rng = np.random.default_rng(seed)
    noise = bulk_at + np.abs(rng.normal(0, bulk_scale, 20_000_000))
    hump = rng.normal(hump_at, hump_sd, matches)
    scores = np.concatenate([noise, hump, np.ones(100)])  # some identical encodings at 1
    return scores[(scores >= 0.5) & (scores <= 1)]


def test_valley_on_the_ordinary_scale() -> None:
    # bulk of random pairs below 0.5 whose tail reaches ~0.75, hump near 0.92
    scores = _mixture(1, 0.40, 0.08, 0.92, 0.03, 6000)
    valley = find_valley(scores)
    assert valley.bulk is not None and valley.hump is not None
    assert valley.bulk == 0.5 and 0.88 <= valley.hump <= 0.95
    assert 0.76 <= valley.threshold <= 0.85


def test_valley_on_the_compressed_scale_of_diffused_encodings() -> None:
    # random pairs ~0.5 (bulk over by ~0.58), hump at ~0.75 that dies out by 0.9;
    # the emptiest bin in the old fixed window 0.6-0.9 was at its top edge
    scores = _mixture(2, 0.50, 0.02, 0.76, 0.05, 4000)
    assert valley_threshold(scores, low=0.6, high=0.9) < 0.7
    valley = find_valley(scores)
    assert valley.hump is not None and 0.72 <= valley.hump <= 0.8
    assert 0.57 <= valley.threshold <= 0.66


def test_valley_floor_starts_where_the_bulk_ends() -> None:
    # a flat tail of matches between the bulk and the hump: the threshold is the floor's
    # low end (just above the bulk), not wherever noise makes the floor lowest
    rng = np.random.default_rng(4)
    bulk = 0.5 + np.abs(rng.normal(0, 0.025, 20_000_000))
    tail = rng.uniform(0.6, 0.72, 1200)  # ~100 pairs a bin
    hump = rng.normal(0.8, 0.04, 5000)
    valley = find_valley(np.concatenate([bulk, tail, hump]))
    assert 0.6 <= valley.threshold <= 0.65
    assert valley.threshold <= valley.bottom


def test_hump_larger_than_the_bulk_is_still_the_hump() -> None:
    # few coincidences reach 0.5, many matches: the bulk is the lower of the two big modes
    rng = np.random.default_rng(6)
    bulk = 0.45 + np.abs(rng.normal(0, 0.05, 2_000_000))
    hump = rng.normal(0.9, 0.04, 200_000)
    scores = np.concatenate([bulk, hump])
    valley = find_valley(scores[(scores >= 0.5) & (scores <= 1)])
    assert valley.bulk is not None and valley.bulk < 0.6
    assert 0.68 <= valley.threshold <= 0.8


def test_without_matches_the_threshold_is_past_the_bulk() -> None:
    rng = np.random.default_rng(7)
    scores = 0.5 + rng.exponential(0.03, 1_000_000)
    threshold = valley_threshold(scores)
    assert threshold >= 0.8 and (scores >= threshold).sum() < 10


def test_scores_of_matches_only_fall_back_to_the_fixed_window() -> None:
    rng = np.random.default_rng(9)
    valley = find_valley(rng.normal(0.92, 0.02, 5000))
    assert valley.bulk is None and valley.hump is None
    assert 0.6 <= valley.threshold <= 0.85


def test_explanation_says_how_the_window_was_found() -> None:
    rng = np.random.default_rng(8)
    a_bits = rng.random((300, 1024)) < 0.5
    b_bits = np.concatenate(
        [a_bits ^ (rng.random(a_bits.shape) < 0.15), rng.random((300, 1024)) < 0.5]
    )
    words = [as_words(np.packbits(a_bits, axis=1)), as_words(np.packbits(b_bits, axis=1))]
    choice = choose_threshold(words)
    assert "valley" in choice.explanation and "bulk" in choice.explanation
    assert f"{choice.pairs_above:,} pairs" in choice.explanation
