"""parse_rule, NormalizationRule and AgencyOptions."""

import datetime as dt

import pytest

from htlink.errors import HtlinkError, SchemaError
from htlink.normalize import (
    KIND_OPTIONS,
    RULE_KINDS,
    AgencyOptions,
    NormalizationRule,
    SexCodes,
    parse_rule,
)


def problems(feature, spec, **kwargs):
    with pytest.raises(SchemaError) as info:
        parse_rule(feature, spec, **kwargs)
    return info.value.problems


def test_kinds():
    assert RULE_KINDS == (
        "text", "given_name", "surname", "date", "sex", "us_zip", "postcode", "phone", "digits",
    )  # fmt: skip
    assert set(KIND_OPTIONS) == set(RULE_KINDS)


@pytest.mark.parametrize("kind", [k for k in RULE_KINDS if k != "date"])
def test_every_kind_parses_with_defaults_and_round_trips(kind):
    rule = parse_rule("f", {"kind": kind})
    assert rule.kind == kind
    assert rule.feature == "f"
    assert rule.to_spec() == {"kind": kind, **KIND_OPTIONS[kind]}
    assert parse_rule("f", rule.to_spec()) == rule
    hash(rule)


def test_surname_options():
    rule = parse_rule("last", {"kind": "surname", "particles": "drop", "compound": "first"})
    assert (rule.particles, rule.compound) == ("drop", "first")


def test_date_rule():
    rule = parse_rule(
        "dob", {"kind": "date", "min_year": 1800, "two_digit_year_pivot": 1930},
        date_format="%Y-%m-%d",
    )  # fmt: skip
    assert rule.date_format == "%Y-%m-%d"
    assert rule.min_year == 1800
    assert rule.two_digit_year_pivot == 1930
    assert rule.to_spec() == {"kind": "date", "min_year": 1800, "two_digit_year_pivot": 1930}


def test_sex_codes():
    rule = parse_rule("sex", {"kind": "sex", "codes": {"male": "1", "female": "2", "other": "3"}})
    assert rule.codes == SexCodes("1", "2", "3")
    assert rule.to_spec()["codes"] == {"male": "1", "female": "2", "other": "3"}


def test_unknown_kind_message():
    assert problems("dob", {"kind": "dte"}) == [
        'x-htlink.features.dob.normalize.kind: unknown kind "dte"; known kinds: text, '
        "given_name, surname, date, sex, us_zip, postcode, phone, digits"
    ]


def test_date_needs_date_format():
    assert problems("dob", {"kind": "date"}) == [
        'x-htlink.features.dob.normalize: kind "date" needs the feature to have format type "date"'
    ]


def test_date_format_must_identify_a_day():
    [problem] = problems("dob", {"kind": "date"}, date_format="%Y-%m")
    assert problem.startswith("x-htlink.features.dob.normalize: ")
    [problem] = problems("dob", {"kind": "date"}, date_format="%y-%m-%d")
    assert "four-digit year" in problem


def test_date_feature_with_other_kind():
    [problem] = problems("dob", {"kind": "text"}, date_format="%Y-%m-%d")
    assert problem.startswith("x-htlink.features.dob.normalize.kind:")


def test_missing_kind_and_wrong_spec():
    assert problems("x", {}) == [
        "x-htlink.features.x.normalize.kind: required; known kinds: text, given_name, "
        "surname, date, sex, us_zip, postcode, phone, digits"
    ]
    assert problems("x", ["surname"])[0].startswith("x-htlink.features.x.normalize: must be")
    assert "unknown kind" in problems("x", {"kind": 3})[0]


def test_all_problems_at_once():
    found = problems(
        "last",
        {"kind": "surname", "particles": "glue", "compound": "hyphen", "keep": "first", "x": 1},
    )
    assert found == [
        "x-htlink.features.last.normalize.particles: must be one of join, drop, keep",
        "x-htlink.features.last.normalize.compound: must be one of space, join, first",
        'x-htlink.features.last.normalize.keep: unknown option "keep" for kind "surname"; '
        "known options: particles, compound",
        'x-htlink.features.last.normalize.x: unknown option "x" for kind "surname"; '
        "known options: particles, compound",
    ]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"kind": "text", "foo": 1}, "it takes no options"),
        ({"kind": "date", "min_year": "1900"}, "min_year: must be a year"),
        ({"kind": "date", "min_year": True}, "min_year: must be a year"),
        ({"kind": "date", "two_digit_year_pivot": 30}, "four-digit year such as 1930"),
        ({"kind": "sex", "iso5218": 1}, "iso5218: must be true or false"),
        ({"kind": "sex", "codes": {"male": "m", "female": "f"}}, 'exactly the keys "male"'),
        ({"kind": "sex", "codes": {"male": "m", "female": "m", "other": "x"}}, "must differ"),
        ({"kind": "sex", "codes": {"male": "", "female": "f", "other": "x"}}, "non-empty"),
        ({"kind": "us_zip", "restore_leading_zero": "yes"}, "must be true or false"),
        ({"kind": "phone", "country": "FR"}, "country: must be one of US"),
        ({"kind": "digits", "length": 0}, "length: must be a number of digits"),
        ({"kind": "given_name", "keep": "last"}, "keep: must be one of all, first"),
    ],
)
def test_option_problems(spec, fragment):
    date_format = "%Y-%m-%d" if spec["kind"] == "date" else None
    found = problems("f", spec, date_format=date_format)
    assert len(found) == 1
    assert fragment in found[0]


def test_codes_as_mapping():
    rule = NormalizationRule("s", "sex", codes={"male": "1", "female": "2", "other": "9"})
    assert rule.codes == SexCodes("1", "2", "9")
    with pytest.raises(SchemaError):
        NormalizationRule("s", "sex", codes={"male": "1"})


def test_direct_construction_is_validated():
    with pytest.raises(SchemaError):
        NormalizationRule("f", "surname", particles="glue")
    with pytest.raises(SchemaError) as info:
        NormalizationRule("f", "text", particles="drop")  # option of another kind
    assert "unknown option" in info.value.problems[0]
    with pytest.raises(SchemaError):
        NormalizationRule("f", "date")


def test_agency_options():
    assert AgencyOptions().date_order is None
    assert AgencyOptions("mdy").date_order == "MDY"
    assert AgencyOptions(date_order=" DMY ").date_order == "DMY"
    assert AgencyOptions(today=dt.datetime(2024, 1, 2, 3, 4)).today == dt.date(2024, 1, 2)
    with pytest.raises(HtlinkError):
        AgencyOptions("MD")
    with pytest.raises(HtlinkError):
        AgencyOptions(today="2024-01-01")
