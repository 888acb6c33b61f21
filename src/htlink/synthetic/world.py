"""The synthetic world an agency extract is drawn from, and the per-agency work area."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from htlink.synthetic.geography import Geography
from htlink.synthetic.membership import AgencyDraw
from htlink.synthetic.pools import NamePools
from htlink.synthetic.population import Population
from htlink.synthetic.scenario import AgencySpec, Scenario


@dataclass
class World:
    """Everything shared by the agencies: scenario, seed, pools, state, people."""

    scenario: Scenario
    seed: int
    pools: NamePools
    geography: Geography
    population: Population


@dataclass
class AgencyJob:
    """One agency being rendered: its spec, its records, its randomness, its tallies."""

    world: World
    spec: AgencySpec
    draw: AgencyDraw
    rng: np.random.Generator
    rnd: random.Random
    counts: Counter[str] = field(default_factory=Counter)
    used_alias: np.ndarray | None = None  # set by render_names: records made under an alias

    @property
    def size(self) -> int:
        """The number of records."""
        return len(self.draw.person)

    def chance(self, rate: float, where: np.ndarray | None = None) -> np.ndarray:
        """A boolean mask: each record (of ``where``, if given) with probability ``rate``."""
        hit = self.rng.random(self.size) < rate
        return hit if where is None else hit & where

    def apply(
        self,
        values: np.ndarray,
        mask: np.ndarray,
        fn: Callable[[str, random.Random], str],
        counter: str,
    ) -> None:
        """``values[i] = fn(values[i], rnd)`` where ``mask``, counting real changes."""
        changed = 0
        for i in np.flatnonzero(mask).tolist():
            old = values[i]
            if old is None:
                continue
            new = fn(old, self.rnd)
            if new != old:
                values[i] = new
                changed += 1
        self.counts[counter] += changed
