"""Aggregate tables with totals and hierarchical subtotals, and their additive structure.

A table has one axis per dimension.  An axis holds the leaf categories (the
dimension at its finest requested level), then one node per category of each
coarser requested level (subtotals), then ``Total``.  Every cell is a sum over
the people in it; every non-leaf node of an axis equals the sum of its direct
children, for every combination of the other axes -- these equations are what
an attacker combines with the published cells, and what suppression and the
audit work on (:meth:`Table.equations`).

A cell is identified across tables by its measure and the (dimension, level,
category) of its non-total coordinates, so tables that share margins share
those cells (:func:`cell_key`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from htlink.errors import HtlinkError
from htlink.release.policy import TableDim, TableSpec

TOTAL = "Total"


@dataclass
class Axis:
    column: str
    labels: list[str]
    levels: list[int]  # hierarchy level of each node; -1 for Total
    parent: np.ndarray  # parent node of each node; -1 for Total
    n_leaves: int

    def __len__(self) -> int:
        return len(self.labels)

    def children(self) -> dict[int, list[int]]:
        kids: dict[int, list[int]] = {}
        for node, p in enumerate(self.parent):
            if p >= 0:
                kids.setdefault(int(p), []).append(node)
        return kids

    def ancestors(self, leaf: np.ndarray) -> list[np.ndarray]:
        """For leaf codes: the leaf itself, its parent, ..., Total (one array per step)."""
        chain = [leaf]
        cur = leaf
        while True:
            nxt = self.parent[cur]
            if (nxt < 0).all():
                break
            chain.append(nxt)
            cur = nxt
        return chain


@dataclass
class Table:
    """One aggregate table: values over the full axis product, margins included."""

    name: str
    axes: list[Axis]
    values: np.ndarray
    contributors: np.ndarray  # people per cell
    top_sum: np.ndarray | None  # sum of the n largest contributions (magnitude tables)
    measure: str | None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.axes)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def is_margin(self) -> np.ndarray:
        """Flat boolean: the cell has a subtotal or total coordinate."""
        grids = np.meshgrid(
            *[np.arange(len(a)) >= a.n_leaves for a in self.axes], indexing="ij", sparse=True
        )
        out = np.zeros(self.shape, dtype=bool)
        for g in grids:
            out = out | g
        return out.ravel()

    def equations(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """COO (row, flat cell, coefficient) of ``parent - sum(children) = 0``; and row count."""
        flat = np.arange(self.size).reshape(self.shape)
        rows, cols, coefs = [], [], []
        n_rows = 0
        for d, axis in enumerate(self.axes):
            for p, kids in axis.children().items():
                parent_cells = flat.take(p, axis=d).ravel()
                r = np.arange(n_rows, n_rows + len(parent_cells))
                rows.append(r)
                cols.append(parent_cells)
                coefs.append(np.ones(len(r)))
                for c in kids:
                    rows.append(r)
                    cols.append(flat.take(c, axis=d).ravel())
                    coefs.append(-np.ones(len(r)))
                n_rows += len(parent_cells)
        if not rows:
            return np.zeros(0, int), np.zeros(0, int), np.zeros(0), 0
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(coefs), n_rows

    def cell_keys(self) -> list[tuple[object, ...]]:
        """A key per flat cell that is equal for the same population in another table."""
        parts = []
        for a in self.axes:
            parts.append(
                [
                    None if lv < 0 else (a.column, lv, lab)
                    for lab, lv in zip(a.labels, a.levels, strict=True)
                ]
            )
        keys = []
        for idx in np.ndindex(*self.shape):
            coords = tuple(sorted(x for x in (parts[d][i] for d, i in enumerate(idx)) if x))
            keys.append((self.measure, coords))
        return keys

    def long_frame(self) -> pd.DataFrame:
        """One row per cell: a column per dimension and the value."""
        idx = np.indices(self.shape).reshape(len(self.shape), -1)
        data = {
            a.column: np.asarray(a.labels, dtype=object)[idx[d]] for d, a in enumerate(self.axes)
        }
        data["value"] = self.values.ravel()
        return pd.DataFrame(data)


def build_axis(values: pd.Series, dim: TableDim) -> tuple[Axis, np.ndarray]:
    """The axis of one dimension and each person's leaf code."""
    h = dim.hierarchy
    leaf_labels = h.generalize(values, dim.levels[0])
    leaf_codes, leaf_uniques = pd.factorize(leaf_labels, sort=True)
    labels = [str(x) for x in leaf_uniques]
    levels = [dim.levels[0]] * len(labels)
    parent = np.full(len(labels), -1, dtype=np.int64)
    prev_codes, prev_offset, prev_n = leaf_codes, 0, len(labels)
    for lv in dim.levels[1:]:
        gen = h.generalize(values, lv)
        codes, uniques = pd.factorize(gen, sort=True)
        pairs = np.unique(np.stack([prev_codes, codes]), axis=1)
        if len(np.unique(pairs[0])) != pairs.shape[1]:
            raise HtlinkError(
                f"The levels of {dim.column} in a table do not nest: a category falls under "
                f"two categories of level {h.levels[lv]}.",
                "Use levels of one hierarchy that nest (bands that are multiples of each other).",
            )
        offset = len(labels)
        parent[prev_offset + pairs[0]] = offset + pairs[1]
        labels += [str(x) for x in uniques]
        levels += [lv] * len(uniques)
        parent = np.concatenate([parent, np.full(len(uniques), -1, dtype=np.int64)])
        prev_codes, prev_offset, prev_n = codes, offset, len(uniques)
    total = len(labels)
    parent[prev_offset : prev_offset + prev_n] = total
    labels.append(TOTAL)
    levels.append(-1)
    parent = np.concatenate([parent, [-1]])
    axis = Axis(
        column=dim.column,
        labels=labels,
        levels=levels,
        parent=parent,
        n_leaves=len(leaf_uniques),
    )
    return axis, leaf_codes.astype(np.int64)


