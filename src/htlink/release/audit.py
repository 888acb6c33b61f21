"""The disclosure audit: what an attacker can learn about every suppressed cell.

The attacker knows every published cell, the additive equations of the tables
(each subtotal and total is the sum of its parts, across all tables that share
cells), and that counts and sums are non-negative.  For each suppressed cell
``x_i`` the audit solves two linear programmes over the suppressed cells::

    min / max  x_i   subject to   A_S x = b - A_P v_P ,   x >= 0

with HiGHS (dual simplex, the model built once per connected group of
suppressed cells and re-solved warm for each objective; through SciPy's bundled
HiGHS, or ``scipy.optimize.linprog(method="highs")`` when that interface is not
available).  For count cells the bounds are then rounded inward to whole
numbers (``ceil(min)``, ``floor(max)``): the attacker knows counts are integers.
The cell is protected when ``max - min`` reaches the required width
(``suppression.protection``).  ``audit.json`` lists the intervals -- which the
attacker can compute anyway -- and never the true values of suppressed cells.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

try:  # SciPy's bundled HiGHS with a warm-startable model object
    from scipy.optimize._highspy import _core as _highs
except ImportError:  # pragma: no cover - older or different SciPy builds
    _highs = None

_EPS = 1e-6


@dataclass
class AuditResult:
    """Intervals of every suppressed cell (global cell ids), and whether all are protected."""

    cells: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    required: np.ndarray
    components: int
    largest_component: int
    lp_solved: int
    seconds: float
    solver: str
    witnessed: int = 0

    @property
    def width(self) -> np.ndarray:
        return self.upper - self.lower

    @property
    def protected(self) -> np.ndarray:
        return self.width + 1e-9 >= self.required

    @property
    def passed(self) -> bool:
        return bool(self.protected.all())

    @property
    def failing(self) -> np.ndarray:
        return self.cells[~self.protected]


class _Model:
    """One connected group of suppressed cells: min and max of each variable."""

    def __init__(self, a: sparse.csc_matrix, rhs: np.ndarray) -> None:
        self.n = a.shape[1]
        self.a = a
        self.rhs = rhs
        self.h = None
        if _highs is not None:
            h = _highs._Highs()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("solver", "simplex")
            lp = _highs.HighsLp()
            lp.num_col_ = self.n
            lp.num_row_ = a.shape[0]
            lp.col_cost_ = np.zeros(self.n)
            lp.col_lower_ = np.zeros(self.n)
            lp.col_upper_ = np.full(self.n, _highs.kHighsInf)
            lp.row_lower_ = rhs.astype(float)
            lp.row_upper_ = rhs.astype(float)
            lp.a_matrix_.format_ = _highs.MatrixFormat.kColwise
            lp.a_matrix_.start_ = a.indptr.astype(np.int32)
            lp.a_matrix_.index_ = a.indices.astype(np.int32)
            lp.a_matrix_.value_ = a.data.astype(float)
            lp.a_matrix_.num_col_ = self.n
            lp.a_matrix_.num_row_ = a.shape[0]
            h.passModel(lp)
            self.h = h
            self._last = -1
            self._warm = False

    def _run(self) -> None:
        """The first solve with presolve and dual simplex; then, since only the objective
        changes, the last optimal basis stays primal feasible and primal simplex without
        presolve restarts from it."""
        h = self.h
        assert h is not None
        h.run()
        if not self._warm:
            h.setOptionValue("presolve", "off")
            h.setOptionValue("simplex_strategy", 4)
            self._warm = True

    def solve_vector(self, cost: np.ndarray) -> np.ndarray | None:
        """A vertex minimizing ``cost`` (None when unbounded); HiGHS only."""
        h = self.h
        assert h is not None
        h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), cost.astype(float))
        self._last = -1
        self._run()
        if h.getModelStatus() != _highs.HighsModelStatus.kOptimal:
            h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), np.zeros(self.n))
            return None
        x = np.asarray(h.getSolution().col_value, dtype=float)
        h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), np.zeros(self.n))
        return x

    def last_solution(self) -> np.ndarray | None:
        if self.h is None:
            return None
        return np.asarray(self.h.getSolution().col_value, dtype=float)

    def bound(self, j: int, sense: float) -> float:
        """min (sense=1) or -max (sense=-1) of variable j; inf when unbounded."""
        if self.h is not None:
            h = self.h
            if self._last >= 0:
                h.changeColCost(self._last, 0.0)
            h.changeColCost(j, sense)
            self._last = j
            self._run()
            status = h.getModelStatus()
            if status == _highs.HighsModelStatus.kOptimal:
                return float(h.getInfo().objective_function_value)
            if status in (
                _highs.HighsModelStatus.kUnbounded,
                _highs.HighsModelStatus.kUnboundedOrInfeasible,
            ):
                return -math.inf
            raise RuntimeError(f"HiGHS: {h.modelStatusToString(status)}")
        from scipy.optimize import linprog

        c = np.zeros(self.n)
        c[j] = sense
        res = linprog(c, A_eq=self.a, b_eq=self.rhs, bounds=(0, None), method="highs")
        if res.status == 3:
            return -math.inf
        if res.status != 0:
            raise RuntimeError(f"linprog: {res.message}")
        return float(res.fun)


def audit_cells(
    equations: sparse.csr_matrix,
    values: np.ndarray,
    suppressed: np.ndarray,
    required: np.ndarray,
    integer: np.ndarray,
    *,
    only: np.ndarray | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    exact: bool = True,
    seed: int = 0,
) -> AuditResult:
    """Attacker's interval for every suppressed cell (or those in ``only``'s groups).

    With ``exact=False`` a cell is first checked against *witnesses*: the true
    table and the vertices of a few LPs with random objectives (and of every LP
    solved so far) are all tables an attacker cannot tell apart from the truth,
    so the range of a cell over them is inside its interval.  A cell whose
    witness range already reaches the required width is proven protected and
    its own two LPs are skipped (its reported interval is then that inner
    range); every other cell gets its exact min and max.  The decision --
    protected or not -- is the same as with ``exact=True``.
    """
    start = time.perf_counter()
    s_idx = np.flatnonzero(suppressed)
    if len(s_idx) == 0:
        empty = np.zeros(0)
        return AuditResult(np.zeros(0, int), empty, empty, empty, 0, 0, 0, 0.0, _solver_name())
    p_mask = ~suppressed
    rhs_all = -(equations[:, p_mask] @ values[p_mask])
    a_s = equations[:, s_idx].tocsr()
    rows = np.flatnonzero(np.diff(a_s.indptr) > 0)
    a_s = a_s[rows]
    rhs = rhs_all[rows]
    n_s = len(s_idx)
    bip = sparse.bmat([[None, a_s.T.tocsr() != 0], [a_s != 0, None]], format="csr")
    n_comp, labels = connected_components(bip, directed=False)
    var_comp = labels[:n_s]
    row_comp = labels[n_s:]
    wanted = None
    if only is not None:
        pos = np.searchsorted(s_idx, only)
        ok = (pos < n_s) & (s_idx[np.minimum(pos, n_s - 1)] == only)
        wanted = set(var_comp[pos[ok]].tolist())
    lower = np.full(n_s, np.nan)
    upper = np.full(n_s, np.nan)
    var_order = np.argsort(var_comp, kind="stable")
    row_order = np.argsort(row_comp, kind="stable")
    var_bounds = np.searchsorted(var_comp[var_order], np.arange(n_comp + 1))
    row_bounds = np.searchsorted(row_comp[row_order], np.arange(n_comp + 1))
    solved = 0
    witnessed = 0
    largest = 0
    done = 0
    a_csc = a_s.tocsc()
    for comp in range(n_comp):
        vars_ = var_order[var_bounds[comp] : var_bounds[comp + 1]]
        if len(vars_) == 0:
            continue
        if wanted is not None and comp not in wanted:
            continue
        rws = row_order[row_bounds[comp] : row_bounds[comp + 1]]
        largest = max(largest, len(vars_))
        if len(rws) == 0:  # in no equation: unbounded above
            lower[vars_] = 0.0
            upper[vars_] = math.inf
            continue
        sub = a_csc[:, vars_][rws, :].tocsc()
        model = _Model(sub, rhs[rws])
        truth = values[s_idx[vars_]]
        need = required[s_idx[vars_]]
        ints_c = integer[s_idx[vars_]]
        seen_lo, seen_hi = truth.copy(), truth.copy()
        use_witness = not exact and model.h is not None and len(vars_) > 2
        if use_witness:
            rng = np.random.default_rng(seed + comp)
            for _ in range(min(8, len(vars_))):
                c = rng.normal(size=len(vars_))
                for sign in (1.0, -1.0):
                    x = model.solve_vector(sign * c)
                    solved += 1
                    if x is not None:
                        np.minimum(seen_lo, x, out=seen_lo)
                        np.maximum(seen_hi, x, out=seen_hi)
        for local, v in enumerate(vars_):
            if use_witness and _wide(seen_lo[local], seen_hi[local], need[local], ints_c[local]):
                lower[v], upper[v] = seen_lo[local], seen_hi[local]
                witnessed += 1
                continue
            lower[v] = max(model.bound(local, 1.0), 0.0)
            if use_witness and (x := model.last_solution()) is not None:
                np.minimum(seen_lo, x, out=seen_lo)
                np.maximum(seen_hi, x, out=seen_hi)
            hi = -model.bound(local, -1.0)
            if use_witness and np.isfinite(hi) and (x := model.last_solution()) is not None:
                np.minimum(seen_lo, x, out=seen_lo)
                np.maximum(seen_hi, x, out=seen_hi)
            upper[v] = hi
            solved += 2
        done += len(vars_)
        if on_progress:
            on_progress(done, n_s)
    keep = ~np.isnan(lower)
    lo, hi = lower[keep], upper[keep]
    ints = integer[s_idx[keep]]
    lo = np.where(ints, np.ceil(lo - _EPS), lo)
    hi = np.where(ints & np.isfinite(hi), np.floor(hi + _EPS), hi)
    return AuditResult(
        cells=s_idx[keep],
        lower=lo,
        upper=hi,
        required=required[s_idx[keep]],
        components=len(np.unique(var_comp)),
        largest_component=largest,
        lp_solved=solved,
        seconds=time.perf_counter() - start,
        solver=_solver_name(),
        witnessed=witnessed,
    )


def _wide(lo: float, hi: float, need: float, integer: bool) -> bool:
    """Whether a witnessed range proves the width (after rounding inward for counts)."""
    if integer:
        return math.floor(hi + _EPS) - math.ceil(lo - _EPS) >= need - 1e-9
    return hi - lo >= need - 1e-9


def _solver_name() -> str:
    if _highs is not None:
        return (
            f"HiGHS {_highs.HIGHS_VERSION_MAJOR}.{_highs.HIGHS_VERSION_MINOR}."
            f"{_highs.HIGHS_VERSION_PATCH} (SciPy), dual simplex, warm-started"
        )
    return "scipy.optimize.linprog(method='highs')"
