"""Hardening options (x-htlink.hardening): salt, balanced, BLIP; fast path == reference."""

from __future__ import annotations

import copy
import os
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htlink.encode.bloom import ClkEncoder
from htlink.encode.hardening import balance_permutation
from htlink.encode.reference import reference_clk
from htlink.errors import SchemaError, SecretError
from htlink.schema import parse_schema

SECRET = b"0123456789abcdef0123456789abcdef"

BASE: dict[str, Any] = {
    "version": 3,
    "clkConfig": {"l": 128, "kdf": {"type": "HKDF"}},
    "features": [
        {"identifier": "id", "ignored": True},
        {
            "identifier": "name",
            "format": {"type": "string"},
            "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerToken": 5}},
        },
        {
            "identifier": "dob",
            "format": {"type": "date", "format": "%Y-%m-%d"},
            "hashing": {
                "comparison": {"type": "ngram", "n": 1, "positional": True},
                "strategy": {"bitsPerFeature": 30},
                "hash": {"type": "doubleHash"},
            },
        },
        {
            "identifier": "code",
            "format": {"type": "string", "maxLength": 4},
            "hashing": {
                "comparison": {"type": "exact"},
                "strategy": {"bitsPerFeature": 9},
                "missingValue": {"sentinel": "", "replaceWith": "none"},
            },
        },
    ],
}


def schema_with(hardening: dict[str, Any] | None, folds: int = 0, length: int = 128) -> Any:
    raw = copy.deepcopy(BASE)
    raw["clkConfig"]["l"] = length
    raw["clkConfig"]["xor_folds"] = folds
    if hardening is not None:
        raw["x-htlink"] = {"version": 1, "hardening": hardening}
    return parse_schema(raw)


