"""Names as one agency writes them: spelling, married names, aliases, errors.

For each record the person's name entries are turned into text in the
agency's way (diacritics kept or not, Cyrillic kept or transliterated, now
and then a less usual transliteration), with the surname the person had on
the record's day (birth or married, plain or hyphenated; the second of two
surnames sometimes dropped).  Then the scenario's name corruptions, in this
order: alias, nickname, middle name in the given-name field, given/surname
swap, spelling by sound, keyboard typo, OCR error, missing value.  Every
corruption that changed a name is counted.
"""

from __future__ import annotations

import numpy as np

from htlink.synthetic.corrupt import keyboard_typo, ocr_error, phonetic_misspelling
from htlink.synthetic.pools import ALT1, ALT2, NATIVE, PREFERRED
from htlink.synthetic.world import AgencyJob

CYRILLIC = ("ru_RU", "uk_UA")


def _join_surnames(
    first: np.ndarray, second: np.ndarray, married: np.ndarray, new: np.ndarray,
    hyphen: np.ndarray,
) -> np.ndarray:
    out = np.empty(len(first), dtype=object)
    for i, (a, b, wed, n, h) in enumerate(
        zip(first.tolist(), second.tolist(), married.tolist(), new.tolist(), hyphen.tolist(),
            strict=True)
    ):
        birth = a if b is None else f"{a} {b}"
        out[i] = (f"{birth}-{n}" if h else n) if wed else birth
    return out


def render_names(job: AgencyJob) -> tuple[np.ndarray, np.ndarray]:
    """Given names and surnames of the agency's records (None where missing)."""
    pop, pools, spec = job.world.population, job.world.pools, job.spec
    person, day, n = job.draw.person, job.draw.day, job.size
    given_forms, surname_forms = pools.given.forms, pools.surnames.forms

    # spelling: Cyrillic kept, a less usual transliteration, or the person's own
    variant = np.full(n, PREFERRED, dtype=np.int8)
    native = job.chance(spec.native_script, np.isin(pop.locale[person], CYRILLIC))
    variant[native] = NATIVE
    other = job.chance(spec.rate("transliteration"), ~native)
    variant[other] = np.where(job.rng.random(int(other.sum())) < 0.5, ALT1, ALT2)
    marks = (job.rng.random(n) >= spec.diacritics).astype(np.int8)

    g_idx, s1_idx, s2_idx = pop.given[person], pop.surname1[person], pop.surname2[person]
    given = given_forms[variant, marks, g_idx]
    first = surname_forms[variant, marks, s1_idx]
    respelled = other & (
        (given != given_forms[PREFERRED, marks, g_idx])
        | (first != surname_forms[PREFERRED, marks, s1_idx])
    )
    job.counts["transliteration"] += int(respelled.sum())

    has_second = s2_idx >= 0
    drop = job.chance(spec.rate("surname_drop"), has_second)
    job.counts["surname_drop"] += int(drop.sum())
    second = np.where(
        has_second & ~drop, surname_forms[variant, marks, np.maximum(s2_idx, 0)], None
    )
    m_idx = pop.married_surname[person]
    married = (m_idx >= 0) & (pop.marriage_day[person] <= day)
    job.counts["married_surname"] += int(married.sum())
    new = surname_forms[variant, marks, np.maximum(m_idx, 0)]
    surname = _join_surnames(first, second, married, new, pop.hyphenated[person])

    # a record made under an alias (only full-name aliases can be a record's name)
    aliases = job.world.population.aliases
    full = {p: [a for a in names if a[1] is not None] for p, names in aliases.items()}
    holders = np.asarray([p for p, names in full.items() if names], dtype=np.int64)
    as_alias = job.chance(spec.rate("alias"), np.isin(person, holders))
    for i in np.flatnonzero(as_alias).tolist():
        given[i], surname[i] = job.rnd.choice(full[int(person[i])])
    job.counts["alias"] += int(as_alias.sum())
    job.used_alias = as_alias
    own = ~as_alias

    has_nick = np.fromiter((bool(x) for x in pools.given.nicknames), dtype=bool)
    nick = job.chance(spec.rate("nickname"), own & has_nick[g_idx])
    for i in np.flatnonzero(nick).tolist():
        given[i] = job.rnd.choice(pools.given.nicknames[g_idx[i]])
    job.counts["nickname"] += int(nick.sum())

    mid_idx = pop.middle[person]
    mid = job.chance(spec.rate("middle_in_given"), own & (mid_idx >= 0))
    middles = given_forms[variant[mid], marks[mid], mid_idx[mid]]
    given[mid] = [f"{g} {m}" for g, m in zip(given[mid].tolist(), middles.tolist(), strict=True)]
    job.counts["middle_in_given"] += int(mid.sum())

    swap = job.chance(spec.rate("name_swap"))
    given[swap], surname[swap] = surname[swap], given[swap].copy()
    job.counts["name_swap"] += int(swap.sum())

    for values in (given, surname):
        job.apply(values, job.chance(spec.rate("phonetic")), phonetic_misspelling, "phonetic")
        job.apply(values, job.chance(spec.rate("typo")), keyboard_typo, "typo")
        job.apply(values, job.chance(spec.rate("ocr")), ocr_error, "ocr")

    for values, field_name in ((given, "given_name"), (surname, "surname")):
        gone = job.chance(spec.missing_rate(field_name))
        values[gone] = None
        job.counts[f"missing_{field_name}"] += int(gone.sum())
    return given, surname
