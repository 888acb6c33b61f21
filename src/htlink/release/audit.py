"""The disclosure audit: what an attacker can learn about every suppressed cell.

The attacker knows every published cell, the additive equations of the tables
(each subtotal and total is the sum of its parts, across all tables that share
cells), and that counts and sums are non-negative.  Published cells are
constants, so for each suppressed cell ``x_i`` the attacker's interval is::

    min / max  x_i   subject to   A_S x = b - A_P v_P ,   x >= 0

over the suppressed cells only, split into connected groups (suppressed cells
linked by an equation that holds two or more of them; groups are independent).
For count cells the LP bounds are rounded inward (``ceil(min)``,
``floor(max)``).  The cell is protected when ``max - min`` reaches its
required width (``suppression.protection``); otherwise the release is refused.

**Certificates first** (``exact=False``, the default beyond 2,000 suppressed
cells).  Every table the attacker cannot tell from the truth lies inside every
cell's interval, so the audit keeps, per cell, the lowest and highest value
seen in such tables, and a cell whose seen range reaches the required width is
proven without its own LP.  The tables come from (1) the hypercube
certificates of complementary suppression (:mod:`htlink.release.hypercube`),
each re-checked here against the equations; (2) *local LPs*: min and max of
the cell with every suppressed cell outside a neighbourhood of it held at its
true value -- a small LP whose solutions, completed by the truth, are feasible
for the whole system; (3) every full LP solution found on the way.  Only cells
still unproven get the full LPs of their group, solved by HiGHS's simplex on
one model per group that changes only the objective and restarts from the
previous basis; the second LP of a cell is skipped when the first one's bound
and the seen range already give the width.  The protected/not decision is the
same as solving every LP: a proven range is inside the exact interval, and
unproven cells get their exact bounds.  For a proven cell the reported
interval is the proven (inner) range, which is what ``audit.json`` then says.

**What is computed, and integrality.**  The LP bounds are those of the linear
relaxation -- the standard audit of tau-Argus and sdcTable.  The attacker's
integer interval lies inside it, so a too-narrow LP interval is always a
refusal.  For a two-dimensional table with totals the equations of the
suppressed cells form a network matrix (rows and columns of a bipartite graph),
which is totally unimodular: with whole-number published values every vertex
of the LP is a whole-number table, so the rounded LP bounds *are* the integer
bounds (the brute-force tests check this).  In three or more dimensions that
fails and an LP endpoint can be fractional, so an LP-only proof is a proof
against the relaxation; a hypercube certificate, by contrast, proves its range
with whole-number tables (``values + lam * d`` for whole ``lam``), so cells
proven by certificates (``certified``) are protected against an attacker who
uses integrality as well.  ``audit.json`` lists the intervals -- which the
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

from htlink.release.hypercube import Certificate

try:  # HiGHS's own Python API: a model object that re-solves warm
    import highspy as _highs

    _HighsClass = _highs.Highs
    _SOURCE = "highspy"
except ImportError:  # pragma: no cover - SciPy's bundled copy of the same interface
    try:
        from scipy.optimize._highspy import _core as _highs

        _HighsClass = _highs._Highs
        _SOURCE = "SciPy"
    except ImportError:
        _highs = None
        _SOURCE = ""

_EPS = 1e-6
_LP_SECONDS = 120.0  # per LP of a group of more than 2,000 cells


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
    local_lps: int = 0
    certified: int = 0  # proven by hypercube certificates (whole-number tables)
    timed_out: int = 0  # cells whose LP hit the time limit (counted as not protected)

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


class LPTimeLimitError(Exception):
    """An LP of a large group did not finish within its time limit."""


class _Model:
    """One connected group of suppressed cells: min and max of each variable."""

    def __init__(
        self, a: sparse.csc_matrix, rhs: np.ndarray, time_limit: float | None = None
    ) -> None:
        self.n = a.shape[1]
        self.a = a
        self.rhs = rhs
        self.h = None
        if _highs is not None:
            h = _HighsClass()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("solver", "simplex")
            if time_limit is not None:
                h.setOptionValue("time_limit", float(time_limit))
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
            if status == _highs.HighsModelStatus.kTimeLimit:
                raise LPTimeLimitError
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


def certificate_bounds(
    certificates: list[Certificate] | None,
    equations: sparse.csr_matrix,
    values: np.ndarray,
    suppressed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per cell: the range proven by the certificates that check out; and how many did.

    A certificate ``d`` is used only when every cell it moves is suppressed and
    ``A d = 0`` holds exactly; then ``values + lam * d`` is a table the attacker
    cannot rule out for ``lam`` in ``[-m_plus, m_minus]``
    (:mod:`htlink.release.hypercube`), whole-numbered when the values are.
    """
    lo = values.astype(float).copy()
    hi = values.astype(float).copy()
    if not certificates:
        return lo, hi, 0
    sizes = np.array([len(c.cells) for c in certificates])
    cells = np.concatenate([c.cells for c in certificates]).astype(np.int64)
    signs = np.concatenate([c.signs for c in certificates]).astype(float)
    owner = np.repeat(np.arange(len(certificates)), sizes)
    d = sparse.csc_matrix((signs, (cells, owner)), shape=(len(values), len(certificates)))
    residual = abs(equations @ d).max(axis=0).toarray().ravel()
    moves_published = np.bincount(owner, weights=~suppressed[cells], minlength=len(sizes))
    good = (residual == 0) & (moves_published == 0) & (sizes > 0)
    pos = good[owner]
    cells, signs, owner = cells[pos], signs[pos], owner[pos]
    v = values[cells]
    m_plus = np.full(len(certificates), np.inf)
    m_minus = np.full(len(certificates), np.inf)
    np.minimum.at(m_plus, owner[signs > 0], v[signs > 0])
    np.minimum.at(m_minus, owner[signs < 0], v[signs < 0])
    up = np.where(signs > 0, m_minus[owner], m_plus[owner])
    down = np.where(signs > 0, m_plus[owner], m_minus[owner])
    np.minimum.at(lo, cells, v - down)
    np.maximum.at(hi, cells, v + up)
    return lo, hi, int(good.sum())


