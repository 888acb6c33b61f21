"""Primary and complementary suppression, and the audit, against known answers and brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from tests.unit.release.conftest import table_from_counts

from htlink.release.audit import audit_cells
from htlink.release.hierarchies import NONE_HIERARCHY
from htlink.release.policy import SuppressionRules, TableDim, TableSpec
from htlink.release.suppression import (
    SuppressionError,
    build_system,
    line_rule,
    primary_suppression,
    protect,
)
from htlink.release.tables import build_table

RULES = SuppressionRules(threshold_min=1, threshold_max=2, protection_width=1.0)


def status_grid(system, t: int = 0) -> np.ndarray:
    return system.table_status(t).reshape(system.tables[t].shape)


def test_one_small_cell_gets_the_classic_rectangle() -> None:
    counts = np.array([[20, 3, 30], [25, 40, 35], [50, 45, 60]])
    system = build_system([table_from_counts("t", counts)])
    outcome = protect(system, SuppressionRules(threshold_min=1, threshold_max=10))
    grid = status_grid(system)
    suppressed = {tuple(int(i) for i in x) for x in np.argwhere(grid > 0)}
    assert suppressed == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert grid[0, 1] == 1 and grid[0, 0] == 2
    assert outcome.primary == 1 and outcome.complementary == 3
    # attacker: x01 in [0, 23] (row 0 has 23 between x00 and x01, column 1 has 43)
    audit = outcome.audit
    cell = int(system.cell_ids[0][np.ravel_multi_index((0, 1), grid.shape)])
    i = int(np.flatnonzero(audit.cells == cell)[0])
    assert (audit.lower[i], audit.upper[i]) == (0.0, 23.0)


def test_a_lone_suppressed_cell_is_disclosed_by_the_audit() -> None:
    system = build_system([table_from_counts("t", np.array([[5, 40], [30, 50]]))])
    primary_suppression(system, SuppressionRules(threshold_min=1, threshold_max=10))
    audit = audit_cells(
        system.equations, system.values, system.suppressed, system.required, system.integer
    )
    assert not audit.passed
    assert audit.lower[0] == audit.upper[0] == 5.0  # row total minus the other cell
    assert line_rule(system) == 3  # the rectangle


def test_protection_width_forces_a_wider_partner() -> None:
    counts = np.array([[4, 1, 30], [2, 40, 35], [50, 45, 60]])
    system = build_system([table_from_counts("t", counts)])
    outcome = protect(system, SuppressionRules(threshold_min=1, threshold_max=3,
                                               protection_width=8))  # fmt: skip
    assert outcome.audit.passed
    assert (outcome.audit.width >= 8).all()


def test_protection_not_reached_within_the_rounds_is_refused() -> None:
    system = build_system([table_from_counts("t", np.array([[5, 40], [30, 50]]))])
    with pytest.raises(SuppressionError, match="could not be protected"):
        # (hypercubes would reach any width by suppressing up to the grand total)
        protect(
            system,
            SuppressionRules(threshold_max=10, protection_width=100, max_rounds=0),
            hypercubes=False,
        )


def test_suppressing_the_grand_total_leaves_everything_unbounded() -> None:
    system = build_system([table_from_counts("t", np.array([[1, 1], [1, 1]]))])
    outcome = protect(system, SuppressionRules(threshold_max=3, protection_width=50))
    assert system.suppressed.all()
    assert np.isinf(outcome.audit.upper).all()


def test_linked_tables_share_their_margins() -> None:
    people = pd.DataFrame(
        {
            "county": ["a"] * 40 + ["b"] * 3 + ["c"] * 30,
            "year": (["y1", "y2"] * 40)[:73],
            "sex": (["f", "m", "m"] * 30)[:73],
        }
    )
    specs = [
        TableSpec("by_year", [TableDim("county", NONE_HIERARCHY, [0]),
                              TableDim("year", NONE_HIERARCHY, [0])]),
        TableSpec("by_sex", [TableDim("county", NONE_HIERARCHY, [0]),
                             TableDim("sex", NONE_HIERARCHY, [0])]),
    ]  # fmt: skip
    tables = [build_table(people, s) for s in specs]
    system = build_system(tables)
    # county b's total is one cell of both tables
    assert len(system.values) == tables[0].size + tables[1].size - 4
    protect(system, SuppressionRules(threshold_min=1, threshold_max=5))
    a = status_grid(system, 0)[1, -1]
    b = status_grid(system, 1)[1, -1]
    assert a == b == 1  # county b (3 people) is suppressed in both


def test_dominance_rule_on_a_magnitude_table() -> None:
    people = pd.DataFrame(
        {"g": ["a"] * 20 + ["b"] * 20 + ["c"] * 20,
         "cost": [1000] + [1] * 19 + [5] * 20 + [6] * 20}
    )  # fmt: skip
    table = build_table(
        people, TableSpec("t", [TableDim("g", NONE_HIERARCHY, [0])], measure="cost"), 1
    )
    system = build_system([table])
    primary_suppression(
        system, SuppressionRules(threshold_min=1, threshold_max=3, dominance_n=1, dominance_k=85)
    )
    assert system.primary.tolist() == [True, False, False, False]


def brute_force(system, shape: tuple[int, ...], cap: int) -> dict[int, set[int]]:
    """Every integer value each suppressed cell can take, by enumerating all interior tables.

    Interior cells range over 0..cap (published ones fixed); margins are computed
    from them; a table is possible when every published cell matches.
    """
    table = system.tables[0]
    ids = system.cell_ids[0].reshape(table.shape)
    interior = ids[tuple(slice(0, n) for n in shape)]
    free = [i for i in interior.ravel() if system.suppressed[i]]
    grids = np.meshgrid(*[np.arange(cap + 1)] * len(free), indexing="ij")
    cand = np.stack([g.ravel() for g in grids], axis=1) if free else np.zeros((1, 0), int)
    m = len(cand)
    full = np.zeros((m, *table.shape), dtype=np.int32)
    for pos in np.ndindex(*shape):
        gid = interior[pos]
        col = free.index(gid) if gid in free else None
        full[(slice(None), *pos)] = cand[:, col] if col is not None else system.values[gid]
    for d in range(len(shape)):  # margins, including subtotals of totals
        index = [slice(None)] * (len(shape) + 1)
        index[d + 1] = -1
        rest = [slice(None)] * (len(shape) + 1)
        rest[d + 1] = slice(0, shape[d])
        full[tuple(index)] = full[tuple(rest)].sum(axis=d + 1)
    flat = full.reshape(m, -1)
    published = ~system.suppressed[system.cell_ids[0]]
    ok = np.all(flat[:, published] == system.values[system.cell_ids[0][published]], axis=1)
    seen: dict[int, set[int]] = {}
    for j, gid in enumerate(system.cell_ids[0]):
        if system.suppressed[gid]:
            seen[int(gid)] = {int(v) for v in np.unique(flat[ok, j])}
    return seen


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=arrays(np.int64, st.sampled_from([(2, 2), (2, 3), (3, 2)]),
                     elements=st.integers(0, 4)))  # fmt: skip
def test_no_suppressed_cell_is_recoverable_brute_force(counts: np.ndarray) -> None:
    system = build_system([table_from_counts("t", counts)])
    try:
        outcome = protect(system, RULES)
    except SuppressionError:
        return  # refusing is always safe
    if not system.suppressed.any():
        return
    interior = system.cell_ids[0].reshape(system.tables[0].shape)[
        : counts.shape[0], : counts.shape[1]
    ]
    if system.suppressed[interior].sum() > 4:
        return  # too many to enumerate; the audit test below covers larger patterns
    total = int(counts.sum())
    grand = system.cell_ids[0][-1]
    # every interior cell is at most the grand total when it is published
    cap = total if not system.suppressed[grand] else total + 3
    feasible = brute_force(system, counts.shape, cap)
    audit = outcome.audit
    for c, lo, hi in zip(audit.cells, audit.lower, audit.upper, strict=True):
        values = feasible[int(c)]
        assert len(values) >= 2, "a suppressed cell is recoverable"
        # 2-D tables with totals: the LP bounds are exact (totally unimodular equations)
        # 2-D tables with totals: the LP bounds are exact (totally unimodular equations);
        # (with the grand total suppressed the enumeration stops at cap: hi is then larger)
        if not system.suppressed[grand]:
            assert (min(values), max(values)) == (lo, hi)
        else:
            assert max(values) <= hi
        assert system.values[c] in values


@settings(max_examples=20, deadline=None)
@given(counts=arrays(np.int64, st.sampled_from([(3, 3, 2), (4, 3), (2, 2, 2, 2)]),
                     elements=st.integers(0, 30)))  # fmt: skip
def test_audit_intervals_contain_the_truth_and_meet_the_range(counts: np.ndarray) -> None:
    system = build_system([table_from_counts("t", counts)])
    rules = SuppressionRules(threshold_min=1, threshold_max=5, protection_width=3)
    try:
        outcome = protect(system, rules)
    except SuppressionError:
        return
    a = outcome.audit
    truth = system.values[a.cells]
    assert ((a.lower <= truth + 1e-9) & (truth <= a.upper + 1e-9)).all()
    assert (a.width >= 3).all()
    assert set(a.cells.tolist()) == set(np.flatnonzero(system.suppressed).tolist())
    # every primary cell of the threshold rule is suppressed
    small = (system.values >= 1) & (system.values <= 5)
    assert system.suppressed[small].all()
    # no equation holds exactly one suppressed cell
    per_row = (system.equations != 0).astype(int) @ system.suppressed.astype(int)
    assert not (per_row == 1).any()


def test_small_grid_interval_matches_exhaustive_integer_search() -> None:
    counts = np.array([[1, 7], [6, 9]])
    system = build_system([table_from_counts("t", counts)])
    outcome = protect(system, RULES)
    exact = brute_force(system, counts.shape, 25)
    assert exact
    for c, lo, hi in zip(outcome.audit.cells, outcome.audit.lower, outcome.audit.upper,
                         strict=True):  # fmt: skip
        assert (min(exact[int(c)]), max(exact[int(c)])) == (lo, hi)
