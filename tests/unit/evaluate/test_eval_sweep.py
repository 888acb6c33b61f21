"""Threshold sweep against a hand-computed case and brute force.

Hand case: five scored pairs (similarity, true match?) and 5 true pairs in all
(two of them never scored):

    0.9 T, 0.8 F, 0.8 T, 0.5 T, 0.3 F

    t      linked  correct  precision  recall  F1 = 2·correct / (linked + 5)
    0.0    5       3        0.6        0.6     6/10
    0.5    4       3        0.75       0.6     6/9   <- best over the distinct scores
    0.8    3       2        2/3        0.4     4/8
    0.85   1       1        1.0        0.2     2/6
    1.0    0       0        1.0 (none) 0.0     0
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htlink.evaluate.metrics import PairCounts
from htlink.evaluate.sweep import default_thresholds, threshold_sweep

SIM = [0.9, 0.8, 0.8, 0.5, 0.3]
MATCH = [True, False, True, True, False]


def test_sweep_hand_computed() -> None:
    s = threshold_sweep(SIM, MATCH, 5, thresholds=[0.0, 0.5, 0.8, 0.85, 1.0], bins=2)
    assert s.predicted_pairs.tolist() == [5, 4, 3, 1, 0]
    assert s.true_positives.tolist() == [3, 3, 2, 1, 0]
    assert s.precision == pytest.approx([0.6, 0.75, 2 / 3, 1.0, 1.0])
    assert s.recall == pytest.approx([0.6, 0.6, 0.4, 0.2, 0.0])
    assert s.f1 == pytest.approx([6 / 10, 6 / 9, 4 / 8, 2 / 6, 0.0])
    assert s.best_threshold == 0.5
    assert s.best == PairCounts(5, 4, 3)
    assert s.at(0.81) == PairCounts(5, 1, 1)
    assert s.at(-3) == PairCounts(5, 5, 3)
    assert (s.scored_pairs, s.scored_matches, s.max_recall) == (5, 3, 0.6)
    # bins over [0, 1]: [0, 0.5) and [0.5, 1]
    assert s.bin_edges.tolist() == [0.0, 0.5, 1.0]
    assert s.match_counts.tolist() == [0, 3]
    assert s.nonmatch_counts.tolist() == [1, 1]
    d = s.to_dict(chosen=0.8)
    assert d["best"]["threshold"] == 0.5 and d["best"]["f1"] == pytest.approx(6 / 9)
    assert d["chosen"]["predicted_pairs"] == 3 and d["chosen"]["recall"] == pytest.approx(0.4)
    assert len(d["table"]) == 5 and d["histogram"]["matches"] == [0, 3]


def test_ties_in_f1_pick_the_highest_threshold() -> None:
    # total 2: t=0.9 -> 2·1/(1+2) = 2/3; t=0.5 -> 2·2/(4+2) = 2/3
    s = threshold_sweep([0.9, 0.7, 0.6, 0.5], [True, False, False, True], 2)
    assert s.best_threshold == 0.9


def test_default_grid() -> None:
    assert default_thresholds(np.array([0.2, 0.7])).tolist() == pytest.approx(
        [i / 100 for i in range(101)]
    )
    grid = default_thresholds(np.array([-4.0, 12.0]))
    assert grid[0] == -4.0 and grid[-1] == 12.0 and len(grid) == 101


def test_refuses_inconsistent_input() -> None:
    with pytest.raises(ValueError, match="same length"):
        threshold_sweep([0.1, 0.2], [True], 1)
    with pytest.raises(ValueError, match="more scored matches"):
        threshold_sweep([0.1, 0.2], [True, True], 1)
    with pytest.raises(ValueError, match="finite"):
        threshold_sweep([float("nan")], [False], 0)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0]), st.booleans()),
        max_size=25,
    ),
    st.integers(0, 10),
)
def test_sweep_agrees_with_brute_force(pairs, unscored) -> None:
    sim = [p[0] for p in pairs]
    match = [p[1] for p in pairs]
    total = sum(match) + unscored
    s = threshold_sweep(sim, match, total)
    for t, pp, tp in zip(s.thresholds, s.predicted_pairs, s.true_positives, strict=True):
        assert pp == sum(x >= t for x in sim)
        assert tp == sum(x >= t and m for x, m in zip(sim, match, strict=True))
    if pairs:
        best_f1 = max(s.at(x).f1 for x in set(sim))
        assert s.best.f1 == pytest.approx(best_f1)
        assert s.best_threshold == max(x for x in set(sim) if s.at(x).f1 == pytest.approx(best_f1))
    assert s.match_counts.sum() == sum(match)
    assert s.nonmatch_counts.sum() == len(sim) - sum(match)
    assert np.all((s.precision >= 0) & (s.precision <= 1) & (s.recall <= 1))
