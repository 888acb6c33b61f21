"""The threshold grid of the bench's best-F1 sweep."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from htlink.attacks.linkage import SWEEP_STEP, sweep_thresholds


@given(st.floats(0.3, 0.99), st.floats(0.0, 0.9))
def test_grid_is_regular_within_bounds_and_above_the_floor(center: float, floor: float) -> None:
    grid = sweep_thresholds(center, floor)
    if len(grid) == 0:
        return
    assert np.all(grid > floor)
    assert np.all((grid > 0) & (grid <= 1.0))
    assert np.allclose(np.diff(grid), SWEEP_STEP)
    assert grid[-1] <= center + 0.1 + 1e-9


def test_grid_contains_the_center_when_the_floor_is_low() -> None:
    grid = sweep_thresholds(0.8, floor=0.4)
    assert np.isclose(grid, 0.8).any()
    assert np.isclose(grid[0], 0.5) and np.isclose(grid[-1], 0.9)


def test_floor_cuts_the_low_end() -> None:
    grid = sweep_thresholds(0.8, floor=0.655)
    assert np.isclose(grid[0], 0.66)
