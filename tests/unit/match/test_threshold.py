"""Auto threshold: the valley between coincidences and matches."""

from __future__ import annotations

import numpy as np

from htlink.match.similarities import as_words
from htlink.match.threshold import choose_threshold, valley_threshold


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