class Stream:
    """A fixed byte stream read in order: the same bytes for both encoders."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def __call__(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        assert len(out) == n, "stream exhausted"
        self.pos += n
        return out


names = st.one_of(st.none(), st.sampled_from(["", "ana", "anna", "bo"]), st.text(max_size=6))
dobs = st.one_of(
    st.none(),
    st.sampled_from(["", "1990-01-02", "1990-07-30", "1985-05-06", "0999-01-01", "bad"]),
    st.dates().map(lambda d: d.strftime("%Y-%m-%d")),
)
codes = st.one_of(st.none(), st.sampled_from(["", "ab", "abcde", "x"]))
records = st.lists(st.tuples(names, dobs, codes), min_size=1, max_size=20)
hardenings = st.fixed_dictionaries(
    {},
    optional={
        "salt": st.sampled_from(
            [{"feature": "dob", "part": "year"}, {"feature": "dob"}, {"feature": "name"}]
        ),
        "balanced": st.booleans(),
        "blip": st.sampled_from([{"f": 0.02}, {"f": 0.3}]),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records, hardening=hardenings, folds=st.integers(0, 1))
def test_fast_equals_reference_with_hardening(
    rows: list[tuple[str | None, ...]], hardening: dict[str, Any], folds: int
) -> None:
    schema = schema_with(hardening, folds)
    columns = {n: [r[i] for r in rows] for i, n in enumerate(["name", "dob", "code"])}
    data = os.urandom(4 * len(rows) * schema.encoding_length)
    chunk = ClkEncoder(schema, SECRET, randbytes=Stream(data)).encode(columns)
    stream = Stream(data)
    assert chunk.clks.shape[1] == (schema.encoding_length + 7) // 8
    for i, row in enumerate(rows):
        assert chunk.clks[i].tobytes() == reference_clk(schema, SECRET, ["x", *row], stream)


def test_no_hardening_changes_nothing() -> None:
    """An empty hardening object encodes exactly like the schema without the extension."""
    columns = {"name": ["ana", None], "dob": ["1990-01-02", None], "code": ["ab", None]}
    plain = ClkEncoder(schema_with(None), SECRET).encode(columns).clks
    empty = ClkEncoder(schema_with({}), SECRET).encode(columns).clks
    assert np.array_equal(plain, empty)
    assert schema_with(None).encoding_length == 128
    assert not schema_with({}).hardening.enabled


def _encode(hardening: dict[str, Any], columns: dict[str, list[str | None]]) -> np.ndarray:
    schema = schema_with(hardening, length=1024)
    bits: np.ndarray = np.unpackbits(ClkEncoder(schema, SECRET).encode(columns).clks, axis=1)
    return bits.astype(bool)


def test_salt_separates_groups_and_keeps_equal_salts_equal() -> None:
    columns: dict[str, list[str | None]] = {
        "name": ["smith", "smith", "smith", "smith", "smith"],
        "dob": ["1990-01-02", "1990-12-31", "1991-01-02", None, "not a date"],
        "code": ["ab"] * 5,
    }
    salted = _encode({"salt": {"feature": "dob", "part": "year"}}, columns)
    plain = _encode({}, columns)
    name_only = _encode({}, {**columns, "dob": [None] * 5, "code": [None] * 5})[0]
    # same year: the name and code set the same bits; different year: unrelated bits
    same = salted[0] & salted[1]
    assert same.sum() >= name_only.sum()
    other = salted[0] & salted[2]
    assert other.sum() < 0.5 * same.sum()
    # a missing and an invalid salt value both take the empty salt: equal encodings
    assert np.array_equal(salted[3], salted[4])
    assert not np.array_equal(salted[3], plain[3])  # the empty salt is still a salt


def test_salt_by_whole_value() -> None:
    columns: dict[str, list[str | None]] = {
        "name": ["smith", "smith"], "dob": ["1990-01-02", "1990-01-03"], "code": ["ab", "ab"]
    }  # fmt: skip
    by_year = _encode({"salt": {"feature": "dob", "part": "year"}}, columns)
    by_value = _encode({"salt": {"feature": "dob"}}, columns)
    assert (by_year[0] & by_year[1]).sum() > 2 * (by_value[0] & by_value[1]).sum()


def test_balanced_has_exactly_half_ones_and_a_keyed_permutation() -> None:
    columns: dict[str, list[str | None]] = {
        "name": ["ana", None, "a much longer name"], "dob": [None] * 3, "code": [None] * 3
    }  # fmt: skip
    bits = _encode({"balanced": True}, columns)
    assert bits.shape[1] == 2048
    assert (bits.sum(axis=1) == 1024).all()
    perm = balance_permutation(SECRET, 1024)
    assert sorted(perm.tolist()) == list(range(2048))
    assert not np.array_equal(perm, balance_permutation(b"another secret!!", 1024))
    assert np.array_equal(perm, balance_permutation(SECRET, 1024))  # deterministic
    assert schema_with({"balanced": True}).encoding_length == 256


def test_blip_flips_at_rate_f_and_is_not_reproducible() -> None:
    schema = schema_with({"blip": {"f": 0.05}}, length=1024)
    plain = schema_with({}, length=1024)
    columns: dict[str, list[str | None]] = {
        "name": ["ana"] * 400, "dob": ["1990-01-02"] * 400, "code": ["ab"] * 400
    }  # fmt: skip
    base = np.unpackbits(ClkEncoder(plain, SECRET).encode(columns).clks, axis=1)
    first = np.unpackbits(ClkEncoder(schema, SECRET).encode(columns).clks, axis=1)
    second = np.unpackbits(ClkEncoder(schema, SECRET).encode(columns).clks, axis=1)
    rate = (first != base).mean()
    assert 0.045 < rate < 0.055
    assert not np.array_equal(first, second)
    assert len({row.tobytes() for row in first}) == 400  # equal records encode differently


def test_field_level_is_hardened_like_the_clk() -> None:
    schema = schema_with({"balanced": True, "salt": {"feature": "dob", "part": "year"}})
    columns: dict[str, list[str | None]] = {
        "name": ["ana", None, "ana"], "dob": ["1990-01-02", "1990-01-02", "1991-01-01"],
        "code": ["ab", "ab", "ab"],
    }  # fmt: skip
    chunk = ClkEncoder(schema, SECRET, field_level=True).encode(columns)
    assert chunk.fields is not None
    name = np.unpackbits(chunk.fields["name"], axis=1)
    assert name.shape[1] == 256
    assert name[0].sum() == 128  # balanced
    assert name[1].sum() == 0  # missing stays an empty filter
    assert not np.array_equal(name[0], name[2])  # other birth year, other bits


@pytest.mark.parametrize("secret", [b"", None])
def test_encoding_without_a_secret_is_impossible(secret: Any) -> None:
    schema = schema_with(None)
    with pytest.raises(SecretError) as fast:
        ClkEncoder(schema, secret)
    with pytest.raises(SecretError):
        reference_clk(schema, secret, ["x", "ana", None, None])
    assert "secret" in str(fast.value)


@pytest.mark.parametrize(
    ("hardening", "expected"),
    [
        ("yes", "hardening: must be an object"),
        ({"pepper": 1}, "unknown key pepper"),
        ({"balanced": "yes"}, "balanced: must be true or false"),
        ({"blip": {"f": 0}}, "blip.f: must be a flip probability strictly between 0 and 0.5"),
        ({"blip": {"f": 0.5}}, "blip.f: must be a flip probability"),
        ({"blip": {"f": True}}, "blip.f: must be a flip probability"),
        ({"blip": 0.02}, 'blip: must be an object such as {"f": 0.02}'),
        ({"salt": {"feature": "nope"}}, '(no feature is called "nope")'),
        ({"salt": {"feature": "id"}}, '"id" is ignored'),
        ({"salt": {"feature": "name", "part": "year"}}, '"year" needs a date feature'),
        ({"salt": {"feature": "dob", "part": "month"}}, 'salt.part: must be "year" or "value"'),
        ({"salt": "dob"}, "salt: must be an object"),
    ],
)  # fmt: skip
def test_invalid_hardening_is_refused_with_the_key(hardening: Any, expected: str) -> None:
    with pytest.raises(SchemaError) as info:
        schema_with(hardening)
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_large_blip_warns() -> None:
    schema = schema_with({"blip": {"f": 0.2}})
    assert any("blip.f" in w for w in schema.warnings)


def test_hardening_changes_the_fingerprint() -> None:
    fps = {
        schema_with(h).fingerprint
        for h in (None, {"balanced": True}, {"blip": {"f": 0.02}}, {"salt": {"feature": "dob"}})
    }
    assert len(fps) == 4
