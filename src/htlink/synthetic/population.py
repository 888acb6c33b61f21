"""The people of the synthetic world, drawn from the name pools and the state.

A :class:`Population` is a set of numpy arrays, one entry per person: name
entries (indices into :class:`~htlink.synthetic.pools.NamePools`), sex, date
of birth, up to four addresses with the days the person moved, a phone number
per address, and for some women a married surname from a marriage day on.
Aliases, which only some people have, are a dictionary of short lists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from htlink.synthetic.dates import DAYS_PER_YEAR, NEVER, to_day
from htlink.synthetic.geography import Geography
from htlink.synthetic.name_tables import MONIKERS_FEMALE, MONIKERS_MALE
from htlink.synthetic.pools import PREFERRED, NamePools
from htlink.synthetic.randomness import unique_integers
from htlink.synthetic.scenario import PopulationSpec

#: Locales whose people always have a middle name (Vietnamese middle names, patronymics).
ALWAYS_MIDDLE = frozenset({"vi_VN", "ru_RU", "uk_UA"})
#: Locales whose people carry two surnames (paternal and maternal).
DOUBLE_SURNAME = frozenset({"es_MX", "es_ES"})
DOUBLE_SURNAME_SHARE = 0.9
#: Locales where women commonly take their husband's surname.
MARRIED_NAME = frozenset({"en_US", "pl_PL", "ru_RU", "uk_UA"})
MIN_MARRIAGE_AGE = 19
MOVE_WINDOW_YEARS = 15
APARTMENT_SHARE = 0.25


@dataclass
class Population:
    """Everyone in the world; arrays are indexed by person (0..n-1)."""

    person_id: np.ndarray  # str: "P" + 8 hex digits
    locale: np.ndarray  # object: locale code
    female: np.ndarray  # bool
    dob: np.ndarray  # int32 days
    given: np.ndarray  # int32 index into pools.given
    middle: np.ndarray  # int32, -1 = none
    surname1: np.ndarray  # int32 index into pools.surnames
    surname2: np.ndarray  # int32, -1 = none (second surname of a double surname)
    married_surname: np.ndarray  # int32, -1 = none
    marriage_day: np.ndarray  # int32, NEVER = not married
    hyphenated: np.ndarray  # bool: writes "Birth-Married" after marriage
    n_moves: np.ndarray  # int8
    move_day: np.ndarray  # (n, max moves) int32, NEVER past n_moves
    house_number: np.ndarray  # (n, slots) int32
    street: np.ndarray  # (n, slots) int32 index into geography.streets
    unit: np.ndarray  # (n, slots) int16, 0 = none
    zip_idx: np.ndarray  # (n, slots) int32 index into geography.zips
    zip4: np.ndarray  # (n, slots) int16
    phone: np.ndarray  # (n, slots) int64, 0 = none
    aliases: dict[int, list[tuple[str, str | None]]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """The number of people."""
        return len(self.person_id)

    def address_slot(self, people: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Which address each person had on each day (0 = the first)."""
        return (self.move_day[people] <= days[:, None]).sum(axis=1).astype(np.int8)


def _ages_in_days(spec: PopulationSpec, n: int, rng: np.random.Generator) -> np.ndarray:
    bands = np.asarray(spec.age_bands, dtype=float)
    band = rng.choice(len(bands), size=n, p=bands[:, 2] / bands[:, 2].sum())
    years = bands[band, 0] + rng.random(n) * (bands[band, 1] - bands[band, 0])
    return np.floor(years * DAYS_PER_YEAR).astype(np.int32)


