"""Scenario files: the default file is the built-in default; every mistake is named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tests.unit.synthetic.conftest import DEFAULT_YAML

from htlink.errors import HtlinkError
from htlink.synthetic import ScenarioError, default_scenario, load_scenario, scenario_from_dict
from htlink.synthetic.defaults import CORRUPTION_KINDS, DEFAULT_SCENARIO


def problems_of(data: dict) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    assert isinstance(info.value, HtlinkError) and info.value.hint
    return info.value.problems


def test_default_yaml_is_the_built_in_default_and_lists_every_key() -> None:
    assert load_scenario(DEFAULT_YAML).to_dict() == default_scenario().to_dict()
    raw = yaml.safe_load(DEFAULT_YAML.read_text(encoding="utf-8"))

    def keys(d: dict, prefix: str = "") -> set[str]:
        out = set()
        for k, v in d.items():
            out.add(prefix + str(k))
            if isinstance(v, dict) and k not in ("locales", "agencies_per_person", "agency_weights",
                                                  "records_per_person", "reasons", "report_types",
                                                  "case_size", "roles"):
                out |= keys(v, f"{prefix}{k}.")
        return out

    assert keys(raw) == keys(DEFAULT_SCENARIO)


def test_a_partial_scenario_takes_the_defaults_for_the_rest() -> None:
    s = scenario_from_dict(
        {"population": {"people": 50}, "agencies": {"prosecution": {"corruption": {"typo": 0.5}}},
         "membership": {"agencies_per_person": {1: 1.0}}}
    )
    assert s.population.people == 50
    assert s.population.female_share == DEFAULT_SCENARIO["population"]["female_share"]
    assert list(s.agencies) == ["prosecution"]
    assert s.agencies["prosecution"].rate("typo") == 0.5
    assert s.agencies["prosecution"].rate("ocr") == DEFAULT_SCENARIO["agencies"]["prosecution"][
        "corruption"]["ocr"]
    assert s.membership.agency_weights == {"prosecution": 1.0}
    assert s.with_people(7).population.people == 7


def test_unknown_keys_are_named_with_their_path() -> None:
    problems = problems_of(
        {"populaton": {}, "population": {"peeple": 3},
         "agencies": {"healthcare": {"corruption": {"typos": 0.1}}, "police": {}}}
    )
    text = "\n".join(problems)
    for path in ("populaton", "population.peeple", "agencies.healthcare.corruption.typos",
                 "agencies.police"):
        assert f"{path}: unknown key" in text


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"agencies": {"healthcare": {"corruption": {"typo": 1.5}}}},
         "agencies.healthcare.corruption.typo"),
        ({"agencies": {"healthcare": {"missing": {"dob": -0.1}}}},
         "agencies.healthcare.missing.dob"),
        ({"population": {"female_share": "half"}}, "population.female_share"),
        ({"population": {"alias_share": True}}, "population.alias_share"),
        ({"agencies": {"prosecution": {"aka_listed": 2}}}, "agencies.prosecution.aka_listed"),
    ],
)
def test_rates_outside_0_1_are_refused(data: dict, path: str) -> None:
    problems = problems_of(data)
    assert any(p.startswith(f"{path}: must be a rate between 0 and 1") for p in problems), problems


def test_shares_must_add_up_to_one() -> None:
    problems = problems_of(
        {"population": {"locales": {"en_US": 0.5, "vi_VN": 0.2}},
         "membership": {"agencies_per_person": {1: 0.5}}}
    )
    assert any("population.locales: shares must add up to 1 (they add up to 0.7)" in p
               for p in problems)
    assert any(p.startswith("membership.agencies_per_person: shares must add up to 1")
               for p in problems)


def test_other_mistakes_are_named() -> None:
    text = "\n".join(
        problems_of(
            {
                "reference_date": "2024-12-31",
                "population": {"people": 0, "locales": {"xx_XX": 1.0}},
                "agencies": {
                    "prosecution": {"window": ["2020-01-01", "2030-01-01"],
                                    "corruption": {"phone_typo": 0.1}},
                    "healthcare": {"age_at_record": [50, 10]},
                },
                "membership": {"agencies_per_person": {3: 1.0}},
            }
        )
    )
    assert "population.people: must be between 1 and" in text
    assert "population.locales.xx_XX: unknown choice" in text
    assert "agencies.prosecution.window: the end must not be after reference_date" in text
    assert "agencies.prosecution.corruption.phone_typo: prosecution records have no field" in text
    assert "agencies.healthcare.age_at_record: the maximum age must be above" in text
    assert "membership.agencies_per_person: 3 agencies per person, but the scenario has only 2" in (
        text
    )


def test_file_problems_are_errors_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="does not exist") as info:
        load_scenario(tmp_path / "nope.yaml")
    assert "--scenario" in (info.value.hint or "")
    bad = tmp_path / "bad.yaml"
    bad.write_text("population: [\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid YAML at line 2"):
        load_scenario(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="must be a mapping"):
        load_scenario(listing)
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert load_scenario(empty).to_dict() == default_scenario().to_dict()


def test_every_corruption_kind_is_documented() -> None:
    docs = (DEFAULT_YAML.parents[1] / "docs" / "synthetic-data.md").read_text(encoding="utf-8")
    for kind in CORRUPTION_KINDS:
        assert f"`{kind}`" in docs, kind
    for key in DEFAULT_SCENARIO["population"]:
        assert f"`{key}`" in docs, key
