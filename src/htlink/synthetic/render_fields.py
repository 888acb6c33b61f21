"""Date of birth, sex, address, ZIP code and phone as one agency writes them.

Each function renders one field for all of an agency's records at once,
applies the scenario's corruptions of that field and counts those that
changed a value.  Missing values are None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htlink.synthetic.corrupt import digit_typo, ocr_error
from htlink.synthetic.dates import days_in_month, format_ymd, split_days
from htlink.synthetic.world import AgencyJob

#: How often each phone layout occurs (clerks differ even within one system).
PHONE_LAYOUTS = (("({a}) {e}-{l}", 0.85), ("{a}-{e}-{l}", 0.1), ("{a}.{e}.{l}", 0.05))


def render_dob(job: AgencyJob, pattern: str) -> np.ndarray:
    """Dates of birth written by ``pattern`` (see :func:`~htlink.synthetic.dates.format_ymd`)."""
    spec = job.spec
    year, month, day = split_days(job.world.population.dob[job.draw.person])
    jan1 = job.chance(spec.rate("dob_jan1"))
    job.counts["dob_jan1"] += int((jan1 & ((month != 1) | (day != 1))).sum())
    month[jan1], day[jan1] = 1, 1
    swap = job.chance(spec.rate("dob_swap"), (day <= 12) & (day != month) & ~jan1)
    month[swap], day[swap] = day[swap], month[swap]
    job.counts["dob_swap"] += int(swap.sum())
    shift = job.chance(spec.rate("dob_year"))
    year[shift] += np.where(job.rng.random(int(shift.sum())) < 0.5, -1, 1)
    day = np.minimum(day, days_in_month(year, month))
    job.counts["dob_year"] += int(shift.sum())
    text = np.asarray(format_ymd(year, month, day, pattern), dtype=object)
    job.apply(text, job.chance(spec.rate("dob_typo")), digit_typo, "dob_typo")
    job.apply(text, job.chance(spec.rate("ocr")), ocr_error, "ocr")
    gone = job.chance(spec.missing_rate("dob"))
    text[gone] = None
    job.counts["missing_dob"] += int(gone.sum())
    return text


def render_sex(job: AgencyJob, female: str, male: str, unknown: str | None) -> np.ndarray:
    """Sex in the agency's codes; ``unknown`` where it is missing."""
    is_female = job.world.population.female[job.draw.person].copy()
    wrong = job.chance(job.spec.rate("sex_error"))
    is_female[wrong] = ~is_female[wrong]
    job.counts["sex_error"] += int(wrong.sum())
    out = np.where(is_female, female, male).astype(object)
    gone = job.chance(job.spec.missing_rate("sex"))
    out[gone] = unknown
    job.counts["missing_sex"] += int(gone.sum())
    return out


@dataclass
class AddressFields:
    """Street address, city, county and ZIP of each record, plus the address slot used."""

    street: np.ndarray
    city: np.ndarray
    county: np.ndarray
    zip: np.ndarray
    slot: np.ndarray  # the address the person really had on the record's day


def render_address(job: AgencyJob, zip_plus4: float) -> AddressFields:
    """The address the person had on the record's day (or an earlier one, if stale)."""
    pop, geo, spec = job.world.population, job.world.geography, job.spec
    person = job.draw.person
    slot = pop.address_slot(person, job.draw.day)
    used = slot.copy()
    stale = job.chance(spec.rate("stale_address"), slot > 0)
    used[stale] -= 1
    job.counts["stale_address"] += int(stale.sum())
    house = pop.house_number[person, used].tolist()
    street_idx = pop.street[person, used].tolist()
    unit = pop.unit[person, used].tolist()
    zip_idx = pop.zip_idx[person, used]
    streets = geo.streets
    street = np.asarray(
        [
            f"{h} {streets[s]}" + (f" Apt {u}" if u else "")
            for h, s, u in zip(house, street_idx, unit, strict=True)
        ],
        dtype=object,
    )
    city = geo.zip_city[zip_idx].copy()
    county = np.asarray(geo.counties, dtype=object)[geo.zip_county[zip_idx]]
    zips = geo.zips[zip_idx].astype(object)
    plus4 = job.chance(zip_plus4)
    zip4 = pop.zip4[person, used][plus4].tolist()
    zips[plus4] = [f"{z}-{p:04d}" for z, p in zip(zips[plus4].tolist(), zip4, strict=True)]
    job.apply(zips, job.chance(spec.rate("zip_typo")), digit_typo, "zip_typo")
    lost = job.chance(spec.rate("zip_leading_zero"), ~plus4)
    job.apply(zips, lost, lambda z, _rnd: z.lstrip("0") or z, "zip_leading_zero")
    gone = job.chance(spec.missing_rate("address"))
    street[gone] = None
    city[gone] = None
    job.counts["missing_address"] += int(gone.sum())
    gone = job.chance(spec.missing_rate("zip"))
    zips[gone] = None
    job.counts["missing_zip"] += int(gone.sum())
    return AddressFields(street=street, city=city, county=county, zip=zips, slot=slot)


def render_phone(job: AgencyJob, slot: np.ndarray) -> np.ndarray:
    """The person's phone number on the record's day, in one of the usual layouts."""
    numbers = job.world.population.phone[job.draw.person, slot].tolist()
    layouts = [layout for layout, _ in PHONE_LAYOUTS]
    shares = np.asarray([share for _, share in PHONE_LAYOUTS])
    choice = job.rng.choice(len(layouts), size=job.size, p=shares / shares.sum()).tolist()
    out = np.empty(job.size, dtype=object)
    for i, (number, k) in enumerate(zip(numbers, choice, strict=True)):
        if number:
            digits = f"{number:010d}"
            out[i] = layouts[k].format(a=digits[:3], e=digits[3:6], l=digits[6:])
    job.apply(out, job.chance(job.spec.rate("phone_typo")), digit_typo, "phone_typo")
    gone = job.chance(job.spec.missing_rate("phone")) & np.not_equal(out, None)
    out[gone] = None
    job.counts["missing_phone"] += int(gone.sum())
    return out
