import numpy as np

from htlink.attacks.pattern_mining import pattern_mining_attack

WIDTH = 64
# four q-grams (letters here), four positions each, no collisions
POSITIONS = {c: np.arange(4) + 10 * i for i, c in enumerate("abcd")}


def _encode(value: str) -> np.ndarray:
    row = np.zeros(WIDTH, dtype=np.uint8)
    for c in value:
        row[POSITIONS[c]] = 1
    return row


def test_rare_value_is_reconstructed_from_qgram_positions() -> None:
    # frequent values with distinguishable counts teach the attacker where each letter's bits are
    counts = {"ab": 9, "ac": 8, "bc": 7, "abd": 6, "bd": 5, "cd": 4, "ad": 3}
    encoded = [v for v, n in counts.items() for _ in range(n)] + ["bcd"]
    plaintext = [*encoded[:-1], "bcd", "acd"]  # the rare values appear once each in the list
    targets = np.stack([_encode(v) for v in encoded])
    result = pattern_mining_attack(targets, plaintext, list, np.random.default_rng(0))
    assert result.aligned == len(counts)
    assert set(result.identified) == set("abcd")
    for c, pos in result.identified.items():
        assert set(pos.tolist()) == set(POSITIONS[c].tolist())
    assert list(result.guesses) == encoded  # "bcd" (count 1, never aligned) reconstructed


def test_without_distinguishable_frequencies_nothing_is_learnt() -> None:
    encoded = ["ab", "ac", "bc", "bd", "cd", "ad"]  # all once
    targets = np.stack([_encode(v) for v in encoded])
    result = pattern_mining_attack(targets, encoded, list, np.random.default_rng(0))
    assert result.aligned == 0 and not result.identified
    assert all(g is None for g in result.guesses)