def _roll_up(leaf: np.ndarray, axes: list[Axis]) -> np.ndarray:
    """Sum a leaf-level array into the full axis product (subtotals and totals)."""
    out = leaf
    for d, axis in enumerate(axes):
        agg = np.zeros((len(axis), axis.n_leaves))
        for leaf_i in range(axis.n_leaves):
            node = leaf_i
            while node >= 0:
                agg[node, leaf_i] = 1.0
                node = int(axis.parent[node])
        out = np.moveaxis(np.tensordot(agg, out, axes=([1], [d])), 0, d)
    return out


def build_table(people: pd.DataFrame, spec: TableSpec, dominance_n: int | None = None) -> Table:
    """Count people (or sum ``spec.measure``) by the table's dimensions."""
    axes, codes = [], []
    for dim in spec.dimensions:
        axis, c = build_axis(people[dim.column], dim)
        axes.append(axis)
        codes.append(c)
    leaf_shape = tuple(a.n_leaves for a in axes)
    flat = np.ravel_multi_index(codes, leaf_shape) if codes else np.zeros(len(people), int)
    size = int(np.prod(leaf_shape))
    counts = np.bincount(flat, minlength=size).reshape(leaf_shape).astype(float)
    contributors = _roll_up(counts, axes)
    top_sum = None
    if spec.measure is None:
        values = contributors.copy()
    else:
        measure = pd.to_numeric(people[spec.measure], errors="coerce")
        if measure.isna().any() or (measure < 0).any():
            raise HtlinkError(
                f"Table {spec.name}: the measure {spec.measure} must be a non-negative number "
                f"for every person ({int(measure.isna().sum())} missing or not numbers, "
                f"{int((measure < 0).sum())} negative).",
                "Choose a numeric attribute, or use measure: count.",
            )
        m = measure.to_numpy(dtype=float)
        values = _roll_up(np.bincount(flat, weights=m, minlength=size).reshape(leaf_shape), axes)
        if dominance_n:
            top_sum = _top_n_sums(codes, axes, m, dominance_n)
    return Table(
        name=spec.name,
        axes=axes,
        values=values,
        contributors=contributors,
        top_sum=top_sum,
        measure=spec.measure,
    )


def _top_n_sums(codes: list[np.ndarray], axes: list[Axis], m: np.ndarray, n: int) -> np.ndarray:
    """For every cell (margins too) the sum of its ``n`` largest contributions."""
    chains = [axis.ancestors(c) for axis, c in zip(axes, codes, strict=True)]
    shape = tuple(len(a) for a in axes)
    cells, vals = [], []
    for combo in np.ndindex(*[len(ch) for ch in chains]):
        idx = [chains[d][step] for d, step in enumerate(combo)]
        cells.append(np.ravel_multi_index(idx, shape))
        vals.append(m)
    cell = np.concatenate(cells)
    val = np.concatenate(vals)
    order = np.lexsort((-val, cell))
    cell, val = cell[order], val[order]
    start = np.r_[0, np.flatnonzero(np.diff(cell)) + 1]
    rank = np.arange(len(cell)) - np.repeat(start, np.diff(np.r_[start, len(cell)]))
    keep = rank < n
    out = np.bincount(cell[keep], weights=val[keep], minlength=int(np.prod(shape)))
    return out.reshape(shape)