def _phones(area: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    exchange = rng.integers(200, 1000, size=len(area))
    # no N11 exchanges (211, 911, ...) and no 555 (its 01xx numbers are for fiction)
    bad = (exchange % 100 == 11) | (exchange == 555)
    exchange[bad] += 1
    line = rng.integers(0, 10_000, size=len(area))
    return area.astype(np.int64) * 10_000_000 + exchange * 10_000 + line


def _aliases(
    pop: Population, pools: NamePools, holders: np.ndarray, rng: np.random.Generator
) -> dict[int, list[tuple[str, str | None]]]:
    given, surnames = pools.given, pools.surnames
    counts = rng.choice([1, 2, 3], size=len(holders), p=[0.6, 0.3, 0.1])
    owner = np.repeat(holders, counts)
    m = len(owner)
    # kind 0: another given name with the own surname; 1: a different name altogether;
    # 2: the own given name with another surname; 3: a street name
    kind = rng.choice(4, size=m, p=[0.3, 0.3, 0.25, 0.15])
    fem = pop.female[owner]
    other_given = np.empty(m, dtype=np.int32)
    other_surname = np.empty(m, dtype=np.int32)
    for sex, is_female in (("F", True), ("M", False)):
        rows = np.flatnonzero(fem == is_female)
        other_given[rows] = given.sample("given", "en_US", sex, len(rows), rng)
        other_surname[rows] = surnames.sample("surname", "en_US", sex, len(rows), rng)
    moniker = rng.random(m)
    g_forms, s_forms = given.forms[PREFERRED, 1], surnames.forms[PREFERRED, 1]
    out: dict[int, list[tuple[str, str | None]]] = {}
    for i, person in enumerate(owner.tolist()):
        k = kind[i]
        own_given, own_surname = g_forms[pop.given[person]], s_forms[pop.surname1[person]]
        item: tuple[str, str | None]
        if k == 0:
            item = (g_forms[other_given[i]], own_surname)
        elif k == 1:
            item = (g_forms[other_given[i]], s_forms[other_surname[i]])
        elif k == 2:
            item = (own_given, s_forms[other_surname[i]])
        else:
            names = MONIKERS_FEMALE if fem[i] else MONIKERS_MALE
            item = (names[int(moniker[i] * len(names))], None)
        items = out.setdefault(person, [])
        if item not in items:
            items.append(item)
    return out


def build_population(
    spec: PopulationSpec,
    reference: dt.date,
    pools: NamePools,
    geo: Geography,
    rng: np.random.Generator,
) -> Population:
    """Draw ``spec.people`` people (vectorized per locale and sex)."""
    n = spec.people
    ref = to_day(reference)
    locales = [loc for loc, share in spec.locales.items() if share > 0]
    shares = np.asarray([spec.locales[loc] for loc in locales])
    locale = np.asarray(locales, dtype=object)[
        rng.choice(len(locales), size=n, p=shares / shares.sum())
    ]
    female = rng.random(n) < spec.female_share
    dob = (ref - _ages_in_days(spec, n, rng)).astype(np.int32)

    given = np.empty(n, dtype=np.int32)
    middle = np.full(n, -1, dtype=np.int32)
    surname1 = np.empty(n, dtype=np.int32)
    surname2 = np.full(n, -1, dtype=np.int32)
    married = np.full(n, -1, dtype=np.int32)
    wants_middle = rng.random(n) < spec.middle_name_share
    for loc in locales:
        for sex, is_female in (("F", True), ("M", False)):
            rows = np.flatnonzero((locale == loc) & (female == is_female))
            k = len(rows)
            if not k:
                continue
            given[rows] = pools.given.sample("given", loc, sex, k, rng)
            surname1[rows] = pools.surnames.sample("surname", loc, sex, k, rng)
            mid = rows if loc in ALWAYS_MIDDLE else rows[wants_middle[rows]]
            middle[mid] = pools.given.sample("middle", loc, sex, len(mid), rng)
            if loc in DOUBLE_SURNAME:
                two = rows[rng.random(k) < DOUBLE_SURNAME_SHARE]
                surname2[two] = pools.surnames.sample("surname", loc, sex, len(two), rng)
            if is_female and loc in MARRIED_NAME:
                adult = rows[ref - dob[rows] >= (MIN_MARRIAGE_AGE + 1) * DAYS_PER_YEAR]
                wed = adult[rng.random(len(adult)) < spec.married_share]
                married[wed] = pools.surnames.sample("surname", loc, "F", len(wed), rng)
    # a middle name equal to the given name would not be a middle name
    middle[middle == given] = -1
    marriage_day = np.full(n, NEVER, dtype=np.int32)
    wed = np.flatnonzero(married >= 0)
    earliest = dob[wed] + int(MIN_MARRIAGE_AGE * DAYS_PER_YEAR)
    marriage_day[wed] = earliest + np.floor(rng.random(len(wed)) * (ref - earliest)).astype(
        np.int32
    )
    hyphenated = (married >= 0) & (rng.random(n) < spec.hyphenated_share)

    slots = len(spec.moves)
    n_moves = rng.choice(slots, size=n, p=np.asarray(spec.moves) / sum(spec.moves)).astype(np.int8)
    max_moves = max(slots - 1, 1)
    start = np.maximum(dob, ref - int(MOVE_WINDOW_YEARS * DAYS_PER_YEAR))
    days = start[:, None] + np.floor(
        rng.random((n, max_moves)) * (ref - start)[:, None]
    ).astype(np.int32)
    days.sort(axis=1)
    move_day = np.where(np.arange(max_moves)[None, :] < n_moves[:, None], days, NEVER).astype(
        np.int32
    )

    county = np.empty((n, max_moves + 1), dtype=np.int32)
    county[:, 0] = rng.choice(len(geo.counties), size=n, p=geo.county_weight)
    for s in range(1, max_moves + 1):
        stay = rng.random(n) < 0.6
        county[:, s] = np.where(
            stay, county[:, s - 1], rng.choice(len(geo.counties), size=n, p=geo.county_weight)
        )
    zip_idx = np.stack([geo.sample_zips(county[:, s], rng) for s in range(max_moves + 1)], axis=1)
    shape = (n, max_moves + 1)
    house = np.exp(rng.random(shape) * np.log(9999)).astype(np.int32)
    street = rng.choice(len(geo.streets), size=shape, p=geo.street_prob).astype(np.int32)
    unit = np.where(rng.random(shape) < APARTMENT_SHARE, rng.integers(1, 41, size=shape), 0)
    zip4 = rng.integers(1, 10_000, size=shape).astype(np.int16)

    phone = np.zeros(shape, dtype=np.int64)
    has_phone = rng.random(n) < spec.phone_share
    phone[:, 0] = _phones(geo.county_area_code[county[:, 0]], rng)
    for s in range(1, max_moves + 1):
        change = rng.random(n) < spec.phone_change_share
        new = _phones(geo.county_area_code[county[:, s]], rng)
        phone[:, s] = np.where(change, new, phone[:, s - 1])
    phone[~has_phone] = 0

    ids = unique_integers(rng, n, 0, 2**32)
    pop = Population(
        person_id=np.asarray([f"P{v:08x}" for v in ids.tolist()], dtype=object),
        locale=locale,
        female=female,
        dob=dob,
        given=given,
        middle=middle,
        surname1=surname1,
        surname2=surname2,
        married_surname=married,
        marriage_day=marriage_day,
        hyphenated=hyphenated,
        n_moves=n_moves,
        move_day=move_day,
        house_number=house,
        street=street,
        unit=unit.astype(np.int16),
        zip_idx=zip_idx,
        zip4=zip4,
        phone=phone,
    )
    holders = np.flatnonzero(rng.random(n) < spec.alias_share)
    pop.aliases = _aliases(pop, pools, holders, rng)
    return pop
