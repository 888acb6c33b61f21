"""Small-cell suppression: primary (threshold, dominance) and complementary, across linked tables.

**Primary.**  A count cell is sensitive when ``threshold.min <= count <=
threshold.max`` (CMS: 1 to 10), and a zero cell too when ``zeros:
suppressed``.  A magnitude cell (a sum) is sensitive when it has
``threshold.min``..``threshold.max`` contributors, or under the dominance
``(n, k)`` rule when its ``n`` largest contributions exceed ``k`` percent of
it.

**Linked tables.**  All tables of a release form one system: a cell that two
tables share (the same measure and the same categories, e.g. a county total in
a county x year and a county x sex table) is one variable, so it is published
or suppressed in both, and an attacker's equations from all tables are solved
together.

**Complementary** (a heuristic, checked by the audit):

1. *Hypercubes* (:mod:`htlink.release.hypercube`): every primary cell (then
   every newly suppressed one whose own width is not yet proven) gets the
   cheapest hypercube of suppressed cells through it that proves its
   protection range; each hypercube is kept as a certificate for the audit.
2. *Line rule*: an equation (a subtotal and its parts) with exactly one
   suppressed cell gives that cell away, so another cell of that equation is
   suppressed -- first one that also completes another such equation, then
   the cheapest: an interior cell before a margin, a non-zero cell before a
   zero, then the smallest value.  Repeated until no equation has exactly one
   suppressed cell (after hypercubes this rarely adds anything: a hypercube
   meets every equation in zero or at least two cells).
3. *Audit*: the attacker's interval for every suppressed cell
   (:mod:`htlink.release.audit`: certificates first, LPs for the rest).  Each
   cell whose interval is narrower than required gets another hypercube (or,
   failing that, one more suppressed cell in one of its equations), and the
   audit repeats -- re-auditing only the groups of cells that changed -- until
   every interval is wide enough or ``max_rounds`` is reached (then the
   release is refused).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from htlink.errors import HtlinkError
from htlink.release.audit import AuditResult, audit_cells
from htlink.release.hypercube import hypercube_suppression
from htlink.release.policy import SuppressionRules
from htlink.release.tables import Table


class SuppressionError(HtlinkError):
    """The tables cannot be protected under the policy."""


@dataclass
class CellSystem:
    """All cells of all tables, shared cells merged, and every additive equation."""

    tables: list[Table]
    cell_ids: list[np.ndarray]  # per table: flat cell -> global cell id
    values: np.ndarray
    integer: np.ndarray
    margin: np.ndarray
    equations: sparse.csr_matrix
    primary: np.ndarray
    suppressed: np.ndarray
    required: np.ndarray

    @property
    def n_cells(self) -> int:
        return len(self.values)

    def table_status(self, t: int) -> np.ndarray:
        """Per flat cell of table t: 0 published, 1 primary, 2 complementary."""
        ids = self.cell_ids[t]
        return np.where(self.primary[ids], 1, np.where(self.suppressed[ids], 2, 0))


def build_system(tables: list[Table]) -> CellSystem:
    """Merge shared cells and stack every table's equations."""
    index: dict[tuple[object, ...], int] = {}
    cell_ids = []
    values: list[float] = []
    integer: list[bool] = []
    margin: list[bool] = []
    rows, cols, coefs = [], [], []
    n_rows = 0
    for t in tables:
        keys = t.cell_keys()
        flat_values = t.values.ravel()
        flat_margin = t.is_margin()
        ids = np.empty(len(keys), dtype=np.int64)
        for i, key in enumerate(keys):
            gid = index.get(key)
            if gid is None:
                gid = index[key] = len(values)
                values.append(float(flat_values[i]))
                integer.append(t.measure is None)
                margin.append(bool(flat_margin[i]))
            elif abs(values[gid] - flat_values[i]) > 1e-6 * max(1.0, abs(values[gid])):
                raise SuppressionError(
                    f"Table {t.name} shares a cell with an earlier table but disagrees on its "
                    "value.",
                    "This is a bug in htlink; nothing was released.",
                )
            ids[i] = gid
        cell_ids.append(ids)
        r, c, k, nr = t.equations()
        rows.append(r + n_rows)
        cols.append(ids[c])
        coefs.append(k)
        n_rows += nr
    n = len(values)
    eq = sparse.csr_matrix(
        (np.concatenate(coefs) if coefs else np.zeros(0),
         (np.concatenate(rows) if rows else np.zeros(0, int),
          np.concatenate(cols) if cols else np.zeros(0, int))),
        shape=(n_rows, n),
    )  # fmt: skip
    # the same equation from two tables is one equation
    eq = _unique_rows(eq)
    return CellSystem(
        tables=tables,
        cell_ids=cell_ids,
        values=np.asarray(values),
        integer=np.asarray(integer, dtype=bool),
        margin=np.asarray(margin, dtype=bool),
        equations=eq,
        primary=np.zeros(n, dtype=bool),
        suppressed=np.zeros(n, dtype=bool),
        required=np.zeros(n),
    )


