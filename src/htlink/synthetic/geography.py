"""A small synthetic state: counties, cities, ZIP codes, streets, area codes.

Twenty fictional counties, each with a handful of cities and five-digit ZIP
codes in the 01xxx-02xxx range (so a lost leading zero is a real risk), one
telephone area code each, and street names from Faker's ``en_US`` locale.
ZIP code, city and county always agree with each other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

COUNTY_NAMES = (
    "Ashford", "Bellmont", "Cedar", "Driftwood", "Elm Valley", "Fairhaven", "Glenmore",
    "Harbor", "Ironwood", "Juniper", "Kingsbridge", "Lakeside", "Millbrook", "Northgate",
    "Oakridge", "Pinecrest", "Quarry", "Riverbend", "Stonefield", "Westmarch",
)
AREA_CODES = (413, 508, 617, 774, 781, 857, 978)
ZIP_BLOCK = 85  # ZIP codes available to each county: 01001 + i * 85 ...
STREET_DRAWS = 4000


@dataclass
class Geography:
    """Counties, ZIP codes (with city and county) and streets, as numpy arrays."""

    counties: tuple[str, ...]
    county_weight: np.ndarray  # share of people living in each county
    zips: np.ndarray  # str, five digits
    zip_county: np.ndarray  # int
    zip_city: np.ndarray  # object
    zip_weight_in_county: np.ndarray  # float: share of its county's people
    county_area_code: np.ndarray  # int
    streets: np.ndarray  # object
    street_prob: np.ndarray

    def county_zips(self, county: int) -> np.ndarray:
        """Indices of the ZIP codes of one county."""
        return np.flatnonzero(self.zip_county == county)

    def sample_zips(self, counties: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One ZIP index per entry of ``counties``, by the ZIP codes' population."""
        out = np.empty(len(counties), dtype=np.int32)
        for c in np.unique(counties):
            rows = np.flatnonzero(counties == c)
            zips = self.county_zips(int(c))
            p = self.zip_weight_in_county[zips]
            out[rows] = zips[rng.choice(len(zips), size=len(rows), p=p / p.sum())]
        return out


def build_geography(rng: np.random.Generator) -> Geography:
    """The synthetic state; its cities and streets come from Faker ``en_US`` (seeded)."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(int(rng.integers(0, 2**31 - 1)))
    n_counties = len(COUNTY_NAMES)
    weight = 1.0 / np.arange(1, n_counties + 1) ** 0.5
    county_weight = rng.permutation(weight / weight.sum())
    cities: list[str] = []
    seen: set[str] = set()
    while len(cities) < n_counties * 6:
        city = fake.city()
        if city not in seen:
            seen.add(city)
            cities.append(city)
    zips: list[str] = []
    zip_county: list[int] = []
    zip_city: list[str] = []
    zip_weight: list[float] = []
    for county in range(n_counties):
        n_zip = int(rng.integers(6, 21))
        offsets = np.sort(rng.choice(ZIP_BLOCK, size=n_zip, replace=False))
        codes = offsets + 1001 + county * ZIP_BLOCK
        n_city = int(rng.integers(2, min(6, n_zip) + 1))
        county_cities = cities[county * 6 : county * 6 + n_city]
        city_of_zip = np.concatenate(
            [np.arange(n_city), rng.integers(0, n_city, size=n_zip - n_city)]
        )
        rng.shuffle(city_of_zip)
        shares = rng.dirichlet(np.full(n_zip, 5.0))
        for code, city, share in zip(codes, city_of_zip, shares, strict=True):
            zips.append(f"{int(code):05d}")
            zip_county.append(county)
            zip_city.append(county_cities[int(city)])
            zip_weight.append(float(share))
    counts = Counter(fake.street_name() for _ in range(STREET_DRAWS))
    streets = sorted(counts)
    street_prob = np.asarray([counts[s] for s in streets], dtype=float)
    return Geography(
        counties=COUNTY_NAMES,
        county_weight=county_weight,
        zips=np.asarray(zips),
        zip_county=np.asarray(zip_county, dtype=np.int32),
        zip_city=np.asarray(zip_city, dtype=object),
        zip_weight_in_county=np.asarray(zip_weight),
        county_area_code=rng.choice(np.asarray(AREA_CODES), size=n_counties),
        streets=np.asarray(streets, dtype=object),
        street_prob=street_prob / street_prob.sum(),
    )
