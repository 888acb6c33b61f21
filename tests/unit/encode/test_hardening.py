"""Hardening options (x-htlink.hardening): salt, balanced, diffusion, BLIP; fast == reference."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htlink.encode.bloom import ClkEncoder
from htlink.encode.hardening import (
    DIFFUSION_LABEL,
    balance_permutation,
    diffuse,
    diffusion_positions,
)
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
        "diffusion": st.sampled_from([{"t": 2}, {"t": 3}, {"t": 4}, {"t": 17}]),
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
        ({"diffusion": 4}, 'diffusion: must be an object such as {"t": 4}'),
        ({"diffusion": {}}, "x-htlink.hardening.diffusion.t: must be an integer from 2 to 64"),
        ({"diffusion": {"t": 4, "s": 1}}, "unknown key s"),
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


# --- diffusion -------------------------------------------------------------------------


def _bits_of(packed: np.ndarray, length: int) -> np.ndarray:
    out: np.ndarray = np.unpackbits(packed, axis=1, count=length).astype(bool)
    return out


def _packed(bits: np.ndarray) -> np.ndarray:
    return np.packbits(np.asarray(bits, dtype=bool), axis=1)


DIFFUSION_CASES = [
    {"diffusion": {"t": 4}},
    {"diffusion": {"t": 2}, "salt": {"feature": "dob", "part": "year"}, "balanced": True},
    {"diffusion": {"t": 5}, "salt": {"feature": "name"}},
    {"diffusion": {"t": 64}, "balanced": True},
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records, case=st.sampled_from(DIFFUSION_CASES), folds=st.integers(0, 2))
def test_fast_equals_reference_with_diffusion(
    rows: list[tuple[str | None, ...]], case: dict[str, Any], folds: int
) -> None:
    schema = schema_with(case, folds)
    assert schema.encoding_length == 128 * (2 if case.get("balanced") else 1)
    columns = {n: [r[i] for r in rows] for i, n in enumerate(["name", "dob", "code"])}
    chunk = ClkEncoder(schema, SECRET).encode(columns)
    assert chunk.clks.shape[1] == schema.encoding_length // 8
    for i, row in enumerate(rows):
        assert chunk.clks[i].tobytes() == reference_clk(schema, SECRET, ["x", *row])


def test_diffusion_with_blip_matches_the_reference_on_the_same_random_stream() -> None:
    schema = schema_with({"diffusion": {"t": 3}, "balanced": True, "blip": {"f": 0.1}})
    rows = [("ana", "1990-01-02", "ab"), (None, None, None), ("bo", "bad", "x")]
    columns = {n: [r[i] for r in rows] for i, n in enumerate(["name", "dob", "code"])}
    data = os.urandom(4 * len(rows) * schema.encoding_length)
    chunk = ClkEncoder(schema, SECRET, randbytes=Stream(data)).encode(columns)
    stream = Stream(data)
    for i, row in enumerate(rows):
        assert chunk.clks[i].tobytes() == reference_clk(schema, SECRET, ["x", *row], stream)


def test_diffusion_is_applied_after_folding_and_balancing() -> None:
    """The fast encoder's output is diffuse(balance(fold(unhardened))) with the spec's sets."""
    columns: dict[str, list[str | None]] = {
        "name": ["ana", "anna", None], "dob": ["1990-01-02", None, None], "code": ["ab"] * 3
    }  # fmt: skip
    plain = ClkEncoder(schema_with({"balanced": True}, folds=1), SECRET).encode(columns).clks
    diffused = schema_with({"balanced": True, "diffusion": {"t": 3}}, folds=1)
    got = ClkEncoder(diffused, SECRET).encode(columns).clks
    positions = diffusion_positions(SECRET, 256, 3)
    assert np.array_equal(got, diffuse(plain, 256, positions))
    bits, out = _bits_of(plain, 256), _bits_of(got, 256)
    for j in (0, 1, 100, 255):
        expected = np.logical_xor.reduce(bits[:, positions[j]], axis=1)
        assert np.array_equal(out[:, j], expected)


def test_diffusion_positions_follow_the_specification() -> None:
    """Recompute the positions from the docstring's definition, independently."""
    key = hmac.new(SECRET, DIFFUSION_LABEL, hashlib.sha256).digest()
    assert DIFFUSION_LABEL == b"htlink:diffusion:v1"
    m, t = 100, 6
    positions = diffusion_positions(SECRET, m, t)
    for j in range(m):
        seq = (
            int.from_bytes(
                hashlib.blake2b(
                    j.to_bytes(4, "big") + c.to_bytes(4, "big"), key=key, digest_size=8
                ).digest(),
                "big",
            )
            % m
            for c in range(10_000)
        )
        expected: list[int] = []
        for p in seq:
            if p not in expected:
                expected.append(p)
            if len(expected) == t:
                break
        assert positions[j].tolist() == expected