def _unique_rows(eq: sparse.csr_matrix) -> sparse.csr_matrix:
    eq.sort_indices()
    seen: dict[tuple[bytes, bytes], int] = {}
    keep = []
    for r in range(eq.shape[0]):
        a, b = eq.indptr[r], eq.indptr[r + 1]
        key = (eq.indices[a:b].tobytes(), eq.data[a:b].tobytes())
        if key not in seen:
            seen[key] = r
            keep.append(r)
    return eq[keep] if len(keep) < eq.shape[0] else eq


def primary_suppression(system: CellSystem, rules: SuppressionRules) -> None:
    """Mark sensitive cells (see the module docstring) and the width each needs."""
    for t, table in enumerate(system.tables):
        ids = system.cell_ids[t]
        people = table.contributors.ravel()
        sensitive = (people >= max(rules.threshold_min, 1)) & (people <= rules.threshold_max)
        if rules.zeros_suppressed:
            sensitive |= people == 0
        if table.top_sum is not None and rules.dominance_k is not None:
            total = table.values.ravel()
            top = table.top_sum.ravel()
            sensitive |= (total > 0) & (top > rules.dominance_k / 100.0 * total)
        system.primary[ids] |= sensitive
    system.suppressed |= system.primary
    system.required = np.maximum(
        rules.protection_width, rules.protection_percent / 100.0 * np.abs(system.values)
    )


def _cost(system: CellSystem) -> np.ndarray:
    v = np.abs(system.values)
    scale = float(v.sum()) + 1.0
    return v + (v == 0) * scale + system.margin * 2 * scale


def line_rule(system: CellSystem) -> int:
    """Suppress a partner in every equation with exactly one suppressed cell; return how many."""
    eq = system.equations
    eq_csc = eq.tocsc()
    pattern = (eq != 0).astype(np.int32)
    counts = pattern @ system.suppressed.astype(np.int32)
    cost = _cost(system)
    bonus = float(cost.max()) + 1.0
    added = 0
    queue = list(np.flatnonzero(counts == 1))
    while queue:
        r = queue.pop()
        if counts[r] != 1:
            continue
        cells = eq.indices[eq.indptr[r] : eq.indptr[r + 1]]
        free = cells[~system.suppressed[cells]]
        if len(free) == 0:  # pragma: no cover - a one-cell equation cannot be protected
            raise SuppressionError(
                "A table has an equation with a single cell; it cannot be protected.",
                "Check the table's dimensions.",
            )
        # prefer a cell that also completes another equation left with one suppressed cell
        helps = np.array(
            [
                int((counts[eq_csc.indices[eq_csc.indptr[f] : eq_csc.indptr[f + 1]]] == 1).sum())
                - 1
                for f in free
            ]
        )
        pick = int(free[np.argmin(cost[free] - helps * bonus)])
        system.suppressed[pick] = True
        added += 1
        touched = eq_csc.indices[eq_csc.indptr[pick] : eq_csc.indptr[pick + 1]]
        counts[touched] += 1
        queue.extend(int(x) for x in touched if counts[x] == 1)
    return added


def _widen(system: CellSystem, audit: AuditResult) -> list[int]:
    """For each cell whose interval is too narrow, suppress one more cell in an equation of it."""
    eq = system.equations
    eq_csc = eq.tocsc()
    cost = _cost(system)
    added: list[int] = []
    width = dict(zip(audit.cells.tolist(), audit.width.tolist(), strict=True))
    for cell in audit.failing.tolist():
        missing = system.required[cell] - width.get(cell, 0.0)
        rows = eq_csc.indices[eq_csc.indptr[cell] : eq_csc.indptr[cell + 1]]
        best: tuple[float, int] | None = None
        for r in rows:
            cells = eq.indices[eq.indptr[r] : eq.indptr[r + 1]]
            free = cells[~system.suppressed[cells]]
            for f in free.tolist():
                c = cost[f] + (0 if system.values[f] >= missing else 4 * (cost.max() + 1))
                if best is None or c < best[0]:
                    best = (c, f)
        if best is not None:
            system.suppressed[best[1]] = True
            added.append(best[1])
    return added


@dataclass
class SuppressionOutcome:
    audit: AuditResult
    rounds: int
    primary: int
    complementary: int
    hypercubes: int = 0
    hypercube_cells: int = 0
    hypercube_unproven: int = 0
    line_rule_added: int = 0
    suppression_seconds: float = 0.0


