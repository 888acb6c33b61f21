"""The date rule."""

import datetime as dt

import pandas as pd
import pytest

from htlink.errors import InputDataError
from htlink.normalize import (
    AgencyOptions,
    NormalizationRule,
    format_date,
    normalize_column,
    normalize_value,
    parse_date,
)

TODAY = dt.date(2024, 6, 1)
D = dt.date


def rule(date_format="%Y-%m-%d", **options):
    return NormalizationRule("dob", "date", date_format=date_format, **options)


@pytest.mark.parametrize(
    "raw",
    [
        "1990-01-02",
        "1990-01-02 00:00:00",
        "1990-01-02T00:00:00",
        "1990-01-02T00:00:00.000Z",
        "1990-01-02T13:45:00+02:00",
        "1990-1-2",
        "19900102",
        "1990/01/02",
        "1990.01.02",
        "2 Jan 1990",
        "January 2, 1990",
        "02-JAN-1990",
        "Jan 2nd, 1990",
        "Tuesday, January 2, 1990",
        "1990 Jan 02",
        "2 de enero de 1990",
        "2. Januar 1990",
        "2 janvier 1990",
        "  1990-01-02  ",
    ],
)
def test_unambiguous_forms(raw):
    assert parse_date(raw, today=TODAY) == D(1990, 1, 2)


@pytest.mark.parametrize("raw", ["03/04/1990", "03-04-1990", "03.04.1990", "3/4/1990"])
def test_day_month_order_comes_from_the_agency(raw):
    assert parse_date(raw, "MDY", today=TODAY) == D(1990, 3, 4)
    assert parse_date(raw, "DMY", today=TODAY) == D(1990, 4, 3)
    r = rule()
    assert normalize_value(raw, r, AgencyOptions("YMD")).reason == "date_order_mismatch"


def test_missing_order_raises_and_never_guesses():
    with pytest.raises(InputDataError):
        parse_date("03/04/1990")
    # not even when the day is obviously > 12
    with pytest.raises(InputDataError):
        parse_date("25/12/1990")
    values = pd.Series(["1990-01-02", "25/12/1990", "07/08/1985", None])
    with pytest.raises(InputDataError) as info:
        normalize_column(values, rule(), AgencyOptions(today=TODAY))
    message = str(info.value)
    assert '"dob"' in message
    assert "--date-order" in message
    assert "2 value(s)" in message
    for value in ("25/12/1990", "07/08/1985", "1990-01-02", "1985", "1990"):
        assert value not in message


def test_no_order_needed_when_no_ambiguous_value():
    values = pd.Series(["1990-01-02", "2 Jan 1990"])
    result = normalize_column(values, rule(), AgencyOptions(today=TODAY))
    assert result.values.tolist() == ["1990-01-02", "1990-01-02"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1990-02-30", "impossible_date"),
        ("1991-02-29", "impossible_date"),
        ("1990-13-01", "impossible_date"),
        ("31/04/1990", "impossible_date"),  # read DMY: 31 April
        ("0000-01-01", "impossible_date"),
        ("2030-01-01", "future_date"),
        ("2024-06-02", "future_date"),
        ("1899-12-31", "too_early"),
        ("03/04/90", "two_digit_year"),
        ("02-JAN-90", "two_digit_year"),
        ("900102", "two_digit_year"),
        ("1990", "partial_date"),
        ("1990-01", "partial_date"),
        ("01/1990", "partial_date"),
        ("January 1990", "partial_date"),
        ("yesterday", "bad_date"),
        ("32875", "bad_date"),  # an Excel serial number is not read
        ("1990-01-02-03", "bad_date"),
        ("Jan Feb 1990", "bad_date"),
    ],
)
def test_invalid_dates(raw, reason):
    result = normalize_value(raw, rule(), AgencyOptions("DMY", today=TODAY))
    assert result.value is None
    assert result.reason == reason


def test_boundaries_are_valid():
    opts = AgencyOptions("DMY", today=TODAY)
    assert normalize_value("2024-06-01", rule(), opts).value == "2024-06-01"
    assert normalize_value("1900-01-01", rule(), opts).value == "1900-01-01"
    assert normalize_value("29/02/1992", rule(), opts).value == "1992-02-29"


def test_min_year_option():
    opts = AgencyOptions(today=TODAY)
    assert normalize_value("1850-05-06", rule(min_year=1800), opts).value == "1850-05-06"
    assert normalize_value("1950-05-06", rule(min_year=2000), opts).reason == "too_early"


def test_two_digit_year_pivot():
    r = rule(two_digit_year_pivot=1930)
    mdy = AgencyOptions("MDY", today=TODAY)
    assert normalize_value("03/04/90", r, mdy).value == "1990-03-04"
    assert normalize_value("03/04/30", r, mdy).value == "1930-03-04"
    assert normalize_value("03/04/05", r, mdy).value == "2005-03-04"
    assert normalize_value("03/04/29", r, mdy).reason == "future_date"  # 2029
    assert normalize_value("02-JAN-90", r, mdy).value == "1990-01-02"
    assert normalize_value("030490", r, mdy).value == "1990-03-04"
    assert normalize_value("900304", r, AgencyOptions("YMD", today=TODAY)).value == "1990-03-04"
    with pytest.raises(InputDataError):
        normalize_value("03/04/90", r, AgencyOptions(today=TODAY))


def test_output_uses_the_schema_format():
    opts = AgencyOptions("MDY", today=TODAY)
    assert normalize_value("1990-01-02", rule("%d/%m/%Y"), opts).value == "02/01/1990"
    assert normalize_value("Jan 2 1990", rule("%Y%m%d"), opts).value == "19900102"


def test_years_are_always_four_digits():
    assert format_date(D(990, 1, 2), "%Y-%m-%d") == "0990-01-02"
    assert format_date(D(5, 1, 2), "%d.%m.%Y") == "02.01.0005"
    assert format_date(D(1990, 1, 2), "%Y%%%m") == "1990%01"
    r = rule(min_year=1)
    assert normalize_value("0990-01-02", r, AgencyOptions(today=TODAY)).value == "0990-01-02"


def test_timestamps_and_dates_as_input():
    values = pd.Series(pd.to_datetime(["1990-01-02", None, "1985-07-08 10:30"], format="ISO8601"))
    result = normalize_column(values, rule(), AgencyOptions(today=TODAY))
    assert result.values.tolist() == ["1990-01-02", None, "1985-07-08"]
    assert result.n_input_missing == 1
    values = pd.Series([D(1990, 1, 2), None], dtype=object)
    result = normalize_column(values, rule(), AgencyOptions(today=TODAY))
    assert result.values.tolist() == ["1990-01-02", None]


def test_default_today_is_the_real_today():
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    assert parse_date(tomorrow.isoformat()) is None
    assert parse_date(dt.date.today().isoformat()) == dt.date.today()
