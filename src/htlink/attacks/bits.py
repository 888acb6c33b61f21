"""Bit matrices, Dice similarity in bulk, and how a re-identification is scored.

Encodings travel packed (``(n, ceil(l / 8))`` uint8, big-endian bit order as
everywhere in htlink); attacks work on unpacked ``(n, l)`` 0/1 matrices so that
co-occurrence and Dice become matrix products.

**Scoring.**  An attack makes at most one guess per attacked encoding: a
plaintext value (single-field attacks) or a plaintext record (whole-record
attacks), or no guess.  A guess is *correct* when its key equals the true
normalized key of the encoded record -- the value itself for a single field,
``given_name|surname|dob`` for a record (see :data:`RECORD_KEY_FEATURES`).
The *re-identification rate* is correct guesses / attacked encodings.  Equal
values are interchangeable, so two people both called "smith" re-identify
each other's surname; a wrong guess or no guess counts as not re-identified.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: The features whose values together make a record "re-identified".
RECORD_KEY_FEATURES = ("given_name", "surname", "dob")
#: Joins the parts of a record key (never occurs in normalized values).
KEY_SEPARATOR = "\x1f"


def unpack(packed: np.ndarray, length: int | None = None) -> np.ndarray:
    """``(n, l)`` uint8 0/1 matrix of packed encodings (``length`` bits, default all)."""
    bits = np.unpackbits(np.ascontiguousarray(packed, dtype=np.uint8), axis=1)
    return bits if length is None else bits[:, :length]


def pack(bits: np.ndarray) -> np.ndarray:
    """The inverse of :func:`unpack`."""
    return np.packbits(bits.astype(np.uint8), axis=1)


def dice_matrix(a: np.ndarray, b: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Dice similarity of every row of ``a`` with every row of ``b`` (unpacked 0/1 matrices).

    ``(len(a), len(b))`` float32; two empty rows have similarity 0.
    """
    fa = a.astype(np.float32)
    fb = b.astype(np.float32)
    ca = fa.sum(axis=1)
    cb = fb.sum(axis=1)
    out = np.empty((len(a), len(b)), dtype=np.float32)
    for start in range(0, len(a), chunk):
        inter = fa[start : start + chunk] @ fb.T
        denom = ca[start : start + chunk, None] + cb[None, :]
        out[start : start + chunk] = np.divide(
            2 * inter, denom, out=np.zeros_like(inter), where=denom > 0
        )
    return out


def record_keys(columns: dict[str, Sequence[str | None]]) -> np.ndarray:
    """The record key (``given_name|surname|dob``, missing as empty) of every record."""
    parts = [list(columns[f]) for f in RECORD_KEY_FEATURES]
    return np.array(
        [KEY_SEPARATOR.join(p or "" for p in row) for row in zip(*parts, strict=True)],
        dtype=object,
    )


@dataclass(frozen=True)
class Reidentification:
    """How many attacked encodings an attack re-identified, and what chance would give.

    ``chance``: the expected rate of a guess drawn uniformly from the attacker's
    plaintext list.  ``reachable``: share of targets whose true key occurs in that
    list at all (the ceiling for any attack that guesses from the list).
    """

    targets: int
    guessed: int
    correct: int
    chance: float
    reachable: float

    @property
    def rate(self) -> float:
        return self.correct / self.targets if self.targets else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {
            "targets": self.targets,
            "guessed": self.guessed,
            "correct": self.correct,
            "rate": round(self.rate, 5),
            "chance": round(self.chance, 5),
            "reachable": round(self.reachable, 5),
        }


def reidentification(
    true_keys: Sequence[str | None] | np.ndarray,
    guesses: Sequence[str | None] | np.ndarray,
    plaintext_keys: Sequence[str | None] | np.ndarray,
) -> Reidentification:
    """Score one guess per target (None: no guess) against the true keys.

    Targets whose true key is None (the value is missing, so there is nothing
    to re-identify) are left out.
    """
    true_arr = np.asarray(true_keys, dtype=object)
    guess_arr = np.asarray(guesses, dtype=object)
    if true_arr.shape != guess_arr.shape:
        raise ValueError("one guess per target is required")
    keep = np.array([t is not None for t in true_arr], dtype=bool)
    true_arr, guess_arr = true_arr[keep], guess_arr[keep]
    plain = [k for k in plaintext_keys if k is not None]
    counts = Counter(plain)
    n_plain = max(len(plain), 1)
    guessed = np.array([g is not None for g in guess_arr], dtype=bool)
    pairs = zip(true_arr, guess_arr, strict=True)
    correct = int(sum(1 for t, g in pairs if g is not None and g == t))
    n = len(true_arr)
    chance = float(np.mean([counts.get(t, 0) / n_plain for t in true_arr])) if n else 0.0
    reachable = float(np.mean([t in counts for t in true_arr])) if n else 0.0
    return Reidentification(
        targets=len(true_arr),
        guessed=int(guessed.sum()),
        correct=correct,
        chance=chance,
        reachable=reachable,
    )


def group_rows(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Identical rows of a 0/1 (or packed) matrix: ``(distinct rows, inverse, counts)``."""
    distinct, inverse, counts = np.unique(
        np.ascontiguousarray(bits), axis=0, return_inverse=True, return_counts=True
    )
    return distinct, inverse.reshape(-1), counts
