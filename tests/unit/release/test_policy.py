"""Policies: the shipped ones load, a bad one lists every problem; hierarchies coarsen right."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from htlink.release.hierarchies import build_hierarchy, hipaa_low_population_zip3
from htlink.release.policy import PolicyError, is_identifier_column, load_policy, parse_policy

POLICIES = sorted((Path(__file__).resolve().parents[3] / "configs" / "release").glob("*.yaml"))


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_shipped_policies_load(path: Path) -> None:
    policy = load_policy(path)
    assert policy.name == path.stem
    assert policy.suppression.threshold_max == 10
    if policy.name == "victim-services-strict":
        assert not policy.microdata and policy.tables


def test_every_problem_is_listed() -> None:
    raw = yaml.safe_load((POLICIES[0]).read_text())
    raw["microdata"]["k"] = 1
    raw["microdata"]["quasi_identifiers"]["nope"] = "missing_hierarchy"
    raw["tables"][0]["dimensions"].append("ghost")
    raw["suppression"]["threshold"]["zeros"] = "maybe"
    with pytest.raises(PolicyError) as info:
        parse_policy(raw)
    text = "\n".join(info.value.problems)
    assert len(info.value.problems) >= 5, text
    for needle in ("microdata.k", "missing_hierarchy", "'ghost'", "zeros", "'nope'"):
        assert needle in text


def test_age_bands_and_top_coding() -> None:
    h, problems = build_hierarchy("age", {"type": "interval", "bands": [5, 10], "top_code": 90})
    assert not problems and h is not None
    ages = pd.Series(["3", "89", "90", "104", "", "x"])
    assert h.generalize(ages, 0).tolist() == ["3", "89", "90+", "90+", "(missing)", "(missing)"]
    assert h.generalize(ages, 1).tolist()[:4] == ["0-4", "85-89", "90+", "90+"]
    assert h.generalize(ages, 2).tolist()[:2] == ["0-9", "80-89"]
    assert h.generalize(ages, 3).tolist() == ["*"] * 6
    _, bad = build_hierarchy("age", {"type": "interval", "bands": [5, 7]})
    assert bad


def test_dates_zip_and_groups() -> None:
    d, _ = build_hierarchy("d", {"type": "date", "levels": ["month", "quarter", "year"]})
    dates = pd.Series(["2019-05-17", "2020-12-01", None])
    assert d.generalize(dates, 0).tolist() == ["2019-05", "2020-12", "(missing)"]
    assert d.generalize(dates, 1).tolist()[:2] == ["2019-Q2", "2020-Q4"]
    assert d.generalize(dates, 2).tolist()[:2] == ["2019", "2020"]
    z, _ = build_hierarchy(
        "z", {"type": "zip", "levels": ["zip3", {"name": "region", "groups": {"R1": ["021"]}}],
              "low_population_zip3": "hipaa"}
    )  # fmt: skip
    zips = pd.Series(["02134", "03601", "2139"])
    assert "036" in hipaa_low_population_zip3()
    assert z.generalize(zips, 0).tolist() == ["021", "000", "021"]
    assert z.generalize(zips, 1).tolist() == ["R1", "Other", "R1"]
    g, _ = build_hierarchy(
        "g", {"type": "groups", "recode": {"F": "female"},
              "levels": [{"name": "any", "groups": {"person": ["female", "male"]}}]}
    )  # fmt: skip
    assert g.generalize(pd.Series(["F", "male"]), 0).tolist() == ["female", "male"]
    assert g.generalize(pd.Series(["F", "male"]), 1).tolist() == ["person", "person"]


@pytest.mark.parametrize(
    ("column", "identifier"),
    [("DOB", True), ("PatientFirst", True), ("guardian_address", True), ("Phone", True),
     ("VisitID", True), ("ZIP", True), ("ReasonCategory", False), ("County", False),
     ("placement", False), ("Role", False)],
)  # fmt: skip
def test_identifier_columns(column: str, identifier: bool) -> None:
    from htlink.release.policy import IDENTIFIER_PATTERNS

    assert is_identifier_column(column, IDENTIFIER_PATTERNS) is identifier


def test_the_shipped_hipaa_zip3_list_is_the_hhs_list() -> None:
    """The 17 restricted 3-digit ZIPs of HHS's de-identification guidance (2000 Census)."""
    from pathlib import Path

    import htlink.release

    path = Path(htlink.release.__file__).parent / "data" / "hipaa_low_population_zip3.txt"
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines == "036 059 063 102 203 556 692 790 821 823 830 831 878 879 884 890 893".split()
