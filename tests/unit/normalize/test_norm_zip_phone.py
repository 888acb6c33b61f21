"""The us_zip and phone rules."""

import pandas as pd
import pytest

from htlink.normalize import (
    NormalizationRule,
    normalize_column,
    normalize_phone,
    normalize_us_zip,
    normalize_value,
)

ZIP = NormalizationRule("zip", "us_zip")
PHONE = NormalizationRule("phone", "phone")


@pytest.mark.parametrize(
    ("raw", "expected", "repaired"),
    [
        ("02134", "02134", False),
        ("02134-1234", "02134", False),
        ("02134 - 1234", "02134", False),
        ("02134 1234", "02134", False),
        ("021341234", "02134", False),
        (" 90210 ", "90210", False),
        ("2134", "02134", True),
        (2134, "02134", True),
        (2134.0, "02134", True),
        ("2134.0", "02134", True),
        ("90210.0", "90210", True),
        ("21341234", "02134", True),
    ],
)
def test_valid_zips(raw, expected, repaired):
    result = normalize_value(raw, ZIP)
    assert result.value == expected
    assert result.repaired is repaired


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("00000", "placeholder"),
        ("99999", "placeholder"),
        ("11111", "placeholder"),
        ("12345", "placeholder"),
        ("12345-6789", "placeholder"),
        ("0000", "placeholder"),  # repaired to 00000
        ("123", "bad_zip"),
        ("123456", "bad_zip"),
        ("02134-", "bad_zip"),
        ("MA 02134", "bad_zip"),
        ("SW1A 1AA", "bad_zip"),
        ("abcde", "bad_zip"),
    ],
)
def test_invalid_zips(raw, reason):
    result = normalize_value(raw, ZIP)
    assert result.value is None
    assert result.reason == reason


def test_restore_leading_zero_can_be_switched_off():
    rule = NormalizationRule("zip", "us_zip", restore_leading_zero=False)
    assert normalize_value("2134", rule).reason == "bad_zip"
    assert normalize_us_zip("2134", restore_leading_zero=False) is None
    assert normalize_us_zip("2134") == "02134"


def test_repairs_are_counted():
    result = normalize_column(pd.Series(["2134", "2134", "02134", "90210-1234", None]), ZIP)
    assert result.values.tolist() == ["02134", "02134", "02134", "90210", None]
    assert result.n_repaired == 2
    assert result.n_changed == 3  # 2134 twice and the ZIP+4
    assert result.n_input_missing == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("617-555-2368", "6175552368"),
        ("(617) 555-2368", "6175552368"),
        ("+1 617 555 2368", "6175552368"),
        ("1-617-555-2368", "6175552368"),
        ("617.555.2368", "6175552368"),
        ("6175552368", "6175552368"),
        (6175552368, "6175552368"),
        ("617-555-2368 x123", "6175552368"),
        ("617-555-2368x123", "6175552368"),
        ("617-555-2368 ext. 4", "6175552368"),
        ("617-555-2368 Ext 4", "6175552368"),
        ("617-555-2368 extension 44", "6175552368"),
        ("617-555-2368 #12", "6175552368"),
        ("６１７-５５５-２３６８", "6175552368"),
        ("617-555-2368 (cell)", "6175552368"),
    ],
)
def test_valid_phones(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("555-2368", "bad_phone"),
        ("2-617-555-2368", "bad_phone"),
        ("617-555-2368 / 617-555-9999", "bad_phone"),
        ("phone", "bad_phone"),
        ("017-555-2368", "bad_phone"),  # no area code starts with 0
        ("617-155-2368", "bad_phone"),  # no exchange starts with 1
        ("000-000-0000", "placeholder"),
        ("999-999-9999", "placeholder"),
        ("123-456-7890", "placeholder"),
        ("617-555-0100", "placeholder"),
        ("617-555-0199", "placeholder"),
        ("1-617-555-0123", "placeholder"),
    ],
)
def test_invalid_phones(raw, reason):
    result = normalize_value(raw, PHONE)
    assert result.value is None
    assert result.reason == reason


def test_555_outside_the_fictional_range_is_a_real_number():
    assert normalize_phone("617-555-0200") == "6175550200"