def _certificate_incidence(
    certificates: list[Certificate] | None, n: int
) -> sparse.csr_matrix | None:
    """Cells x certificates (0/1): which hypercubes move which cell."""
    if not certificates:
        return None
    sizes = np.array([len(c.cells) for c in certificates])
    cells = np.concatenate([c.cells for c in certificates]).astype(np.int64)
    owner = np.repeat(np.arange(len(certificates)), sizes)
    return sparse.csr_matrix((np.ones(len(cells)), (cells, owner)), shape=(n, len(certificates)))


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
    certificates: list[Certificate] | None = None,
) -> AuditResult:
    """Attacker's interval for every suppressed cell (or those in ``only``'s groups).

    With ``exact=True`` both LPs of every suppressed cell are solved.  With
    ``exact=False`` certificates come first: every table the attacker cannot
    tell from the truth bounds every cell's interval from inside, so the audit
    keeps, per cell, the lowest and highest value seen in such tables -- the
    truth, the verified ``certificates`` (hypercubes, see
    :func:`certificate_bounds`) and every LP solution found on the way.  A cell
    whose seen range already reaches its required width is proven protected
    and needs no LP (its reported interval is that inner range); only the
    others get LPs, in their connected group, and the second LP of a cell is
    skipped when the first one's bound plus the seen range already reach the
    width.  The decision -- protected or not -- is the same as with
    ``exact=True``.
    """
    start = time.perf_counter()
    s_idx = np.flatnonzero(suppressed)
    if len(s_idx) == 0:
        empty = np.zeros(0)
        return AuditResult(np.zeros(0, int), empty, empty, empty, 0, 0, 0, 0.0, _solver_name())
    cert_lo, cert_hi, _ = (
        certificate_bounds(certificates, equations, values, suppressed)
        if not exact
        else (values, values, 0)
    )
    incidence = _certificate_incidence(certificates, len(values)) if not exact else None
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
    local_lps = 0
    timed_out = 0
    certified = 0
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
        cells = s_idx[vars_]
        need = required[cells]
        ints_c = integer[cells]
        seen_lo, seen_hi = cert_lo[cells].copy(), cert_hi[cells].copy()
        use_witness = not exact
        todo = np.arange(len(vars_))
        if use_witness:
            proven = _wide_all(seen_lo, seen_hi, need, ints_c)
            lower[vars_[proven]], upper[vars_[proven]] = seen_lo[proven], seen_hi[proven]
            witnessed += int(proven.sum())
            certified += int(proven.sum())
            todo = np.flatnonzero(~proven)
        if len(todo) == 0:
            done += len(vars_)
            if on_progress:
                on_progress(done, n_s)
            continue
        comp_a = a_csc[:, vars_][rws, :].tocsc()
        comp_r = comp_a.tocsr()
        truth = values[cells]
        model: _Model | None = None

        def see(
            x: np.ndarray | None,
            where: np.ndarray | slice = slice(None),
            lo: np.ndarray = seen_lo,
            hi: np.ndarray = seen_hi,
        ) -> None:
            if x is not None and np.isfinite(x).all():
                lo[where] = np.minimum(lo[where], x)
                hi[where] = np.maximum(hi[where], x)

        for local in todo.tolist():
            v = vars_[local]
            if use_witness and _wide(seen_lo[local], seen_hi[local], need[local], ints_c[local]):
                lower[v], upper[v] = seen_lo[local], seen_hi[local]
                witnessed += 1
                continue
            if use_witness and _HighsClass is not None:
                n_local = _local_witness(
                    comp_a, comp_r, truth, local, see, seen_lo, seen_hi, need[local],
                    bool(ints_c[local]), _cube_neighbourhoods(incidence, cells, local),
                )  # fmt: skip
                solved += n_local
                local_lps += n_local
                if _wide(seen_lo[local], seen_hi[local], need[local], ints_c[local]):
                    lower[v], upper[v] = seen_lo[local], seen_hi[local]
                    witnessed += 1
                    continue
            if model is None:
                model = _Model(comp_a, rhs[rws], _LP_SECONDS if len(vars_) > 2000 else None)
            try:
                lo_v = max(model.bound(local, 1.0), 0.0)
                solved += 1
                if use_witness and model.h is not None:
                    see(model.last_solution())
                    if _wide(lo_v, seen_hi[local], need[local], ints_c[local]):
                        lower[v], upper[v] = lo_v, seen_hi[local]
                        continue
                hi_v = -model.bound(local, -1.0)
                solved += 1
            except LPTimeLimitError:  # undecided = not protected: suppress more or refuse
                lower[v], upper[v] = seen_lo[local], seen_lo[local]
                timed_out += 1
                continue
            if use_witness and model.h is not None and np.isfinite(hi_v):
                see(model.last_solution())
            lower[v], upper[v] = lo_v, hi_v
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
        local_lps=local_lps,
        certified=certified,
        timed_out=timed_out,
    )


