"""Social services: child-welfare and runaway reports.

Columns: ``case_id, report_id, report_date, child_name, birth_date, gender,
guardian_address, county, zip, report_type, placement``.  The child's name is
one column written ``Last, First``; dates are ISO (YYYY-MM-DD); gender is
the word male/female/unknown; there is no phone.  ``report_id`` is the record
id; ``case_id`` is the agency's case for the child, sometimes opened anew.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from htlink.synthetic.agencies.base import (
    AgencyTable,
    choose,
    local_ids,
    name_part_mapping,
    text_column,
)
from htlink.synthetic.dates import format_ymd, split_days
from htlink.synthetic.randomness import unique_integers
from htlink.synthetic.render_fields import render_address, render_dob, render_sex
from htlink.synthetic.render_names import render_names
from htlink.synthetic.world import AgencyJob

ID_COLUMN = "report_id"
NAME_COLUMN = "child_name"
PLACEMENTS = {
    "runaway": {"returned_home": 0.5, "runaway_missing": 0.25, "group_home": 0.15,
                "foster_care": 0.1},
    "default": {"in_home": 0.45, "foster_care": 0.25, "kinship_care": 0.15, "group_home": 0.1,
                "none": 0.05},
}

MAPPING = {
    "id_column": ID_COLUMN,
    "columns": {
        **name_part_mapping(NAME_COLUMN, "last_comma_first"),
        "dob": "birth_date",
        "sex": "gender",
        "zip": "zip",
    },
    "absent": ["phone"],
}


def last_comma_first(given: str | None, surname: str | None) -> str | None:
    """``"García López, Ana"``; ``"García López,"`` or ``", Ana"`` when one part is missing."""
    if given is None and surname is None:
        return None
    if given is None:
        return f"{surname},"
    if surname is None:
        return f", {given}"
    return f"{surname}, {given}"


def build(job: AgencyJob) -> AgencyTable:
    """The social-services extract, ordered by report date."""
    opts = job.spec.options
    given, surname = render_names(job)
    address = render_address(job, opts["zip_plus4"])
    group = local_ids(job, opts["new_local_id"])
    cases = unique_integers(job.rng, int(group.max()) + 1 if job.size else 0, 10**6, 10**7)
    reports = unique_integers(job.rng, job.size, 10**7, 10**8)
    report_type = choose(job, opts["report_types"])
    placement = np.where(
        report_type == "runaway", choose(job, PLACEMENTS["runaway"]),
        choose(job, PLACEMENTS["default"]),
    )
    guardian = np.asarray(
        [None if s is None else f"{s}, {c}" for s, c in zip(address.street, address.city,
                                                             strict=True)],
        dtype=object,
    )
    frame = pd.DataFrame(
        {
            "case_id": [f"CW-{v:07d}" for v in cases[group].tolist()],
            "report_id": [f"R{v:08d}" for v in reports.tolist()],
            "report_date": format_ymd(*split_days(job.draw.day), "YMD-"),
            NAME_COLUMN: text_column(
                np.asarray([last_comma_first(g, s) for g, s in zip(given, surname, strict=True)],
                           dtype=object)
            ),
            "birth_date": text_column(render_dob(job, "YMD-")),
            "gender": text_column(render_sex(job, "female", "male", "unknown")),
            "guardian_address": text_column(guardian),
            "county": address.county,
            "zip": text_column(address.zip),
            "report_type": report_type,
            "placement": placement,
        }
    )
    order = np.lexsort((frame["report_id"].to_numpy(), job.draw.day))
    return AgencyTable(
        kind="social_services",
        frame=frame.iloc[order].reset_index(drop=True),
        id_column=ID_COLUMN,
        person=job.draw.person[order],
        mapping=MAPPING,
        corruption=job.counts,
    )
