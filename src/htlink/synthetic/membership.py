"""Who is known to which agency, and when each of their records was made.

Each person is known to 1, 2 or 3 agencies in the shares the scenario sets
(counts are exact up to rounding), chosen by the agencies' weights among the
agencies the person is *eligible* for: an agency only has records of people
whose age fell in its age range during its time window (social services
only see children).  Each person then has a number of records in each of
their agencies (repeat visits, repeat reports), made on days spread over the
eligible span, in time order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htlink.synthetic.dates import DAYS_PER_YEAR, to_day
from htlink.synthetic.population import Population
from htlink.synthetic.scenario import AgencySpec, Scenario

#: Shortest span (days) in which an agency can have made a record of a person.
MIN_SPAN_DAYS = 30


@dataclass
class AgencyDraw:
    """One agency's records before they are written: whose, and on which day."""

    kind: str
    person: np.ndarray  # int32, sorted
    day: np.ndarray  # int32, ascending within a person
    seq: np.ndarray  # int32: 0 for a person's first record in the agency, 1, 2, ...


def _span(pop: Population, spec: AgencySpec) -> tuple[np.ndarray, np.ndarray]:
    low = np.maximum(to_day(spec.window[0]), pop.dob + int(spec.age_at_record[0] * DAYS_PER_YEAR))
    high = np.minimum(
        to_day(spec.window[1]), pop.dob + int(spec.age_at_record[1] * DAYS_PER_YEAR) - 1
    )
    return low, high


def _exact_counts(total: int, shares: dict[int, float]) -> dict[int, int]:
    """Largest-remainder rounding of ``total * share``."""
    keys = sorted(shares)
    raw = np.asarray([total * shares[k] for k in keys])
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return dict(zip(keys, counts.tolist(), strict=True))


def assign_agencies(
    pop: Population, scenario: Scenario, rng: np.random.Generator
) -> tuple[list[str], np.ndarray]:
    """The agency kinds and a (people x agencies) membership matrix.

    People who are eligible for no agency at all are in no agency (the
    generator leaves them out of the world).
    """
    kinds = list(scenario.agencies)
    eligible = np.zeros((pop.size, len(kinds)), dtype=bool)
    for j, kind in enumerate(kinds):
        low, high = _span(pop, scenario.agencies[kind])
        eligible[:, j] = high - low >= MIN_SPAN_DAYS
    n_eligible = eligible.sum(axis=1)
    wanted = np.zeros(pop.size, dtype=np.int64)
    candidates = np.flatnonzero(n_eligible > 0)
    targets = _exact_counts(len(candidates), scenario.membership.agencies_per_person)
    open_ = np.ones(pop.size, dtype=bool)
    open_[n_eligible == 0] = False
    for k in sorted(targets, reverse=True):
        pool = np.flatnonzero(open_ & (n_eligible >= k))
        take = rng.permutation(pool)[: targets[k]]
        wanted[take] = k
        open_[take] = False
    left = np.flatnonzero(open_)  # only when too few people were eligible for more agencies
    wanted[left] = np.minimum(n_eligible[left], 1)
    weights = np.asarray([scenario.membership.agency_weights[k] for k in kinds])
    keys = np.log(weights)[None, :] + rng.gumbel(size=eligible.shape)
    keys[~eligible] = -np.inf
    rank = np.argsort(np.argsort(-keys, axis=1, kind="stable"), axis=1, kind="stable")
    member = (rank < wanted[:, None]) & eligible
    return kinds, member


def draw_records(
    pop: Population, spec: AgencySpec, members: np.ndarray, rng: np.random.Generator
) -> AgencyDraw:
    """Records per member (from ``records_per_person``) and the day of each."""
    people = np.flatnonzero(members).astype(np.int32)
    choices = np.asarray(sorted(spec.records_per_person))
    shares = np.asarray([spec.records_per_person[c] for c in choices])
    counts = choices[rng.choice(len(choices), size=len(people), p=shares / shares.sum())]
    person = np.repeat(people, counts)
    low, high = _span(pop, spec)
    span = (high - low + 1)[person]
    day = (low[person] + np.floor(rng.random(len(person)) * span)).astype(np.int32)
    order = np.lexsort((day, person))
    person, day = person[order], day[order]
    starts = np.cumsum(counts) - counts
    seq = (np.arange(len(person)) - np.repeat(starts, counts)).astype(np.int32)
    return AgencyDraw(kind=spec.kind, person=person, day=day, seq=seq)