@pytest.mark.parametrize(("length", "t"), [(128, 2), (1024, 4), (256, 64), (64, 64)])
def test_diffusion_positions_are_distinct_in_range_and_keyed(length: int, t: int) -> None:
    positions = diffusion_positions(SECRET, length, t)
    assert positions.shape == (length, t) and positions.dtype == np.int64
    assert ((positions >= 0) & (positions < length)).all()
    assert all(len(set(row)) == t for row in positions.tolist())
    assert np.array_equal(positions, diffusion_positions(SECRET, length, t))  # deterministic
    assert not np.array_equal(positions, diffusion_positions(b"another secret!!", length, t))
    if t < length:  # (t == length: every row is a permutation of all positions)
        assert len({tuple(sorted(row)) for row in positions.tolist()}) > length // 2
    with pytest.raises(ValueError):
        diffusion_positions(SECRET, length, length + 1)


def test_diffusion_of_zeros_is_zero_and_the_shape_is_kept() -> None:
    for length in (8, 100, 1024):
        positions = diffusion_positions(SECRET, length, 4)
        zeros = np.zeros((5, (length + 7) // 8), dtype=np.uint8)
        out = diffuse(zeros, length, positions)
        assert out.shape == zeros.shape and not out.any()
    assert diffuse(np.zeros((0, 16), np.uint8), 128, diffusion_positions(SECRET, 128, 4)).shape == (
        0,
        16,
    )


def test_diffusion_works_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are processed in blocks; the result does not depend on the block size."""
    import htlink.encode.hardening as hardening

    rng = np.random.default_rng(7)
    length = 203  # not a multiple of 8: padding bits must stay zero
    packed = _packed(rng.random((37, length)) < 0.3)
    positions = diffusion_positions(SECRET, length, 5)
    whole = diffuse(packed, length, positions)
    monkeypatch.setattr(hardening, "_DIFFUSION_BLOCK_BITS", 3 * length)
    assert np.array_equal(hardening.diffuse(packed, length, positions), whole)
    assert not (whole[:, -1] & 0xFF >> (length % 8)).any()


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    length=st.sampled_from([16, 100, 256]),
    t=st.integers(2, 16),
    rows=st.integers(1, 6),
)
def test_diffusion_is_linear(data: st.DataObject, length: int, t: int, rows: int) -> None:
    width = (length + 7) // 8
    row = st.lists(st.booleans(), min_size=length, max_size=length)
    a = _packed(np.asarray(data.draw(st.lists(row, min_size=rows, max_size=rows))))
    b = _packed(np.asarray(data.draw(st.lists(row, min_size=rows, max_size=rows))))
    assert a.shape == (rows, width)
    positions = diffusion_positions(SECRET, length, t)
    left = diffuse(a ^ b, length, positions)
    assert np.array_equal(left, diffuse(a, length, positions) ^ diffuse(b, length, positions))


def test_diffusion_keeps_the_length_and_spreads_a_single_bit() -> None:
    schema = schema_with({"diffusion": {"t": 4}}, length=1024)
    assert schema.encoding_length == 1024
    assert schema.hardening.enabled and schema.hardening.diffusion_t == 4
    assert "diffusion t=4" in schema.hardening.describe()
    positions = diffusion_positions(SECRET, 1024, 4)
    one = np.zeros((1, 128), dtype=np.uint8)
    one[0, 0] = 0x80  # input bit 0
    out = _bits_of(diffuse(one, 1024, positions), 1024)[0]
    assert out.sum() == (positions == 0).any(axis=1).sum()  # every output bit that reads bit 0


def test_field_level_diffusion_keeps_missing_values_empty() -> None:
    columns: dict[str, list[str | None]] = {
        "name": ["ana", None, "", "ana"], "dob": ["1990-01-02", None, "bad", None],
        "code": ["ab", "", None, "ab"],
    }  # fmt: skip
    for hardening in ({"diffusion": {"t": 4}}, {"diffusion": {"t": 4}, "balanced": True}):
        schema = schema_with(hardening, folds=1)
        m = schema.encoding_length
        chunk = ClkEncoder(schema, SECRET, field_level=True).encode(columns)
        plain = ClkEncoder(
            schema_with({k: v for k, v in hardening.items() if k != "diffusion"}, folds=1),
            SECRET,
            field_level=True,
        ).encode(columns)
        assert chunk.fields is not None and plain.fields is not None
        positions = diffusion_positions(SECRET, m, 4)
        for name, absent in (("name", [1, 2]), ("dob", [1, 2, 3]), ("code", [1, 2])):
            got = chunk.fields[name]
            assert got.shape == (4, m // 8)
            assert not got[absent].any(), name  # missing or invalid: an all-zero filter
            present = [i for i in range(4) if i not in absent]
            assert np.array_equal(got[present], diffuse(plain.fields[name][present], m, positions))
        assert np.array_equal(chunk.fields["name"][0], chunk.fields["name"][3])


def test_diffusion_changes_the_encoding_but_keeps_equal_records_equal() -> None:
    columns: dict[str, list[str | None]] = {
        "name": ["smith", "smith", "smyth", "jones"],
        "dob": ["1990-01-02", "1990-01-02", "1990-01-02", "1975-08-30"],
        "code": ["ab", "ab", "ab", "zz"],
    }  # fmt: skip
    plain = _encode({}, columns)
    diffused = _encode({"diffusion": {"t": 4}}, columns)
    assert not np.array_equal(plain, diffused)
    assert np.array_equal(diffused[0], diffused[1])  # deterministic, no randomness

    def dice(a: np.ndarray, b: np.ndarray) -> float:
        return float(2 * (a & b).sum() / (a.sum() + b.sum()))

    # a close pair stays similar, and clearly more similar than an unrelated one
    assert dice(diffused[0], diffused[2]) > 0.7
    assert dice(diffused[0], diffused[2]) > dice(diffused[0], diffused[3]) + 0.3


@pytest.mark.parametrize("t", [1, 0, 65, -3, "3", 2.5, 4.0, True, None])
def test_invalid_diffusion_t_is_refused_with_the_key(t: Any) -> None:
    with pytest.raises(SchemaError) as info:
        schema_with({"diffusion": {"t": t}})
    message = "\n".join(info.value.problems)
    assert "x-htlink.hardening.diffusion.t: must be an integer from 2 to 64" in message
    assert f"got {json.dumps(t)}" in message


def test_diffusion_t_cannot_exceed_the_encoding_length() -> None:
    with pytest.raises(SchemaError) as info:
        schema_with({"diffusion": {"t": 20}}, length=16)
    assert any(
        "x-htlink.hardening.diffusion.t: is 20, more than the 16 bits" in p
        for p in info.value.problems
    )
    assert schema_with({"diffusion": {"t": 20}, "balanced": True}, length=16).encoding_length == 32


@pytest.mark.parametrize("t", [2, 4, 16, 64])
def test_valid_diffusion_t_is_accepted(t: int) -> None:
    schema = schema_with({"diffusion": {"t": t, "description": "XOR of t bits"}})
    assert schema.hardening.diffusion_t == t
    assert schema.hardening.enabled
    assert any("diffusion" in w for w in schema.warnings) == (t > 16)


def test_large_diffusion_t_warns() -> None:
    schema = schema_with({"diffusion": {"t": 17}})
    assert any(
        "x-htlink.hardening.diffusion.t" in w and "degrade quickly" in w for w in schema.warnings
    )


def test_diffusion_t_is_part_of_the_fingerprint() -> None:
    fps = {
        schema_with(h).fingerprint
        for h in (None, {"diffusion": {"t": 3}}, {"diffusion": {"t": 4}}, {"balanced": True})
    }
    assert len(fps) == 4
