"""Complementary suppression by hypercubes, each one a certificate of protection.

An attacker who knows the published cells and the tables' additive equations
cannot tell the true table ``t`` from ``t + lam * d`` when ``d`` is a vector
that (a) is zero on every published cell, (b) satisfies every equation
(``A d = 0``) and (c) keeps every cell non-negative.  For a table whose
equations are "each non-leaf node of an axis is the sum of its children" the
solutions of ``A d = 0`` are spanned by tensor products ``u_1 x ... x u_n`` of
one solution ``u_k`` per axis (the kernel of a Kronecker-structured system is
the tensor product of the axes' kernels).  An axis's kernel is spanned by the
*leaf paths* ``p(a)`` = leaf ``a`` and all its ancestors up to ``Total``, so
for a node ``c`` of the axis the two simplest kernel vectors through ``c`` are

* ``p(a) - p(b)`` with ``a`` under ``c`` and ``b`` under a sibling ``s`` of
  ``c``: ``+1`` on the path from ``c`` down to ``a``, ``-1`` on the path from
  ``s`` down to ``b`` (on a flat axis: ``+c, -s``);
* ``p(a)`` with ``a`` under ``c``: ``+1`` from ``a`` up to ``Total`` (on a flat
  axis: ``+c, +Total``).

Their tensor product over the axes is a *hypercube* (GHMITER's construction,
generalized to hierarchies): on a flat n-dimensional table ``2**n`` corners
with signs ``+1/-1``.  When every corner is suppressed, ``t + lam * d`` is a
table the attacker cannot rule out for every ``lam`` in ``[-m_plus,
m_minus]`` -- ``m_plus`` the smallest true value at a ``+1`` corner,
``m_minus`` at a ``-1`` corner -- and for a count table every whole ``lam`` in
that range gives a whole-number table.  So every corner's attacker interval
contains an interval of width ``m_plus + m_minus`` whose ends are attained by
*integer* tables: a proof of protection that needs no LP and holds for an
attacker who also uses integrality.

:func:`hypercube_suppression` takes the suppressed cells one at a time (the
primary cells first, smallest first), skips a cell that the hypercubes chosen
so far already prove wide enough, and otherwise chooses, among the hypercubes
through it built from each axis's most promising partners, the one that
proves its width while suppressing the least (the sum of ``value + 1`` over
corners not yet suppressed; already-suppressed corners are free, which is what
keeps the pattern compact).  Corners that the hypercube newly suppresses are
queued in turn when their own requirement is not met.  A hypercube that would
touch a cell shared with another table is avoided (moving that cell would
break the other table's equations); when no hypercube proves a cell, the best
one found is still suppressed and the exact LP audit decides.

The chosen hypercubes are handed to the audit as :class:`Certificate` objects;
the audit re-checks each one against the equations before trusting it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from htlink.release.tables import Axis, Table

_BUDGET = 4096  # hypercubes x corners evaluated per cell in the first pass
_WIDE_BUDGET = 32_768  # ... and in the second pass, when the first found none
_MAX_OPTIONS = 400  # per axis node
_ATTEMPTS = 3  # hypercubes per cell at most


@dataclass
class Certificate:
    """A direction ``d`` (``signs`` on global ``cells``, zero elsewhere) with ``A d = 0``."""

    cells: np.ndarray
    signs: np.ndarray


@dataclass
class HypercubeOutcome:
    certificates: list[Certificate] = field(default_factory=list)
    added: int = 0
    processed: int = 0
    unproven: int = 0


class _AxisOptions:
    """For each node of an axis: the kernel vectors through it, as (nodes, signs), padded."""

    def __init__(self, axis: Axis) -> None:
        self.axis = axis
        self.kids = axis.children()
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _down(self, node: int) -> list[list[int]]:
        """Paths from ``node`` (exclusive) down to each leaf under it."""
        if node not in self.kids:
            return [[]]
        out: list[list[int]] = []
        for ch in self.kids[node]:
            out.extend([ch, *p] for p in self._down(ch))
            if len(out) > _MAX_OPTIONS:
                break
        return out

    def _up(self, node: int) -> list[int]:
        chain = []
        cur = int(self.axis.parent[node])
        while cur >= 0:
            chain.append(cur)
            cur = int(self.axis.parent[cur])
        return chain

    def get(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        hit = self._cache.get(node)
        if hit is not None:
            return hit
        opts: list[tuple[list[int], list[int]]] = []
        downs = self._down(node)
        parent = int(self.axis.parent[node])
        if parent >= 0:
            for s in self.kids[parent]:
                if s == node:
                    continue
                for d in downs:
                    for e in self._down(s):
                        opts.append(([node, *d, s, *e], [1] * (1 + len(d)) + [-1] * (1 + len(e))))
                        if len(opts) >= _MAX_OPTIONS:
                            break
        up = self._up(node)
        # one path up to Total first: with it on every axis a hypercube is never too narrow
        ups = [([node, *d, *up], [1] * (1 + len(d) + len(up))) for d in downs]
        opts = [ups[0], *opts[: _MAX_OPTIONS - len(ups)], *ups[1:]]
        width = max(len(n) for n, _ in opts)
        nodes = np.full((len(opts), width), -1, dtype=np.int64)
        signs = np.zeros((len(opts), width), dtype=np.int8)
        for i, (n, s) in enumerate(opts):
            nodes[i, : len(n)] = n
            signs[i, : len(s)] = s
        self._cache[node] = (nodes, signs)
        return nodes, signs


def hypercube_suppression(
    tables: list[Table],
    cell_ids: list[np.ndarray],
    values: np.ndarray,
    suppressed: np.ndarray,
    required: np.ndarray,
    equations: sparse.csr_matrix,
    order: np.ndarray,
) -> HypercubeOutcome:
    """Suppress hypercube partners for the cells of ``order`` (and the partners, in turn).

    ``suppressed`` is updated in place.  Returns the certificates (verified
    against ``equations``) and counts.
    """
    n = len(values)
    owner = np.full(n, -1, dtype=np.int64)  # table holding the cell (first one)
    local = np.zeros(n, dtype=np.int64)
    shared = np.zeros(n, dtype=bool)
    for t, ids in enumerate(cell_ids):
        again = owner[ids] >= 0
        shared[ids[again]] = True
        fresh = ids[~again]
        owner[fresh] = t
        local[fresh] = np.flatnonzero(~again)
    options = [[_AxisOptions(a) for a in table.axes] for table in tables]
    strides = [
        np.array([int(np.prod(tab.shape[k + 1 :])) for k in range(len(tab.shape))], dtype=np.int64)
        for tab in tables
    ]
    cost_of = np.abs(values) + 1.0
    lo = values.astype(float).copy()
    hi = values.astype(float).copy()
    out = HypercubeOutcome()
    queue = [int(c) for c in order]
    queued = np.zeros(n, dtype=bool)
    queued[queue] = True
    attempts = np.zeros(n, dtype=np.int8)
    eq_csc = equations.tocsc()
    head = 0
    while head < len(queue):
        cell = queue[head]
        head += 1
        if hi[cell] - lo[cell] >= required[cell] - 1e-9:
            continue
        t = int(owner[cell])
        out.processed += int(attempts[cell] == 0)
        best = None
        for budget in (_BUDGET, _WIDE_BUDGET):
            best = _best_cube(
                tables[t], options[t], strides[t], cell_ids[t], int(local[cell]), cell,
                values, suppressed, shared, cost_of, lo[cell], hi[cell], required[cell], budget,
            )  # fmt: skip
            if best is not None and (best[2] or not best[3]):
                break
        if best is None:
            out.unproven += 1
            continue
        if not best[2] and attempts[cell] > 0 and not (~suppressed[best[0]]).any():
            out.unproven += 1  # nothing new to try
            continue
        corners, signs, proves, _ = best
        new = corners[~suppressed[corners]]
        suppressed[new] = True
        out.added += len(new)
        for c in new.tolist():
            if not queued[c]:
                queued[c] = True
                queue.append(c)
        if not proves:
            attempts[cell] += 1
            if attempts[cell] < _ATTEMPTS:  # another hypercube may add the missing side
                queue.append(cell)
            else:
                out.unproven += 1
        # a certificate only if d really solves every equation (shared cells can break it;
        # within one table it holds by construction, and the audit re-checks every one)
        if shared[corners].any() and (
            np.abs(eq_csc[:, corners] @ signs.astype(float)).max(initial=0.0) > 0
        ):
            continue
        out.certificates.append(Certificate(corners, signs))
        m_plus = float(values[corners[signs > 0]].min(initial=np.inf))
        m_minus = float(values[corners[signs < 0]].min(initial=np.inf))
        up = np.where(signs > 0, m_minus, m_plus)
        down = np.where(signs > 0, m_plus, m_minus)
        np.minimum.at(lo, corners, values[corners] - down)
        np.maximum.at(hi, corners, values[corners] + up)
    return out


def _best_cube(
    table: Table,
    options: list[_AxisOptions],
    stride: np.ndarray,
    ids: np.ndarray,
    flat: int,
    cell: int,
    values: np.ndarray,
    suppressed: np.ndarray,
    shared: np.ndarray,
    cost_of: np.ndarray,
    lo: float,
    hi: float,
    need: float,
    budget: int,
) -> tuple[np.ndarray, np.ndarray, bool, bool] | None:
    """The cheapest hypercube through ``cell`` that proves its width (or the widest one).

    Returns its corners, signs, whether it proves the width, and whether some
    partners were left out for the budget.
    """
    coords = np.unravel_index(flat, table.shape)
    t = values[cell]
    # the width is m_plus + m_minus with m_plus <= t: "-" corners need at least need - t
    short_minus = max(need - t, 0.0)
    deltas, signs, valid, keep = [], [], [], []
    for k, opt in enumerate(options):
        nodes, sg = opt.get(int(coords[k]))
        ok = nodes >= 0
        delta = np.where(ok, (nodes - int(coords[k])) * stride[k], 0)
        # rank the partners by the cells next to ``cell`` along this axis: what suppressing
        # them costs, and whether they are big enough to give the width
        nb = ids[flat + delta]
        c = np.where(ok & ~suppressed[nb], cost_of[nb], 0.0).sum(axis=1)
        small = ok & (((sg < 0) & (values[nb] < short_minus)) | ((sg > 0) & (values[nb] < t)))
        c = c + small.sum(axis=1) * 1e6 + np.where(ok & shared[nb], 1e12, 0.0).sum(axis=1)
        deltas.append(delta)
        signs.append(sg)
        valid.append(ok)
        keep.append(np.argsort(c, kind="stable"))
    n_dim = len(options)
    corners_per = int(np.prod([d.shape[1] for d in deltas]))
    m = [len(k) for k in keep]
    while int(np.prod(m)) * corners_per > budget and max(m) > 1:
        j = int(np.argmax(m))
        m[j] -= 1
    if int(np.prod(m)) * corners_per > budget * 8:
        return None
    total = np.zeros([1] * (2 * n_dim), dtype=np.int64)
    sign = np.ones([1] * (2 * n_dim), dtype=np.int8)
    ok = np.ones([1] * (2 * n_dim), dtype=bool)
    for k in range(n_dim):
        pick = keep[k][: m[k]]
        if 0 not in pick:  # always offer the path up to Total (option 0)
            pick = np.r_[pick[:-1], 0]
        shape = [1] * (2 * n_dim)
        shape[k] = m[k]
        shape[n_dim + k] = deltas[k].shape[1]
        total = total + deltas[k][pick].reshape(shape)
        sign = sign * signs[k][pick].reshape(shape)
        ok = ok & valid[k][pick].reshape(shape)
    n_cubes = int(np.prod(m))
    full = [*m, *[d.shape[1] for d in deltas]]
    total = np.broadcast_to(total, full).reshape(n_cubes, -1)
    sign = np.broadcast_to(sign, full).reshape(n_cubes, -1)
    ok = np.broadcast_to(ok, full).reshape(n_cubes, -1)
    g = ids[flat + total]
    val = values[g]
    fresh = ok & ~suppressed[g]
    cost = np.where(fresh, cost_of[g], 0.0).sum(axis=1)
    touches_shared = (ok & shared[g]).any(axis=1)
    m_plus = np.where(ok & (sign > 0), val, np.inf).min(axis=1)
    m_minus = np.where(ok & (sign < 0), val, np.inf).min(axis=1)
    width = np.maximum(hi, t + m_minus) - np.minimum(lo, t - m_plus)
    proves = (width >= need - 1e-9) & ~touches_shared
    if proves.any():
        score = np.where(proves, cost, np.inf)
        best = int(np.lexsort((-np.minimum(width, 1e300), score))[0])
    else:
        best = int(np.lexsort((cost, -np.minimum(width, 1e300)))[0])
    sel = ok[best]
    truncated = m != [len(k) for k in keep]
    return g[best][sel], sign[best][sel].astype(np.int8), bool(proves[best]), truncated
