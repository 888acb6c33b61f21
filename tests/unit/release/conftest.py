"""Helpers: tables straight from arrays, without people."""

from __future__ import annotations

import numpy as np

from htlink.release.tables import TOTAL, Axis, Table


def axis(column: str, n: int) -> Axis:
    return Axis(
        column=column,
        labels=[f"{column}{i}" for i in range(n)] + [TOTAL],
        levels=[0] * n + [-1],
        parent=np.array([n] * n + [-1]),
        n_leaves=n,
    )


def table_from_counts(name: str, counts: np.ndarray, columns: list[str] | None = None) -> Table:
    """A count table with totals on every axis, from its interior counts."""
    columns = columns or [f"d{i}" for i in range(counts.ndim)]
    axes = [axis(c, n) for c, n in zip(columns, counts.shape, strict=True)]
    full = counts.astype(float)
    for d in range(counts.ndim):
        full = np.concatenate([full, full.sum(axis=d, keepdims=True)], axis=d)
    return Table(
        name=name, axes=axes, values=full, contributors=full.copy(), top_sum=None, measure=None
    )
