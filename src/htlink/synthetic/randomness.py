"""Seeded randomness: one independent stream per named stage of the generator.

Every stage draws from its own stream, derived from the seed and the stage's
name, so adding draws to one stage never shifts the numbers of another and
the same (scenario, seed) always gives the same files.
"""

from __future__ import annotations

import random
import zlib

import numpy as np


def stage_rng(seed: int, stage: str) -> np.random.Generator:
    """The numpy generator of one stage."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(stage.encode())]))


def stage_random(seed: int, stage: str) -> random.Random:
    """A :class:`random.Random` for one stage's per-value (string) work."""
    return random.Random(f"htlink-synth:{seed}:{stage}")  # noqa: S311 - test data, not secrets


def unique_integers(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """``n`` distinct integers in ``[low, high)``, in random order."""
    if n > high - low:
        raise ValueError("not enough distinct values in the range")
    if n == 0:
        return np.empty(0, dtype=np.int64)
    return rng.choice(high - low, size=n, replace=False).astype(np.int64) + low
