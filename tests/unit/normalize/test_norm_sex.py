"""The sex rule."""

import pytest

from htlink.normalize import NormalizationRule, SexCodes, normalize_sex, normalize_value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("m", "m"), ("M", "m"), ("Male", "m"), ("MAN", "m"), ("boy", "m"),
        ("masculino", "m"), ("H", "m"), ("Hombre", "m"), ("M.", "m"), ("M - Male", "m"),
        ("f", "f"), ("Female", "f"), ("woman", "f"), ("Girl", "f"), ("femenino", "f"),
        ("Mujer", "f"), ("F (female)", "f"),
        ("x", "x"), ("Nonbinary", "x"), ("non-binary", "x"), ("Other", "x"),
        ("intersex", "x"),
    ],
)  # fmt: skip
def test_spellings(raw, expected):
    assert normalize_sex(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("u", "unknown"),
        ("Unknown", "unknown"),
        ("not stated", "unknown"),
        ("Declined", "unknown"),
        ("M/F", "unrecognized"),
        ("q", "unrecognized"),
        ("?", "unrecognized"),
        ("1", "numeric_code"),
        ("2", "numeric_code"),
    ],
)
def test_invalid(raw, reason):
    result = normalize_value(raw, NormalizationRule("sex", "sex"))
    assert result.value is None
    assert result.reason == reason


def test_blank_is_input_missing_not_unknown():
    result = normalize_value("  ", NormalizationRule("sex", "sex"))
    assert result.is_input_missing


def test_iso5218():
    rule = NormalizationRule("sex", "sex", iso5218=True)
    assert normalize_value("1", rule).value == "m"
    assert normalize_value(2, rule).value == "f"
    assert normalize_value(2.0, rule).value == "f"
    assert normalize_value("0", rule).reason == "unknown"
    assert normalize_value("9", rule).reason == "unknown"
    assert normalize_value("3", rule).reason == "unrecognized"
    assert normalize_value("Female", rule).value == "f"
    assert normalize_sex("1", iso5218=True) == "m"


def test_output_codes():
    codes = SexCodes(male="1", female="2", other="9")
    rule = NormalizationRule("sex", "sex", codes=codes)
    assert normalize_value("male", rule).value == "1"
    assert normalize_value("F", rule).value == "2"
    assert normalize_value("X", rule).value == "9"
    assert normalize_sex("woman", codes=codes) == "2"
