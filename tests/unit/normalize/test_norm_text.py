"""The text, postcode and digits rules."""

import pytest

from htlink.normalize import normalize_digits, normalize_postcode, normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Saint-Étienne!! ", "saint etienne"),
        ("Main   St.\tApt 4", "main st apt 4"),
        ("ＦＵＬＬＷＩＤＴＨ １２", "fullwidth 12"),  # NFKC
        ("Straße", "strasse"),
        ("Coeur d'Alene", "coeur d alene"),  # text rule: apostrophe is punctuation
        ("São Paulo ☺", "sao paulo"),  # symbols and emoji are dropped
        ("Mül\u00adler", "muller"),  # soft hyphen is invisible
        ("Москва", "moskva"),
        ("---", None),
        ("", None),
        ("   ", None),
        (None, None),
        (float("nan"), None),
        (12, "12"),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SW1A 1AA", "sw1a1aa"),
        ("sw1a-1aa", "sw1a1aa"),
        ("H0H 0H0", "h0h0h0"),
        ("10115", "10115"),
        ("--", None),
    ],
)
def test_normalize_postcode(raw, expected):
    assert normalize_postcode(raw) == expected


@pytest.mark.parametrize(
    ("raw", "kwargs", "expected"),
    [
        ("123-45-6789", {}, "123456789"),
        ("MRN: 00042", {}, "00042"),
        ("١٢٣", {}, "123"),  # Arabic-Indic digits
        ("abc", {}, None),
        ("123-45-6789", {"length": 9}, "123456789"),
        ("123-45-678", {"length": 9}, None),
        (1234.0, {}, "1234"),  # a float column's whole numbers
    ],
)
def test_normalize_digits(raw, kwargs, expected):
    assert normalize_digits(raw, **kwargs) == expected
