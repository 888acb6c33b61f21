"""Hypercube complementary suppression and the certificate-first audit, against exact LPs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from tests.unit.release.conftest import table_from_counts

from htlink.release.audit import audit_cells, certificate_bounds
from htlink.release.hierarchies import NONE_HIERARCHY, build_hierarchy
from htlink.release.hypercube import Certificate, hypercube_suppression
from htlink.release.policy import SuppressionRules, TableDim, TableSpec
from htlink.release.suppression import (
    SuppressionError,
    _primary_order,
    build_system,
    primary_suppression,
    protect,
)
from htlink.release.tables import build_table

AGE, _ = build_hierarchy("age", {"type": "interval", "bands": [5, 10, 20], "top_code": 60})


def cubes_for(system, rules):
    primary_suppression(system, rules)
    return hypercube_suppression(
        system.tables, system.cell_ids, system.values, system.suppressed, system.required,
        system.equations, _primary_order(system),
    )  # fmt: skip


def exact(system):
    return audit_cells(system.equations, system.values, system.suppressed, system.required,
                       system.integer, exact=True)  # fmt: skip


def check_certificates(system, certificates) -> None:
    """Each certificate moves only suppressed cells, solves every equation, and its range
    lies inside the exact LP interval, with both ends attained by whole-number tables."""
    audit = exact(system)
    where = {int(c): i for i, c in enumerate(audit.cells)}
    lo, hi, used = certificate_bounds(certificates, system.equations, system.values,
                                      system.suppressed)  # fmt: skip
    assert used == len(certificates)
    for cert in certificates:
        assert system.suppressed[cert.cells].all()
        d = np.zeros(system.n_cells)
        d[cert.cells] = cert.signs
        assert not np.abs(system.equations @ d).any()
        m_plus = system.values[cert.cells[cert.signs > 0]].min(initial=np.inf)
        m_minus = system.values[cert.cells[cert.signs < 0]].min(initial=np.inf)
        for lam in (-m_plus, m_minus):
            if np.isfinite(lam):
                table = system.values + lam * d
                assert (table >= 0).all() and np.allclose(table, np.round(table))
    for c in np.flatnonzero(system.suppressed):
        i = where[int(c)]
        assert audit.lower[i] - 1e-9 <= lo[c] <= system.values[c] <= hi[c] <= audit.upper[i] + 1e-9


def test_a_hypercube_in_five_dimensions_proves_its_corners() -> None:
    rng = np.random.default_rng(4)
    counts = rng.poisson(9, size=(3, 3, 2, 3, 2))
    system = build_system([table_from_counts("t", counts)])
    out = cubes_for(system, SuppressionRules(threshold_min=1, threshold_max=5, protection_width=3))
    assert out.certificates and out.unproven == 0
    assert {len(c.cells) for c in out.certificates} == {32}  # 2**5 corners each
    check_certificates(system, out.certificates)
    lo, hi, _ = certificate_bounds(out.certificates, system.equations, system.values,
                                   system.suppressed)  # fmt: skip
    assert (hi - lo)[system.suppressed].min() >= 3


def test_hierarchical_axis_certificates_follow_the_paths() -> None:
    rng = np.random.default_rng(2)
    people = pd.DataFrame({"age": rng.integers(0, 60, 300).astype(str),
                           "g": rng.choice(list("abc"), 300)})  # fmt: skip
    spec = TableSpec("t", [TableDim("age", AGE, [0, 1, 2]), TableDim("g", NONE_HIERARCHY, [0])])
    system = build_system([build_table(people, spec)])
    rules = SuppressionRules(threshold_min=1, threshold_max=4, protection_width=2)
    out = cubes_for(system, rules)
    assert out.certificates
    check_certificates(system, out.certificates)


def test_a_wrong_certificate_is_not_trusted() -> None:
    counts = np.array([[1, 7, 3], [6, 9, 4]])
    system = build_system([table_from_counts("t", counts)])
    out = cubes_for(system, SuppressionRules(threshold_min=1, threshold_max=2))
    good = out.certificates[0]
    flipped = Certificate(good.cells, np.r_[-good.signs[:1], good.signs[1:]])
    published = Certificate(np.r_[good.cells[:-1], np.flatnonzero(~system.suppressed)[:1]],
                            good.signs)  # fmt: skip
    for bad in (flipped, published):
        lo, hi, used = certificate_bounds([bad], system.equations, system.values,
                                          system.suppressed)  # fmt: skip
        assert used == 0 and (lo == system.values).all() and (hi == system.values).all()


def test_linked_tables_avoid_moving_a_shared_margin() -> None:
    rng = np.random.default_rng(7)
    people = pd.DataFrame({"county": rng.choice(list("abcd"), 200, p=[0.5, 0.3, 0.15, 0.05]),
                           "year": rng.choice(["y1", "y2", "y3"], 200),
                           "sex": rng.choice(["f", "m"], 200)})  # fmt: skip
    specs = [TableSpec("by_year", [TableDim("county", NONE_HIERARCHY, [0]),
                                   TableDim("year", NONE_HIERARCHY, [0])]),
             TableSpec("by_sex", [TableDim("county", NONE_HIERARCHY, [0]),
                                  TableDim("sex", NONE_HIERARCHY, [0])])]  # fmt: skip
    system = build_system([build_table(people, s) for s in specs])
    rules = SuppressionRules(threshold_min=1, threshold_max=6, protection_width=2)
    out = cubes_for(system, rules)
    check_certificates(system, out.certificates)
    system = build_system([build_table(people, s) for s in specs])
    outcome = protect(system, rules, exact_intervals=False)
    assert outcome.audit.passed and exact(system).passed


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=arrays(np.int64, st.sampled_from([(3, 3, 2), (2, 2, 2, 2), (4, 2, 2)]),
                     elements=st.integers(0, 12)),
       width=st.sampled_from([1.0, 3.0]))  # fmt: skip
def test_certificate_first_audit_decides_like_the_exact_one(counts, width) -> None:
    system = build_system([table_from_counts("t", counts)])
    rules = SuppressionRules(threshold_min=1, threshold_max=4, protection_width=width)
    try:
        outcome = protect(system, rules, exact_intervals=False)
    except SuppressionError:
        return
    fast, full = outcome.audit, exact(system)
    assert np.array_equal(fast.cells, full.cells)
    assert fast.passed and full.passed
    # a witnessed interval is inside the exact one and contains the truth
    truth = system.values[fast.cells]
    assert (full.lower <= fast.lower + 1e-9).all() and (fast.upper <= full.upper + 1e-9).all()
    assert ((fast.lower <= truth) & (truth <= fast.upper)).all()
