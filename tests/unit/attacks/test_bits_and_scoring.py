import numpy as np
import pytest

from htlink.attacks.bits import (
    dice_matrix,
    group_rows,
    pack,
    record_keys,
    reidentification,
    unpack,
)


def test_pack_round_trip() -> None:
    bits = (np.random.default_rng(0).random((5, 24)) < 0.5).astype(np.uint8)
    assert np.array_equal(unpack(pack(bits), 24), bits)


def test_dice_matrix_matches_definition() -> None:
    a = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], dtype=np.uint8)
    b = np.array([[1, 0, 1, 0], [1, 1, 0, 0]], dtype=np.uint8)
    d = dice_matrix(a, b)
    assert d[0, 0] == pytest.approx(0.5)
    assert d[0, 1] == pytest.approx(1.0)
    assert d[1, 0] == 0.0  # an empty row has similarity 0, not NaN


def test_scoring_counts_equal_values_and_ignores_missing() -> None:
    truth = ["smith", "smith", "lee", None]
    guesses = ["smith", "lee", None, "x"]
    plain = ["smith", "lee", "lee", "kim"]
    score = reidentification(truth, guesses, plain)
    assert score.targets == 3  # the missing value is not a target
    assert score.correct == 1
    assert score.guessed == 2
    assert score.rate == pytest.approx(1 / 3)
    # chance: a random pick from the list is "smith" 1/4, "lee" 2/4
    assert score.chance == pytest.approx((0.25 + 0.25 + 0.5) / 3)
    assert score.reachable == 1.0


def test_record_key_and_grouping() -> None:
    keys = record_keys({"given_name": ["ana", None], "surname": ["li", "li"], "dob": ["x", "y"]})
    assert keys[0].split("\x1f") == ["ana", "li", "x"]
    assert keys[1].split("\x1f") == ["", "li", "y"]
    rows = np.array([[1, 0], [0, 1], [1, 0]], dtype=np.uint8)
    distinct, inverse, counts = group_rows(rows)
    assert len(distinct) == 2 and sorted(counts.tolist()) == [1, 2]
    assert inverse[0] == inverse[2] != inverse[1]
