"""Prosecution: case records with the people in each case.

Columns: ``RecordID, CaseNo, PersonSeq, DefendantOrVictimName, AKA, DOB, Role,
ChargeCategory, Disposition, County, FilingDate``.  A case has one to four
people (victims, witnesses, defendants), never the same person twice.  The
name is one upper-case column, given name first then surname(s); ``AKA``
lists known aliases separated by ``;``.  Dates are DD.MM.YYYY.  There is no
sex, address, ZIP or phone.  ``RecordID`` (``CaseNo-PersonSeq``) is the
record id.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from htlink.synthetic.agencies.base import AgencyTable, choose, name_part_mapping, text_column
from htlink.synthetic.dates import format_ymd, split_days
from htlink.synthetic.pools import PREFERRED
from htlink.synthetic.randomness import unique_integers
from htlink.synthetic.render_fields import render_dob
from htlink.synthetic.render_names import render_names
from htlink.synthetic.world import AgencyJob

ID_COLUMN = "RecordID"
NAME_COLUMN = "DefendantOrVictimName"
CHARGES = {"human_trafficking": 0.2, "commercial_sex": 0.2, "drugs": 0.2, "assault": 0.15,
           "theft": 0.1, "weapons": 0.05, "other": 0.1}
DISPOSITIONS = {"convicted": 0.25, "plea": 0.3, "dismissed": 0.2, "acquitted": 0.05,
                "pending": 0.2}

MAPPING = {
    "id_column": ID_COLUMN,
    "date_order": "DMY",
    "columns": {**name_part_mapping(NAME_COLUMN, "first_last"), "dob": "DOB"},
    "absent": ["sex", "zip", "phone"],
}


def first_last(given: str | None, surname: str | None) -> str | None:
    """``"ANA GARCIA LOPEZ"``: given name then surname(s), upper case; None when both missing."""
    parts = [p for p in (given, surname) if p]
    return " ".join(parts).upper() if parts else None


def _cases(job: AgencyJob) -> tuple[np.ndarray, np.ndarray]:
    """Case number (0..) and position in the case (0..) of each record.

    Records close in time are grouped into cases of the scenario's sizes; a
    person who would appear twice in one case gets a case of their own.
    """
    n = job.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    sizes_spec = job.spec.options["case_size"]
    keys = np.asarray(sorted(sizes_spec))
    p = np.asarray([sizes_spec[k] for k in keys], dtype=float)
    sizes = keys[job.rng.choice(len(keys), size=max(n, 1), p=p / p.sum())]
    by_day = np.lexsort((job.rng.random(n), job.draw.day))
    case_of_slot = np.repeat(np.arange(len(sizes)), sizes)[:n]
    case = np.empty(n, dtype=np.int64)
    case[by_day] = case_of_slot
    frame = pd.DataFrame({"case": case, "person": job.draw.person})
    twice = frame.duplicated(["case", "person"]).to_numpy()
    case[twice] = case.max() + 1 + np.arange(int(twice.sum()))
    _, case = np.unique(case, return_inverse=True)
    shuffle = job.rng.random(n)
    order = np.lexsort((shuffle, case))
    position = np.empty(n, dtype=np.int64)
    starts = np.searchsorted(case[order], case[order], side="left")
    position[order] = np.arange(n) - starts
    return case, position


def _aka(job: AgencyJob, given: np.ndarray, surname: np.ndarray) -> np.ndarray:
    pop, pools = job.world.population, job.world.pools
    out = np.empty(job.size, dtype=object)
    out[:] = ""
    used = job.used_alias if job.used_alias is not None else np.zeros(job.size, dtype=bool)
    listed = job.chance(job.spec.options["aka_listed"])
    g_forms, s_forms = pools.given.forms[PREFERRED, 1], pools.surnames.forms[PREFERRED, 1]
    for i in np.flatnonzero(listed).tolist():
        person = int(job.draw.person[i])
        names = [f"{g} {s}" if s else g for g, s in pop.aliases.get(person, [])]
        if used[i]:
            record_name = f"{given[i] or ''} {surname[i] or ''}".strip()
            real = f"{g_forms[pop.given[person]]} {s_forms[pop.surname1[person]]}"
            names = [real] + [a for a in names if a != record_name]
        if not names:
            continue
        k = 1 + int(job.rnd.random() * len(names))
        chosen = job.rnd.sample(names, k)
        out[i] = "; ".join(a.upper() for a in chosen)
    job.counts["aka_listed"] += int(np.not_equal(out, "").sum())
    return out


def build(job: AgencyJob) -> AgencyTable:
    """The prosecution extract, ordered by case number and person."""
    pop, geo = job.world.population, job.world.geography
    case, position = _cases(job)
    n_cases = int(case.max()) + 1 if job.size else 0
    # a case is filed on one day: the latest day among its people
    case_day = np.full(n_cases, np.iinfo(np.int32).min, dtype=np.int64)
    np.maximum.at(case_day, case, job.draw.day)
    job.draw.day = case_day[case].astype(np.int32)
    given, surname = render_names(job)
    year = split_days(case_day)[0]
    numbers = unique_integers(job.rng, n_cases, 10**6, 10**7)
    case_no = np.asarray([f"{y}-CR-{v:07d}" for y, v in zip(year.tolist(), numbers.tolist(),
                                                           strict=True)], dtype=object)
    charge = np.asarray(list(CHARGES), dtype=object)[
        job.rng.choice(len(CHARGES), size=n_cases, p=np.asarray(list(CHARGES.values())))
    ]
    # the case's county is where its first person lived when it was filed
    slot = pop.address_slot(job.draw.person, job.draw.day)
    county_of_record = geo.zip_county[pop.zip_idx[job.draw.person, slot]]
    case_county = np.zeros(n_cases, dtype=np.int64)
    first = position == 0
    case_county[case[first]] = county_of_record[first]
    role = choose(job, job.spec.options["roles"])
    disposition = np.where(role == "defendant", choose(job, DISPOSITIONS), "N/A").astype(object)
    seq = position + 1
    frame = pd.DataFrame(
        {
            "RecordID": [f"{c}-{s:02d}" for c, s in zip(case_no[case].tolist(), seq.tolist(),
                                                         strict=True)],
            "CaseNo": case_no[case],
            "PersonSeq": seq,
            NAME_COLUMN: text_column(
                np.asarray([first_last(g, s) for g, s in zip(given, surname, strict=True)],
                           dtype=object)
            ),
            "AKA": _aka(job, given, surname),
            "DOB": text_column(render_dob(job, "DMY.")),
            "Role": role,
            "ChargeCategory": charge[case],
            "Disposition": disposition,
            "County": np.asarray(geo.counties, dtype=object)[case_county[case]],
            "FilingDate": format_ymd(*split_days(job.draw.day), "DMY."),
        }
    )
    order = np.lexsort((seq, frame["CaseNo"].to_numpy()))
    return AgencyTable(
        kind="prosecution",
        frame=frame.iloc[order].reset_index(drop=True),
        id_column=ID_COLUMN,
        person=job.draw.person[order],
        mapping=MAPPING,
        corruption=job.counts,
    )
