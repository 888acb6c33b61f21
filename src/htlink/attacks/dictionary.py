"""Dictionary attack: encode every candidate of the attacker's list and compare.

The attacker encodes each plaintext record of their list with the schema and
a secret, and guesses for every attacked encoding the candidate with the
highest Dice similarity (identical encodings score 1).  With the *known*
secret this is the attack every agency (and anyone the secret leaks to) can
run: it must re-identify nearly every record whose values are in the list, or
the bench is broken.  With an *unknown* secret the attacker must guess one;
keyed hashing (HKDF -> keyed BLAKE2b) makes the guessed secret's bit positions
unrelated to the real ones, so the best-Dice guess should be no better than
picking a candidate at random.

Cost: one ``targets x candidates`` Dice matrix (a float32 matrix product).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htlink.attacks.bits import dice_matrix


@dataclass
class DictionaryGuess:
    best: np.ndarray  # index into the candidates, per target
    score: np.ndarray  # its Dice similarity


def dictionary_attack(targets: np.ndarray, candidates: np.ndarray) -> DictionaryGuess:
    """For every target (unpacked bits) the candidate encoding (unpacked bits) most like it."""
    if not len(candidates):
        raise ValueError("the attacker's list is empty")
    best = np.empty(len(targets), dtype=np.int64)
    score = np.empty(len(targets), dtype=np.float32)
    for start in range(0, len(targets), 1024):
        sims = dice_matrix(targets[start : start + 1024], candidates)
        best[start : start + 1024] = sims.argmax(axis=1)
        score[start : start + 1024] = sims.max(axis=1)
    return DictionaryGuess(best=best, score=score)
