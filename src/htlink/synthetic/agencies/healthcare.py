"""Healthcare: emergency-department visits.

Columns: ``MRN, VisitID, PatientFirst, PatientLast, DOB, Sex, Address, City,
ZIP, Phone, VisitDate, ReasonCode, ReasonCategory``.  Dates are MM/DD/YYYY,
sex is M/F/U, ZIP sometimes ZIP+4, phones like (617) 555-0134.  ``VisitID`` is
the record id; ``MRN`` is the hospital's patient number, which a patient who
registers again (or under another name) gets anew.  ReasonCode is an ICD-10-CM
code of the ReasonCategory (injury, sti, pregnancy, substance_use, other).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from htlink.synthetic.agencies.base import AgencyTable, choose, local_ids, text_column
from htlink.synthetic.dates import DAYS_PER_YEAR, format_ymd, split_days
from htlink.synthetic.randomness import unique_integers
from htlink.synthetic.render_fields import render_address, render_dob, render_phone, render_sex
from htlink.synthetic.render_names import render_names
from htlink.synthetic.world import AgencyJob

ID_COLUMN = "VisitID"
REASON_CODES: dict[str, tuple[str, ...]] = {
    "injury": ("S01.81XA", "S06.0X0A", "S52.501A", "S00.83XA", "T74.11XA", "T76.21XA",
               "S20.211A", "T74.21XA"),
    "sti": ("A54.9", "A56.2", "A53.9", "A59.01", "A60.04", "B20"),
    "pregnancy": ("Z33.1", "O20.0", "O03.9", "Z32.01", "O26.891"),
    "substance_use": ("F11.10", "F14.10", "F10.129", "T40.1X1A", "F15.10", "T40.411A"),
    "other": ("R10.9", "J06.9", "R51.9", "F43.10", "N39.0", "R45.851", "Z04.41"),
}
PREGNANCY_AGES = (12, 50)

MAPPING = {
    "id_column": ID_COLUMN,
    "date_order": "MDY",
    "columns": {
        "given_name": "PatientFirst",
        "surname": "PatientLast",
        "dob": "DOB",
        "sex": "Sex",
        "zip": "ZIP",
        "phone": "Phone",
    },
}


def _reasons(job: AgencyJob) -> tuple[np.ndarray, np.ndarray]:
    shares = job.spec.options["reasons"]
    category = choose(job, shares)
    pop = job.world.population
    age = (job.draw.day - pop.dob[job.draw.person]) / DAYS_PER_YEAR
    can_be_pregnant = pop.female[job.draw.person] & (age >= PREGNANCY_AGES[0]) & (
        age <= PREGNANCY_AGES[1]
    )
    redo = (category == "pregnancy") & ~can_be_pregnant
    if redo.any():
        others = {k: v for k, v in shares.items() if k != "pregnancy"} or {"other": 1.0}
        category[redo] = choose(job, others)[redo]
    pick = job.rng.random(job.size)
    code = np.asarray(
        [REASON_CODES[c][int(u * len(REASON_CODES[c]))] for c, u in zip(category, pick,
                                                                         strict=True)],
        dtype=object,
    )
    return code, category


def build(job: AgencyJob) -> AgencyTable:
    """The healthcare extract, ordered by visit date."""
    opts = job.spec.options
    given, surname = render_names(job)
    address = render_address(job, opts["zip_plus4"])
    group = local_ids(job, opts["new_local_id"])
    mrn = unique_integers(job.rng, int(group.max()) + 1 if job.size else 0, 10**7, 10**8)
    visit = unique_integers(job.rng, job.size, 10**8, 10**9)
    code, category = _reasons(job)
    frame = pd.DataFrame(
        {
            "MRN": [f"{v:08d}" for v in mrn[group].tolist()],
            "VisitID": [f"V{v:09d}" for v in visit.tolist()],
            "PatientFirst": text_column(given),
            "PatientLast": text_column(surname),
            "DOB": text_column(render_dob(job, "MDY/")),
            "Sex": text_column(render_sex(job, "F", "M", "U")),
            "Address": text_column(address.street),
            "City": text_column(address.city),
            "ZIP": text_column(address.zip),
            "Phone": text_column(render_phone(job, address.slot)),
            "VisitDate": format_ymd(*split_days(job.draw.day), "MDY/"),
            "ReasonCode": code,
            "ReasonCategory": category,
        }
    )
    order = np.lexsort((frame["VisitID"].to_numpy(), job.draw.day))
    return AgencyTable(
        kind="healthcare",
        frame=frame.iloc[order].reset_index(drop=True),
        id_column=ID_COLUMN,
        person=job.draw.person[order],
        mapping=MAPPING,
        corruption=job.counts,
    )
