"""Name pools: a few thousand names per locale, drawn once with Faker.

Faker is slow per call, so each locale's given names, middle names and
surnames are drawn once (seeded) into a pool of distinct names with their
frequencies; people are then sampled from the pools with numpy.

Every pool entry has several *forms*, indexed ``forms[variant, marks, entry]``:

* ``variant`` -- :data:`PREFERRED` (the spelling the person uses), :data:`ALT1`
  and :data:`ALT2` (other Latin spellings: ICAO vs BGN transliteration,
  Muhammad vs Mohammed) and :data:`NATIVE` (Cyrillic names in Cyrillic);
* ``marks`` -- 0 keeps diacritics (``Nguyễn``), 1 drops them (``Nguyen``).

Russian and Ukrainian names appear twice in a pool, once for people whose own
spelling is the BGN one and once for those who use the passport (ICAO) one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from anyascii import anyascii

from htlink.synthetic.name_tables import (
    ARABIC_GIVEN_FEMALE,
    ARABIC_GIVEN_MALE,
    ARABIC_SURNAMES,
    NICKNAMES,
)
from htlink.synthetic.transliterate import strip_marks, transliterate

PREFERRED, ALT1, ALT2, NATIVE = 0, 1, 2, 3
N_VARIANTS = 4
#: Faker calls per locale and kind of name; distinct names are kept with their counts.
POOL_DRAWS = 3000
CYRILLIC_LOCALES = {"ru_RU": "ru", "uk_UA": "uk"}
#: Share of people with a Cyrillic name whose own spelling is BGN (the rest use ICAO).
BGN_PREFERRED_SHARE = 0.6
#: Spelling frequencies of the variants of an Arabic name (first listed most common).
ARABIC_SPELLING_SHARES = (0.55, 0.25, 0.15, 0.05)
SEXES = ("F", "M")


@dataclass
class NameTable:
    """Names with their forms and, per group, the entries and their probabilities."""

    forms: np.ndarray  # object array, shape (N_VARIANTS, 2, n)
    nicknames: list[tuple[str, ...]]
    groups: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict
    )  # (kind, locale, sex) -> (entry indices, probabilities)

    def sample(
        self, kind: str, locale: str, sex: str, size: int, rng: np.random.Generator
    ) -> np.ndarray:
        """``size`` entry indices of one group, drawn by frequency."""
        idx, prob = self.groups[(kind, locale, sex)]
        return idx[rng.choice(len(idx), size=size, p=prob)]


class _Builder:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []  # preferred, alt1, alt2, native
        self.groups: dict[tuple[str, str, str], tuple[list[int], list[float]]] = {}
        self._index: dict[tuple[str, str, str, str], int] = {}

    def add(
        self, group: tuple[str, str, str], forms: tuple[str, str, str, str], weight: float
    ) -> None:
        entry = self._index.get(forms)
        if entry is None:
            entry = self._index[forms] = len(self.rows)
            self.rows.append(forms)
        idx, weights = self.groups.setdefault(group, ([], []))
        idx.append(entry)
        weights.append(weight)

    def alias_group(self, group: tuple[str, str, str], same_as: tuple[str, str, str]) -> None:
        self.groups[group] = self.groups[same_as]

    def build(self, with_nicknames: bool) -> NameTable:
        n = len(self.rows)
        forms = np.empty((N_VARIANTS, 2, n), dtype=object)
        for i, row in enumerate(self.rows):
            for v, text in enumerate(row):
                forms[v, 0, i] = text
                forms[v, 1, i] = strip_marks(text)
        nicknames: list[tuple[str, ...]] = []
        for row in self.rows:
            found: tuple[str, ...] = ()
            if with_nicknames:
                for text in (row[0], row[1], row[3]):
                    found = NICKNAMES.get(anyascii(text).lower(), ())
                    if found:
                        break
            nicknames.append(found)
        groups = {}
        for key, (idx, weights) in self.groups.items():
            w = np.asarray(weights, dtype=float)
            groups[key] = (np.asarray(idx, dtype=np.int32), w / w.sum())
        return NameTable(forms=forms, nicknames=nicknames, groups=groups)


def _add_counted(b: _Builder, group: tuple[str, str, str], names: list[str], locale: str) -> None:
    counts = Counter(n.strip() for n in names if n and n.strip())
    for name in sorted(counts):
        weight = float(counts[name])
        if locale in CYRILLIC_LOCALES:
            lang = CYRILLIC_LOCALES[locale]
            bgn, icao, german = (transliterate(name, s, lang) for s in ("bgn", "icao", "german"))
            b.add(group, (bgn, icao, german, name), weight * BGN_PREFERRED_SHARE)
            b.add(group, (icao, bgn, german, name), weight * (1 - BGN_PREFERRED_SHARE))
        else:
            b.add(group, (name, name, name, name), weight)


def _add_spellings(
    b: _Builder, group: tuple[str, str, str], table: tuple[tuple[str, ...], ...]
) -> None:
    for rank, spellings in enumerate(table):
        name_weight = 1.0 / (rank + 1) ** 0.6
        shares = np.asarray(ARABIC_SPELLING_SHARES[: len(spellings)], dtype=float)
        shares /= shares.sum()
        for j, own in enumerate(spellings):
            others = [s for s in spellings if s != own] or [own]
            alt1, alt2 = others[0], others[1 % len(others)]
            b.add(group, (own, alt1, alt2, own), name_weight * float(shares[j]))


def _faker(locale: str, seed: int) -> Any:
    from faker import Faker  # imported here: loading Faker takes a moment

    fake = Faker(locale)
    fake.seed_instance(seed)
    return fake


def _draw(fake: Any, method: str, n: int = POOL_DRAWS) -> list[str]:
    fn = getattr(fake, method)
    return [fn() for _ in range(n)]


@dataclass
class NamePools:
    """Given names (with middle names and patronymics) and surnames of every locale."""

    given: NameTable
    surnames: NameTable
    locales: tuple[str, ...]


def build_name_pools(locales: list[str], rng: np.random.Generator) -> NamePools:
    """Draw the pools of ``locales`` (en_US is always included: aliases use it)."""
    wanted = tuple(dict.fromkeys(["en_US", *locales]))
    given, surnames = _Builder(), _Builder()
    for locale in wanted:
        seed = int(rng.integers(0, 2**31 - 1))
        if locale == "ar":
            _add_spellings(given, ("given", "ar", "F"), ARABIC_GIVEN_FEMALE)
            _add_spellings(given, ("given", "ar", "M"), ARABIC_GIVEN_MALE)
            _add_spellings(surnames, ("surname", "ar", "F"), ARABIC_SURNAMES)
            surnames.alias_group(("surname", "ar", "M"), ("surname", "ar", "F"))
            for sex in SEXES:
                given.alias_group(("middle", "ar", sex), ("given", "ar", "M"))
            continue
        fake = _faker(locale, seed)
        for sex, suffix in (("F", "female"), ("M", "male")):
            _add_counted(given, ("given", locale, sex), _draw(fake, f"first_name_{suffix}"), locale)
        if locale in CYRILLIC_LOCALES:
            for sex, suffix in (("F", "female"), ("M", "male")):
                _add_counted(
                    given, ("middle", locale, sex), _draw(fake, f"middle_name_{suffix}"), locale
                )
        elif locale == "vi_VN":
            others = _draw(fake, "middle_name")
            # Vietnamese women's middle name is most often Thị, men's often Văn
            _add_counted(given, ("middle", locale, "F"), others + ["Thị"] * 4 * len(others), locale)
            _add_counted(given, ("middle", locale, "M"), others + ["Văn"] * len(others), locale)
        else:
            for sex in SEXES:
                given.alias_group(("middle", locale, sex), ("given", locale, sex))
        if locale in ("ru_RU", "uk_UA", "pl_PL"):  # surnames with a feminine form
            for sex, suffix in (("F", "female"), ("M", "male")):
                _add_counted(
                    surnames, ("surname", locale, sex), _draw(fake, f"last_name_{suffix}"), locale
                )
        else:
            _add_counted(surnames, ("surname", locale, "F"), _draw(fake, "last_name"), locale)
            surnames.alias_group(("surname", locale, "M"), ("surname", locale, "F"))
    return NamePools(
        given=given.build(with_nicknames=True),
        surnames=surnames.build(with_nicknames=False),
        locales=wanted,
    )
