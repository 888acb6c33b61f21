"""normalize_column: counting, shape, dtypes, and each distinct value once."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import htlink.normalize.column as column_module
from htlink.normalize import (
    REASONS,
    AgencyOptions,
    NormalizationRule,
    NormalizedColumn,
    normalize_column,
    parse_rule,
)

TODAY = dt.date(2024, 6, 1)


def test_counts_and_reasons():
    rule = parse_rule("dob", {"kind": "date"}, date_format="%Y-%m-%d")
    values = pd.Series(
        ["1990-01-02", "1990-01-02", "1990-02-30", "2030-01-01", "1990-02-30", "", "  ", None,
         np.nan, "1985-07-08 00:00:00", "1850-01-01", "nope"],
        index=[f"r{i}" for i in range(12)],
        name="dob",
    )  # fmt: skip
    result = normalize_column(values, rule, AgencyOptions(today=TODAY))
    assert isinstance(result, NormalizedColumn)
    assert result.n_input_missing == 4
    assert result.n_invalid == 5
    assert result.invalid_reasons == {
        "bad_date": 1, "future_date": 1, "impossible_date": 2, "too_early": 1,
    }  # fmt: skip
    assert result.n_valid == 3
    assert result.n_changed == 1
    assert result.n_repaired == 0
    assert result.values.tolist() == [
        "1990-01-02", "1990-01-02", None, None, None, None, None, None, None, "1985-07-08",
        None, None,
    ]  # fmt: skip
    assert list(result.values.index) == list(values.index)
    assert result.values.name == "dob"
    assert result.values.dtype == object
    assert set(result.invalid_reasons) <= set(REASONS)


def test_string_dtype_and_categorical_inputs():
    rule = NormalizationRule("first", "given_name")
    for dtype in ("object", "string", "category"):
        values = pd.Series(["José", None, "Mr. Li", "José"], dtype=dtype)
        result = normalize_column(values, rule)
        assert result.values.dtype == object
        assert result.values.tolist() == ["jose", None, "li", "jose"]
        assert all(type(v) is str for v in result.values if v is not None)
        assert result.n_input_missing == 1


def test_numeric_column():
    rule = NormalizationRule("zip", "us_zip")
    values = pd.Series([2134.0, np.nan, 90210.0])
    result = normalize_column(values, rule)
    assert result.values.tolist() == ["02134", None, "90210"]
    assert result.n_repaired == 1
    assert result.n_input_missing == 1


def test_empty_column():
    result = normalize_column(pd.Series([], dtype=object), NormalizationRule("x", "text"))
    assert len(result.values) == 0
    assert (result.n_input_missing, result.n_invalid, result.n_changed) == (0, 0, 0)


def test_list_input_is_accepted():
    result = normalize_column(["A", None], NormalizationRule("x", "text"))
    assert result.values.tolist() == ["a", None]


def test_conversion_artifacts_are_placeholders():
    rule = NormalizationRule("x", "text")
    result = normalize_column(pd.Series(["nan", "NaN", "None", "<NA>", "Nan", "NULL"]), rule)
    assert result.invalid_reasons == {"placeholder": 5}
    assert result.values.tolist()[4] == "nan"  # "Nan" is a name


def test_each_distinct_value_is_normalized_once(monkeypatch):
    calls = []
    real = column_module.check_text

    def counting(text):
        calls.append(text)
        return real(text)

    monkeypatch.setattr(column_module, "check_text", counting)
    values = pd.Series(["a", "b", "a", None, "b", "c"] * 10_000)
    result = normalize_column(values, NormalizationRule("x", "text"))
    assert sorted(calls) == ["a", "b", "c"]
    assert result.n_input_missing == 10_000
    assert len(result.values) == 60_000


def test_large_column_is_fast_enough():
    rng = np.random.default_rng(0)
    names = np.array([f"Nöme{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(2000)])
    values = pd.Series(names[rng.integers(0, len(names), 300_000)])
    result = normalize_column(values, NormalizationRule("first", "given_name"))
    assert result.n_input_missing + result.n_invalid + result.n_valid == 300_000
    assert result.values.iloc[0] == values.iloc[0].lower().replace("ö", "o")


def test_invalid_reasons_and_counts_never_hold_values():
    secret = "Zyxwvutsq"
    rule = NormalizationRule("first", "given_name")
    result = normalize_column(pd.Series([secret + "9", "unknown " + secret]), rule)
    text = repr(result.invalid_reasons) + repr(
        (result.n_input_missing, result.n_invalid, result.n_changed, result.n_repaired)
    )
    assert secret.lower() not in text.lower()


@pytest.mark.parametrize("order", [None, "MDY"])
def test_ambiguous_dates_in_unused_rows_only(order):
    rule = NormalizationRule("dob", "date", date_format="%Y-%m-%d")
    values = pd.Series(["1990-01-02"] * 3)
    assert normalize_column(values, rule, AgencyOptions(order, TODAY)).n_valid == 3
