import numpy as np

from htlink.attacks.bits import reidentification
from htlink.attacks.frequency import frequency_attack


def _encodings(values: list[str | None], width: int = 64) -> np.ndarray:
    """A random distinct bit pattern per value (an unknown keyed encoding), empty for None."""
    rng = np.random.default_rng(42)
    pattern = {v: (rng.random(width) < 0.3).astype(np.uint8) for v in set(values) if v}
    return np.stack([pattern[v] if v else np.zeros(width, np.uint8) for v in values])


def test_distinct_frequencies_are_aligned_exactly() -> None:
    values = ["smith"] * 5 + ["lee"] * 3 + ["kim"] * 2 + ["ng"] + [None]
    guesses = frequency_attack(_encodings(values), values, np.random.default_rng(0))
    assert list(guesses[:11]) == values[:11]
    assert guesses[11] is None  # the empty filter is not guessed
    assert reidentification(values, guesses, values).rate == 1.0


def test_tied_frequencies_are_a_coin_toss() -> None:
    values = [f"name{i}" for i in range(200)]  # every value once: nothing to align
    rates = [
        reidentification(
            values, frequency_attack(_encodings(values), values, np.random.default_rng(s)), values
        ).rate
        for s in range(5)
    ]
    assert np.mean(rates) < 0.05


def test_min_count_leaves_rare_encodings_unguessed() -> None:
    values = ["a"] * 4 + ["b"] * 2 + ["c"]
    guesses = frequency_attack(_encodings(values), values, np.random.default_rng(0), min_count=2)
    assert list(guesses) == ["a"] * 4 + ["b"] * 2 + [None]
