"""Choosing a threshold from the data when the operator asks for ``auto``.

htlink scores a sample of each source's records against all other sources'
records and histograms every pair scoring 0.5 or more, in bins of 0.01 (pairs
scoring exactly 1, identical encodings, are left out: they sit at 1 on every
scale and say nothing about where the valley is).  Coincidental pairs form a
bulk that decays steeply as the score rises; pairs of the same person form a
second, flatter hump nearer 1.  Where the two sit depends on the encoding:
ordinary CLKs put the hump near 0.9, linear diffusion compresses the scale so
that random pairs score about 0.5 and the hump sits near 0.75.  So the window
is found from the data, on the log counts smoothed over five bins:

* the modes of the smoothed curve are ranked by prominence (how far one must
  descend from a mode before reaching higher ground); of the two most prominent,
  the lower-scoring one is the bulk;
* the hump is the first mode above the bulk that rises at least 0.2 above the
  valley before it (else the most prominent mode above the bulk);
* the bottom of the valley is the lowest point between the bulk and the hump,
  and the valley floor is every bin there within 0.2 of the bottom (about a
  fifth more pairs: no clearer difference than the noise of a few dozen pairs
  a bin).  The threshold is the floor's lowest score, where the bulk's steep
  decay ends: pairs on the floor are mostly the long tail of the matches.

When no mode stands above the bulk (no hump, or no bulk), the threshold is the
bin with the fewest pairs (smoothed) between 0.6 and 0.9.  The explanation gives
the counts on either side and how the window was found.

(Two simpler rules were tried and rejected on FEBRL4 and the synthetic
agencies: Otsu's split of each record's best score finds clean versus noisy
matches when nearly everyone has a match, and the spread of each record's
second-best score counts true repeat visits as coincidences.  The bottom of
the valley in a fixed window of 0.6 to 0.9, the earlier rule, picks 0.9 on
diffused encodings, whose hump dies out there.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htlink.match.similarities import dice_pairs

#: Histogram of the scores: bins of 0.01 from 0.5 to 1.
BINS, LOWEST = 50, 0.5
#: A mode must rise this far (smoothed log count) above the valley before it to be the hump.
HUMP_PROMINENCE = 0.2
#: Bins within this much (smoothed log count) of the bottom form the valley floor.
FLOOR_DEPTH = 0.2


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    pairs_above: int
    pairs_scored: int
    explanation: str


@dataclass(frozen=True)
class Valley:
    """Where the valley was found (scores are the low edges of 0.01 bins)."""

    threshold: float
    bottom: float
    bulk: float | None  # the coincidental bulk's mode; None when the fixed window was used
    hump: float | None  # the match hump's mode; None when the fixed window was used


def _smoothed_log_counts(counts: np.ndarray, smooth: int) -> np.ndarray:
    """Mean of log(1 + count) over ``smooth`` bins (fewer at the ends)."""
    logs = np.log1p(counts.astype(float))
    kernel = np.ones(smooth)
    return np.convolve(logs, kernel, mode="same") / np.convolve(np.ones_like(logs), kernel, "same")


def _modes(curve: np.ndarray) -> list[tuple[float, int]]:
    """The local maxima of ``curve`` (with pairs) as (prominence, index), most prominent first.

    A mode's prominence is how far one must descend from it to reach higher
    ground (on the sides where there is higher ground; for the highest mode,
    its height above the lowest point).
    """
    n = len(curve)
    found = []
    for i in range(n):
        left = curve[i - 1] if i > 0 else -np.inf
        right = curve[i + 1] if i < n - 1 else -np.inf
        if not (curve[i] > 0 and curve[i] > left and curve[i] >= right):
            continue
        cols = []
        higher = np.flatnonzero(curve[:i] > curve[i])
        if len(higher):
            cols.append(curve[higher[-1] + 1 : i + 1].min())
        higher = np.flatnonzero(curve[i + 1 :] > curve[i])
        if len(higher):
            cols.append(curve[i : i + 1 + higher[0]].min())
        found.append((float(curve[i] - (max(cols) if cols else curve.min())), i))
    return sorted(found, key=lambda m: (-m[0], m[1]))


def find_valley(scores: np.ndarray, low: float = 0.6, high: float = 0.9, smooth: int = 5) -> Valley:
    """The valley between the coincidental bulk and the match hump (see the module docstring).

    ``low`` and ``high`` bound the fixed window used when no hump stands above the bulk.
    """
    counts, edges = np.histogram(scores[scores < 1.0], bins=BINS, range=(LOWEST, 1.0))
    curve = _smoothed_log_counts(counts, smooth)
    modes = _modes(curve)
    if len(modes) >= 2:
        bulk = min(modes[0][1], modes[1][1])
        above = [(p, i) for p, i in modes if i > bulk]
        risen = sorted(i for p, i in above if p >= HUMP_PROMINENCE)
        hump = risen[0] if risen else above[0][1]
        bottom = bulk + int(np.argmin(curve[bulk : hump + 1]))
        on_floor = curve[bulk : bottom + 1] <= curve[bottom] + FLOOR_DEPTH
        start = bulk + int(np.flatnonzero(on_floor)[0])
        return Valley(
            round(float(edges[start]), 2),
            round(float(edges[bottom]), 2),
            round(float(edges[bulk]), 2),
            round(float(edges[hump]), 2),
        )
    # no hump above a bulk: the emptiest bin (smoothed as before) in the fixed window
    counts, edges = np.histogram(scores, bins=BINS, range=(LOWEST, 1.0))
    kernel = np.ones(smooth) / smooth
    smoothed = np.convolve(np.log1p(counts.astype(float)), kernel, mode="same")
    window = (edges[:-1] >= low - 1e-9) & (edges[:-1] <= high + 1e-9)
    candidates = np.flatnonzero(window)
    best = round(float(edges[candidates[np.argmin(smoothed[candidates])]]), 2)
    return Valley(best, best, None, None)


def valley_threshold(
    scores: np.ndarray, low: float = 0.6, high: float = 0.9, smooth: int = 5
) -> float:
    """The threshold at the valley in the histogram of ``scores`` (bins of 0.01 from 0.5 to 1)."""
    return find_valley(scores, low, high, smooth).threshold


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
    valley = find_valley(scores)
    threshold = valley.threshold
    above = int((scores >= threshold).sum())
    below = int(((scores >= threshold - 0.05) & (scores < threshold)).sum())
    if valley.bulk is not None:
        how = (
            f"the low end of the valley floor (within {FLOOR_DEPTH} in smoothed log count of "
            f"its bottom at {valley.bottom:.2f}) between the coincidental bulk peaking at "
            f"{valley.bulk:.2f} and the hump of matches peaking at {valley.hump:.2f}"
        )
    else:
        how = "the bottom of the valley between 0.6 and 0.9 (no hump found above the bulk)"
    explanation = (
        f"picked {threshold:.2f}, {how}, in the scores of {len(scores):,} sampled pairs "
        f"(0.5 or more): below it the coincidental pairs decay steeply ({below:,} pairs in the "
        f"0.05 below), above it {above:,} pairs form the hump of likely matches."
    )
    return ThresholdChoice(threshold, above, len(scores), explanation)