def _cube_neighbourhoods(
    incidence: sparse.csr_matrix | None, cells: np.ndarray, j: int
) -> list[np.ndarray]:
    """Local indices of the cells that share a hypercube with cell ``j`` (one and two steps)."""
    if incidence is None:
        return []
    out = []
    near = np.array([cells[j]])
    for _ in range(2):
        cubes = np.unique(incidence[near].indices)
        if len(cubes) == 0:
            break
        near = np.unique(incidence[:, cubes].tocsr().indices)
        pos = np.searchsorted(cells, near)
        ok = (pos < len(cells)) & (cells[np.minimum(pos, len(cells) - 1)] == near)
        out.append(pos[ok])
    return out


def _local_witness(
    comp_a: sparse.csc_matrix,
    comp_r: sparse.csr_matrix,
    truth: np.ndarray,
    j: int,
    see: Callable[..., None],
    seen_lo: np.ndarray,
    seen_hi: np.ndarray,
    need: float,
    integer: bool,
    first: list[np.ndarray],
) -> int:
    """Min and max of variable ``j`` with every cell outside a neighbourhood held at its truth.

    Any solution of this smaller LP, with the truth outside the neighbourhood,
    is a table the attacker cannot rule out, so it bounds every cell's interval
    from inside (a witness, not the exact bound).  The neighbourhoods tried:
    the cells sharing a hypercube with ``j`` (``first``), then one, two and
    three equation hops around it, each at most 3,000 cells, until the width is
    proven.  Returns the number of LPs solved.
    """
    count = 0
    tried: set[int] = set()

    def hops() -> list[np.ndarray]:
        near = np.array([j])
        out = []
        for _ in range(3):
            rows = np.unique(comp_a[:, near].indices)
            near = np.unique(comp_r[rows].indices)
            if len(near) > 3000:
                break
            out.append(near)
        return out

    for group in (first, None):
        for near in group if group is not None else hops():
            near = np.union1d(near, [j])
            if len(near) > 3000 or len(near) in tried or len(near) < 2:
                continue
            tried.add(len(near))
            sub = comp_a[:, near].tocsr()
            rows = np.flatnonzero(np.diff(sub.indptr) > 0)
            sub = sub[rows].tocsc()
            model = _Model(sub, sub @ truth[near])
            at = int(np.searchsorted(near, j))
            for sense in (1.0, -1.0):
                if _wide(seen_lo[j], seen_hi[j], need, integer):
                    return count
                bound = model.bound(at, sense)
                count += 1
                if np.isfinite(bound):
                    see(model.last_solution(), near)
                elif sense < 0:
                    seen_hi[j] = math.inf
            if _wide(seen_lo[j], seen_hi[j], need, integer):
                return count
    return count


def _wide_all(lo: np.ndarray, hi: np.ndarray, need: np.ndarray, ints: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        rounded = np.floor(hi + _EPS) - np.ceil(lo - _EPS)
    width = np.where(ints, rounded, hi - lo)
    return width >= need - 1e-9


def _wide(lo: float, hi: float, need: float, integer: bool) -> bool:
    """Whether a witnessed range proves the width (after rounding inward for counts)."""
    if integer:
        return math.floor(hi + _EPS) - math.ceil(lo - _EPS) >= need - 1e-9
    return hi - lo >= need - 1e-9


def _solver_name() -> str:
    if _highs is not None:
        return (
            f"HiGHS {_highs.HIGHS_VERSION_MAJOR}.{_highs.HIGHS_VERSION_MINOR}."
            f"{_highs.HIGHS_VERSION_PATCH} ({_SOURCE}), simplex, warm-started"
        )
    return "scipy.optimize.linprog(method='highs')"
