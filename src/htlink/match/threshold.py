"""Choosing a threshold from the data when the operator asks for ``auto``.

htlink scores a sample of each source's records against all other sources'
records and histograms every pair scoring 0.5 or more.  Coincidental pairs form
a bulk that decays steeply as the score rises; pairs of the same person form a
second, flatter hump near 1.  The threshold is the bottom of the valley between
them: the 0.01-wide bin with the fewest pairs (after smoothing over five bins)
between 0.6 and 0.9.  The explanation gives the counts on either side.

(Two simpler rules were tried and rejected on FEBRL4 and the synthetic
agencies: Otsu's split of each record's best score finds clean versus noisy
matches when nearly everyone has a match, and the spread of each record's
second-best score counts true repeat visits as coincidences.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htlink.match.similarities import dice_pairs


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    pairs_above: int
    pairs_scored: int
    explanation: str


def valley_threshold(
    scores: np.ndarray, low: float = 0.6, high: float = 0.9, smooth: int = 5
) -> float:
    """The bottom of the valley in the histogram of ``scores`` (bins of 0.01 from 0.5 to 1)."""
    counts, edges = np.histogram(scores, bins=50, range=(0.5, 1.0))
    kernel = np.ones(smooth) / smooth
    smoothed = np.convolve(np.log1p(counts.astype(float)), kernel, mode="same")
    window = (edges[:-1] >= low - 1e-9) & (edges[:-1] <= high + 1e-9)
    candidates = np.flatnonzero(window)
    best = candidates[np.argmin(smoothed[candidates])]
    return round(float(edges[best]), 2)


def choose_threshold(words: list[np.ndarray], sample: int = 2000, seed: int = 0) -> ThresholdChoice:
    """Pick a threshold from the score histogram of a sample of each source against the others."""
    rng = np.random.default_rng(seed)
    scored = []
    for s, own in enumerate(words):
        if not len(own):
            continue
        rows = np.ascontiguousarray(
            own[rng.choice(len(own), size=min(sample, len(own)), replace=False)]
        )
        for t, other in enumerate(words):
            if t != s and len(other):
                scored.append(dice_pairs(rows, other, 0.5)[2])
    scores = np.concatenate(scored) if scored else np.zeros(0)
    if not len(scores):
        return ThresholdChoice(0.8, 0, 0, "picked 0.80: no pair scored 0.5 or more in the sample.")
    threshold = valley_threshold(scores)
    above = int((scores >= threshold).sum())
    explanation = (
        f"picked {threshold:.2f}, the bottom of the valley in the scores of {len(scores):,} "
        f"sampled pairs (0.5 or more): below it the coincidental pairs decay steeply "
        f"({int(((scores >= threshold - 0.05) & (scores < threshold)).sum()):,} pairs in the "
        f"0.05 below), above it {above:,} pairs form the hump of likely matches."
    )
    return ThresholdChoice(threshold, above, len(scores), explanation)
