"""Property tests: never raise, alphabet, idempotence, counts, shape, no values in output."""

import datetime as dt
import re
import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htlink.errors import InputDataError
from htlink.normalize import (
    REASONS,
    RULE_KINDS,
    AgencyOptions,
    NormalizationRule,
    normalize_column,
    normalize_name,
    normalize_value,
)

TODAY = dt.date(2024, 6, 1)
DATE_FORMAT = "%Y-%m-%d"

REALISTIC = [
    "José", "Müller", "O'Brien", "de la Cruz-Pérez", "Dr. Jane Smith Jr.", "Nguyễn Văn A",
    "王小明", "Иванов", "Παπαδόπουλος", "محمد", "Baby Girl", "unknown", "n/a", "McDonald",
    "1990-01-02", "2 Jan 1990", "03/04/1990", "03/04/90", "19900102", "1990-02-30",
    "F", "male", "1", "02134", "2134", "12345-6789", "617-555-2368 x12", "SW1A 1AA",
    "", "   ", "nan", "☺", "\x00", "٣٤", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]  # fmt: skip
CELLS = st.one_of(
    st.text(),
    st.sampled_from(REALISTIC),
    st.none(),
    st.just(float("nan")),
    st.just(pd.NA),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_rule(kind, **options):
    if kind == "date":
        return NormalizationRule("f", kind, date_format=DATE_FORMAT, **options)
    return NormalizationRule("f", kind, **options)


ALPHABET = {
    "text": re.compile(r"[a-z0-9]+( [a-z0-9]+)*"),
    "given_name": re.compile(r"[a-z]+( [a-z]+)*"),
    "surname": re.compile(r"[a-z]+( [a-z]+)*"),
    "date": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
    "sex": re.compile(r"[mfx]"),
    "us_zip": re.compile(r"[0-9]{5}"),
    "postcode": re.compile(r"[a-z0-9]+"),
    "phone": re.compile(r"[2-9][0-9]{2}[2-9][0-9]{6}"),
    "digits": re.compile(r"[0-9]+"),
}


@pytest.mark.parametrize("kind", RULE_KINDS)
@FAST
@given(cells=st.lists(CELLS, max_size=30))
def test_column_invariants(kind, cells):
    index = pd.Index([f"row{i}" for i in range(len(cells))][::-1])
    values = pd.Series(cells, index=index, dtype=object)
    result = normalize_column(values, make_rule(kind), AgencyOptions("DMY", today=TODAY))
    out = result.values
    # shape, order and dtype
    assert out.dtype == object
    assert list(out.index) == list(index)
    assert len(out) == len(values)
    for raw, norm in zip(cells, out, strict=True):
        assert norm is None or type(norm) is str
        if norm is not None:
            assert ALPHABET[kind].fullmatch(norm), (kind, norm)
            # row by row agrees with value by value
        expected = normalize_value(raw, make_rule(kind), AgencyOptions("DMY", today=TODAY))
        assert expected.value == norm
    # every row counted once
    n_present = sum(v is not None for v in out)
    assert result.n_input_missing + result.n_invalid + n_present == len(values)
    assert sum(result.invalid_reasons.values()) == result.n_invalid
    assert set(result.invalid_reasons) <= set(REASONS)
    assert all(count > 0 for count in result.invalid_reasons.values())
    assert 0 <= result.n_repaired <= n_present
    assert 0 <= result.n_changed <= n_present


@pytest.mark.parametrize("kind", RULE_KINDS)
@FAST
@given(cells=st.lists(st.one_of(st.text(), st.sampled_from(REALISTIC)), max_size=20))
def test_never_raises_except_for_date_order(kind, cells):
    try:
        normalize_column(pd.Series(cells, dtype=object), make_rule(kind), AgencyOptions())
    except InputDataError as error:
        assert kind == "date"
        assert "--date-order" in str(error)


@pytest.mark.parametrize("kind", [k for k in RULE_KINDS if k not in ("given_name", "surname")])
@FAST
@given(cell=st.one_of(st.text(), st.sampled_from(REALISTIC)))
def test_idempotent(kind, cell):
    rule = make_rule(kind)
    options = AgencyOptions("DMY", today=TODAY)
    once = normalize_value(cell, rule, options).value
    if once is not None:
        assert normalize_value(once, rule, options).value == once


NAME_TEXT = st.one_of(
    st.text(),
    st.sampled_from(REALISTIC),
    st.lists(
        st.sampled_from(
            ["de", "la", "van", "der", "mc", "o", "y", "mr", "dr", "jr", "iii", "sr", "baby",
             "boy", "smith", "garcia", "-", "'", ".", "2nd", "st", "le", "x", "ii"]
        ),
        max_size=6,
    ).map(" ".join),
)  # fmt: skip


@FAST
@given(
    cell=NAME_TEXT,
    particles=st.sampled_from(["join", "drop", "keep"]),
    compound=st.sampled_from(["space", "join", "first"]),
    keep=st.sampled_from(["all", "first"]),
)
def test_names_idempotent(cell, particles, compound, keep):
    surname = normalize_name(cell, "surname", particles=particles, compound=compound)
    if surname is not None:
        assert normalize_name(surname, "surname", particles=particles, compound=compound) == (
            surname
        )
    given_name = normalize_name(cell, "given", keep=keep)
    if given_name is not None:
        assert normalize_name(given_name, "given", keep=keep) == given_name


SECRET = st.text(alphabet=string.ascii_letters + string.digits, min_size=8, max_size=12)


@pytest.mark.parametrize("kind", RULE_KINDS)
@FAST
@given(
    secret=SECRET, day=st.integers(1, 28), month=st.integers(1, 12), year=st.integers(1950, 1999)
)
def test_no_values_in_reasons_counts_or_errors(kind, secret, day, month, year):
    ambiguous = f"{day:02d}/{month:02d}/{year}"
    cells = [secret, f"Mr {secret}", f"{secret}-9", ambiguous, None]
    values = pd.Series(cells, dtype=object)
    try:
        result = normalize_column(values, make_rule(kind), AgencyOptions(today=TODAY))
    except InputDataError as error:
        assert kind == "date"
        shown = str(error) + repr(error.args)
        for cell in cells[:-1]:
            assert cell not in shown
        assert secret.lower() not in shown.lower()
        return
    reported = repr(result.invalid_reasons) + repr(
        [result.n_input_missing, result.n_invalid, result.n_changed, result.n_repaired]
    )
    assert secret.lower() not in reported.lower()
    assert ambiguous not in reported
    assert set(result.invalid_reasons) <= set(REASONS)


@FAST
@given(cells=st.lists(st.sampled_from([*REALISTIC, None]), max_size=50))
def test_column_matches_values_for_any_index(cells):
    rng = np.random.default_rng(len(cells))
    index = pd.Index(rng.permutation(len(cells)) * 7)
    values = pd.Series(cells, index=index, dtype=object)
    rule = make_rule("surname")
    result = normalize_column(values, rule)
    assert list(result.values.index) == list(index)
    assert result.values.tolist() == [normalize_name(c, "surname") for c in cells]
