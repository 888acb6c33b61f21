"""k-anonymity (and distinct l-diversity) by full-domain generalization plus record suppression.

A *node* of the generalization lattice gives one level per quasi-identifier.
At a node, records whose equivalence class (same generalized quasi-identifiers)
has fewer than ``k`` records -- or, with l-diversity, fewer than ``l`` distinct
values of a sensitive attribute -- are suppressed (left out of the extract).  A
node is *feasible* when at most ``max_suppression`` of the records are
suppressed.

**Loss metric.**  Each released value costs the loss of its generalized value
(:mod:`htlink.release.hierarchies`: covered distinct values − 1 over domain
size − 1, so 0 for the exact value and 1 for ``*``); a suppressed record costs 1
per quasi-identifier.  The loss of a node is the mean over records and
quasi-identifiers, from 0 (nothing changed) to 1 (nothing released).

**Search.**  The generalization-only part of the loss, averaged over *all*
records, is a lower bound of a node's loss and is known without looking at
equivalence classes.  The nodes are visited in increasing lower bound
(branch and bound): the search stops as soon as the next lower bound is not
below the best feasible loss found, which proves that best optimal.  A greedy
bottom-up walk first gives a good incumbent so the bound bites early.  When
the proof would need more than ``max_exact_nodes`` node evaluations, the search
stops there and returns the best node found: a documented heuristic, reported
as such (``optimal: false``, with the gap to the lower bound).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from htlink.errors import HtlinkError
from htlink.release.hierarchies import EncodedLevels, Hierarchy, encode_levels


class AnonymityError(HtlinkError):
    """No generalization of the data satisfies the policy."""


@dataclass
class NodeEval:
    node: tuple[int, ...]
    suppressed: np.ndarray
    n_suppressed: int
    feasible: bool
    loss: float
    min_class: int


@dataclass
class AnonymityResult:
    """The chosen generalization and everything the report says about it."""

    quasi_identifiers: list[str]
    node: tuple[int, ...]
    level_names: dict[str, str]
    k: int
    l_diversity: int | None
    suppressed: np.ndarray
    generalized: pd.DataFrame
    loss: float
    loss_per_qi: dict[str, float]
    k_achieved: int
    l_achieved: int | None
    optimal: bool
    lower_bound: float
    nodes_evaluated: int
    lattice_size: int
    method: str
    class_sizes: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=int))

    @property
    def n_suppressed(self) -> int:
        return int(self.suppressed.sum())


class _Evaluator:
    def __init__(
        self,
        levels: list[EncodedLevels],
        sensitive_codes: list[np.ndarray],
        k: int,
        l_div: int | None,
        max_suppressed: int,
    ) -> None:
        self.levels = levels
        self.sensitive = sensitive_codes
        self.k = k
        self.l_div = l_div
        self.max_suppressed = max_suppressed
        self.n = len(levels[0].codes[0]) if levels else 0
        self.q = len(levels)
        self.loss_sums = [[float(x.sum()) for x in lv.loss] for lv in levels]
        self.evaluated = 0
        self.cache: dict[tuple[int, ...], NodeEval] = {}

    def lower_bound(self, node: tuple[int, ...]) -> float:
        return sum(self.loss_sums[i][lv] for i, lv in enumerate(node)) / (self.n * self.q)

    def classes(self, node: tuple[int, ...]) -> np.ndarray:
        """The equivalence class of every record at ``node`` (dense ids)."""
        key = np.zeros(self.n, dtype=np.int64)
        radix = 1
        for i, lv in enumerate(node):
            codes = self.levels[i].codes[lv]
            size = int(codes.max()) + 1 if len(codes) else 1
            if radix * size >= 2**62:
                key = pd.factorize(key)[0].astype(np.int64)
                radix = int(key.max()) + 1
            key = key * size + codes
            radix *= size
        return pd.factorize(key)[0]

    def evaluate(self, node: tuple[int, ...]) -> NodeEval:
        if node in self.cache:
            return self.cache[node]
        self.evaluated += 1
        cls = self.classes(node)
        sizes = np.bincount(cls)
        bad = sizes[cls] < self.k
        if self.l_div is not None:
            for s in self.sensitive:
                pairs = np.unique(cls.astype(np.int64) * (int(s.max()) + 1) + s)
                distinct = np.bincount(pairs // (int(s.max()) + 1), minlength=len(sizes))
                bad |= distinct[cls] < self.l_div
        n_bad = int(bad.sum())
        kept = ~bad
        loss_total = n_bad * self.q
        for i, lv in enumerate(node):
            loss_total += float(self.levels[i].loss[lv][kept].sum())
        ev = NodeEval(
            node=node,
            suppressed=bad,
            n_suppressed=n_bad,
            feasible=n_bad <= self.max_suppressed and n_bad < self.n,
            loss=loss_total / (self.n * self.q),
            min_class=int(sizes[np.unique(cls[kept])].min()) if kept.any() else 0,
        )
        if len(self.cache) < 4096:
            self.cache[node] = ev
        return ev


def _greedy(ev: _Evaluator, heights: list[int]) -> NodeEval | None:
    """Bottom-up: generalize the attribute that buys the most suppression per loss; then descend."""
    node = tuple(0 for _ in heights)
    cur = ev.evaluate(node)
    while not cur.feasible:
        best: tuple[float, NodeEval] | None = None
        for i, h in enumerate(heights):
            if node[i] >= h:
                continue
            cand = ev.evaluate((*node[:i], node[i] + 1, *node[i + 1 :]))
            gain = cur.n_suppressed - cand.n_suppressed
            cost = max(ev.lower_bound(cand.node) - ev.lower_bound(node), 1e-9)
            score = gain / cost
            if best is None or score > best[0] or (cand.feasible and not best[1].feasible):
                best = (score, cand)
        if best is None:
            return None
        cur, node = best[1], best[1].node
    improved = True
    while improved:  # specialize while it stays feasible and loses less
        improved = False
        for i in range(len(heights)):
            if node[i] == 0:
                continue
            cand = ev.evaluate((*node[:i], node[i] - 1, *node[i + 1 :]))
            if cand.feasible and cand.loss < cur.loss:
                cur, node, improved = cand, cand.node, True
    return cur


def anonymize(
    frame: pd.DataFrame,
    quasi_identifiers: dict[str, Hierarchy],
    k: int,
    *,
    l_diversity: int | None = None,
    sensitive: list[str] | None = None,
    max_suppression: float = 0.05,
    max_exact_nodes: int = 2000,
    on_progress: Callable[[int, int], None] | None = None,
) -> AnonymityResult:
    """Find the feasible generalization with the least loss (see the module docstring)."""
    n = len(frame)
    names = list(quasi_identifiers)
    if n < k:
        raise AnonymityError(
            f"k = {k} is larger than the data allows: there are only {n} people to release.",
            "Lower microdata.k, release aggregates only (microdata.enabled: false), or wait "
            "for more data.",
        )
    levels = [encode_levels(frame[q], quasi_identifiers[q]) for q in names]
    sens = [pd.factorize(frame[s].astype("string").fillna("(missing)"))[0] for s in sensitive or []]
    max_supp = math.floor(max_suppression * n + 1e-9)
    ev = _Evaluator(levels, sens, k, l_diversity, max_supp)
    heights = [lv.height for lv in levels]
    top = ev.evaluate(tuple(heights))
    if not top.feasible:
        raise AnonymityError(
            f"No generalization satisfies the policy: even with every quasi-identifier "
            f"withheld, {top.n_suppressed} of {n} people would have to be suppressed "
            f"(k = {k}" + (f", l = {l_diversity}" if l_diversity else "") + ").",
            "Lower microdata.k or microdata.l_diversity, raise microdata.max_suppression, or "
            "release aggregates only.",
        )
    incumbent = _greedy(ev, heights) or top
    if top.loss < incumbent.loss:
        incumbent = top
    # all nodes, in increasing lower bound
    grids = np.meshgrid(*[np.arange(h + 1) for h in heights], indexing="ij")
    lattice = np.stack([g.ravel() for g in grids], axis=1)
    bounds = np.zeros(len(lattice))
    for i in range(len(names)):
        per_level = np.array(ev.loss_sums[i]) / (n * len(names))
        bounds += per_level[lattice[:, i]]
    order = np.argsort(bounds, kind="stable")
    optimal = True
    explored = 0
    for idx in order:
        if bounds[idx] >= incumbent.loss - 1e-12:
            break
        if ev.evaluated >= max_exact_nodes:
            optimal = False
            break
        cand = ev.evaluate(tuple(int(x) for x in lattice[idx]))
        explored += 1
        if cand.feasible and cand.loss < incumbent.loss:
            incumbent = cand
        if on_progress and explored % 50 == 0:
            on_progress(ev.evaluated, max_exact_nodes)
    remaining = bounds[order][bounds[order] < incumbent.loss - 1e-12]
    lower = float(remaining.min()) if (not optimal and len(remaining)) else incumbent.loss
    best = incumbent
    generalized = pd.DataFrame(index=frame.index)
    loss_per_qi: dict[str, float] = {}
    kept = ~best.suppressed
    for i, q in enumerate(names):
        lv = best.node[i]
        generalized[q] = levels[i].labels[lv][levels[i].codes[lv]]
        loss_per_qi[q] = float((levels[i].loss[lv][kept].sum() + best.n_suppressed) / n)
    cls = ev.classes(best.node)
    sizes = np.bincount(cls)[cls][kept]
    l_ach = None
    if l_diversity is not None:
        l_ach = min(int(pd.Series(s[kept]).groupby(cls[kept]).nunique().min()) for s in sens)
    return AnonymityResult(
        quasi_identifiers=names,
        node=best.node,
        level_names={q: quasi_identifiers[q].levels[best.node[i]] for i, q in enumerate(names)},
        k=k,
        l_diversity=l_diversity,
        suppressed=best.suppressed,
        generalized=generalized,
        loss=best.loss,
        loss_per_qi=loss_per_qi,
        k_achieved=int(sizes.min()),
        l_achieved=l_ach,
        optimal=optimal,
        lower_bound=lower,
        nodes_evaluated=ev.evaluated,
        lattice_size=len(lattice),
        method=(
            "branch and bound over the whole lattice (optimal)"
            if optimal
            else f"greedy start + branch and bound stopped after {max_exact_nodes} evaluations"
        ),
        class_sizes=sizes,
    )


def lattice_size(heights: list[int]) -> int:
    return math.prod(h + 1 for h in heights)