def protect(
    system: CellSystem,
    rules: SuppressionRules,
    on_progress: Callable[[str, int, int], None] | None = None,
    exact_intervals: bool | None = None,
    hypercubes: bool = True,
) -> SuppressionOutcome:
    """Primary and complementary suppression until the audit passes; refuse if it cannot.

    ``exact_intervals`` (default: when at most 2,000 cells are suppressed) solves
    both LPs of every suppressed cell; otherwise cells proven wide enough by
    witness tables skip theirs (:func:`htlink.release.audit.audit_cells`).
    """
    primary_suppression(system, rules)
    t0 = time.perf_counter()
    order = _primary_order(system) if hypercubes else np.zeros(0, dtype=np.int64)
    cubes = hypercube_suppression(
        system.tables, system.cell_ids, system.values, system.suppressed, system.required,
        system.equations, order,
    )  # fmt: skip
    certificates = cubes.certificates
    line_added = line_rule(system)
    suppress_seconds = time.perf_counter() - t0
    exact = exact_intervals if exact_intervals is not None else int(system.suppressed.sum()) <= 2000

    def progress(done: int, total: int) -> None:
        if on_progress:
            on_progress("audit", done, total)

    audit = audit_cells(
        system.equations, system.values, system.suppressed, system.required, system.integer,
        on_progress=progress, exact=exact, certificates=certificates,
    )  # fmt: skip
    rounds = 0
    while not audit.passed:
        rounds += 1
        if rounds > rules.max_rounds:
            break
        added: list[int] = []
        if hypercubes:  # another hypercube through each failing cell, then the old rule
            before = system.suppressed.copy()
            more = hypercube_suppression(
                system.tables, system.cell_ids, system.values, system.suppressed,
                system.required, system.equations, audit.failing,
            )  # fmt: skip
            certificates = certificates + more.certificates
            added = np.flatnonzero(system.suppressed & ~before).tolist()
        if not added:
            added = _widen(system, audit)
        if not added:
            break
        line_rule(system)
        changed = np.flatnonzero(system.suppressed)
        partial = audit_cells(
            system.equations, system.values, system.suppressed, system.required,
            system.integer, only=np.asarray(sorted(set(audit.failing.tolist()) | set(added))),
            exact=exact, certificates=certificates,
        )  # fmt: skip
        audit = _merge(audit, partial, changed)
    if not audit.passed:
        raise SuppressionError(
            f"{int((~audit.protected).sum())} suppressed cells could not be protected: an "
            "attacker could narrow them to less than the policy's protection range from the "
            "published cells. Nothing was released.",
            "Coarsen the tables' dimensions (fewer, wider categories), drop a dimension, or "
            "lower suppression.protection.",
        )
    final = audit
    if rounds:  # the last audit was pieced together from partial ones: redo it whole
        final = audit_cells(
            system.equations, system.values, system.suppressed, system.required,
            system.integer, on_progress=progress, exact=exact, certificates=certificates,
        )  # fmt: skip
    if not final.passed:  # pragma: no cover - the partial audits agree with a full one
        raise SuppressionError("The final disclosure audit failed. Nothing was released.")
    return SuppressionOutcome(
        audit=final,
        rounds=rounds,
        primary=int(system.primary.sum()),
        complementary=int((system.suppressed & ~system.primary).sum()),
        hypercubes=len(certificates),
        hypercube_cells=int(cubes.processed),
        hypercube_unproven=int(cubes.unproven),
        line_rule_added=line_added,
        suppression_seconds=suppress_seconds,
    )


def _primary_order(system: CellSystem) -> np.ndarray:
    """Primary cells, interior before margins, smallest value first."""
    cells = np.flatnonzero(system.primary)
    return cells[np.lexsort((system.values[cells], system.margin[cells]))]


def _merge(old: AuditResult, new: AuditResult, suppressed_now: np.ndarray) -> AuditResult:
    """Old intervals of untouched groups plus the re-solved groups."""
    fresh = set(new.cells.tolist())
    keep = np.array([c not in fresh for c in old.cells.tolist()], dtype=bool)
    cells = np.concatenate([old.cells[keep], new.cells])
    lower = np.concatenate([old.lower[keep], new.lower])
    upper = np.concatenate([old.upper[keep], new.upper])
    required = np.concatenate([old.required[keep], new.required])
    # cells newly suppressed in groups not re-solved cannot exist: _widen adds into solved groups
    missing = np.setdiff1d(suppressed_now, cells)
    if len(missing):
        cells = np.concatenate([cells, missing])
        lower = np.concatenate([lower, np.zeros(len(missing))])
        upper = np.concatenate([upper, np.zeros(len(missing))])
        required = np.concatenate([required, np.ones(len(missing))])
    order = np.argsort(cells)
    return AuditResult(
        cells=cells[order],
        lower=lower[order],
        upper=upper[order],
        required=required[order],
        components=new.components,
        largest_component=max(old.largest_component, new.largest_component),
        lp_solved=old.lp_solved + new.lp_solved,
        seconds=old.seconds + new.seconds,
        solver=new.solver,
        witnessed=old.witnessed + new.witnessed,
        local_lps=old.local_lps + new.local_lps,
        certified=old.certified + new.certified,
    )
