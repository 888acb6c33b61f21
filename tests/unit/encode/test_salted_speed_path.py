"""The vectorized salted path of ClkEncoder: bit for bit the reference, across salt groups.

Many records share a salt, many have one of their own; salts are missing, invalid
or the ``missingValue`` sentinel (the empty salt); values are missing, invalid or
sentinels; field-level encodings and chunking must not change a bit.
"""

from __future__ import annotations

import copy
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from htlink.encode.bloom import ClkEncoder, SaltKeyDeriver
from htlink.encode.hardening import salt_value, salted_key
from htlink.encode.reference import reference_clk
from htlink.schema import load_schema_file, parse_schema
from htlink.schema.model import LinkageSchema

SECRET = b"0123456789abcdef0123456789abcdef"
SCHEMAS = Path(__file__).resolve().parents[3] / "configs" / "schemas"

CUSTOM: dict[str, Any] = {
    "version": 3,
    "clkConfig": {"l": 256, "kdf": {"type": "HKDF"}},
    "features": [
        {"identifier": "id", "ignored": True},
        {
            "identifier": "name",
            "format": {"type": "string"},
            # short names get k > 32: several BLAKE2b digests per token
            "hashing": {
                "comparison": {"type": "ngram", "n": 2},
                "strategy": {"bitsPerFeature": 90},
            },
        },
        {
            "identifier": "dob",
            "format": {"type": "date", "format": "%Y-%m-%d"},
            "hashing": {
                "comparison": {"type": "ngram", "n": 1, "positional": True},
                "strategy": {"bitsPerFeature": 30},
                "hash": {"type": "doubleHash"},
                "missingValue": {"sentinel": "0000-00-00", "replaceWith": "unknown"},
            },
        },
        {
            "identifier": "code",
            "format": {"type": "string", "maxLength": 4},
            "hashing": {
                "comparison": {"type": "exact"},
                "strategy": {"bitsPerToken": 40},
                "hash": {"type": "doubleHash", "prevent_singularity": True},
                "missingValue": {"sentinel": "", "replaceWith": "none"},
            },
        },
    ],
}


def custom_schema(part: str, folds: int = 0) -> LinkageSchema:
    raw = copy.deepcopy(CUSTOM)
    raw["clkConfig"]["xor_folds"] = folds
    raw["x-htlink"] = {"version": 1, "hardening": {"salt": {"feature": "dob", "part": part}}}
    return parse_schema(raw)


def dobs(rng: random.Random, n: int) -> list[str | None]:
    """Half from a few shared dates, half (nearly) unique; some missing or invalid."""
    shared = [
        f"19{rng.randrange(40, 99)}-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)}" for _ in range(6)
    ]
    out: list[str | None] = []
    for _ in range(n):
        r = rng.random()
        if r < 0.45:
            out.append(rng.choice(shared))
        elif r < 0.85:
            out.append(
                f"{rng.randrange(1900, 2020)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            )
        else:
            out.append(rng.choice([None, "", "not a date", "1999-13-40"]))
    return out


def person_columns(n: int, seed: int = 7) -> dict[str, list[str | None]]:
    rng = random.Random(seed)
    names = ["anna", "bo", "x", "", "jean-luc", "maría", "li", "o'neil", "zoë ann"]
    return {
        "given_name": [rng.choice([*names, None]) for _ in range(n)],
        "surname": [
            rng.choice(["smith", "ng", "", None, "de la cruz", "müller", "o"]) for _ in range(n)
        ],
        "dob": dobs(rng, n),
        "sex": [rng.choice(["m", "f", "x", None, "", "q"]) for _ in range(n)],
        "zip": [
            rng.choice([f"{rng.randrange(1000, 99999):05d}", None, "12", "abcde"]) for _ in range(n)
        ],
        "phone": [rng.choice([f"{rng.randrange(10**9, 10**10)}", None, ""]) for _ in range(n)],
    }


def custom_columns(n: int, seed: int = 11) -> dict[str, list[str | None]]:
    rng = random.Random(seed)
    dob = dobs(rng, n)
    for i in rng.sample(range(n), n // 10):
        dob[i] = "0000-00-00"  # the sentinel: hashed as "unknown", salted with the empty salt
    return {
        "name": [rng.choice(["a", "ab", "abc", "", None, "bob", "ann marie"]) for _ in range(n)],
        "dob": dob,
        "code": [rng.choice(["", None, "A1", "B22", "toolong", "ZZ"]) for _ in range(n)],
    }


def record(schema: LinkageSchema, columns: dict[str, list[str | None]], i: int) -> list[str | None]:
    return [None if f.ignored else columns[f.identifier][i] for f in schema.features]


def cases() -> list[tuple[str, LinkageSchema, dict[str, list[str | None]]]]:
    out = []
    for name in ("person-v1-salted-dob", "person-v1-salted"):
        out.append((name, load_schema_file(SCHEMAS / f"{name}.json"), person_columns(300)))
    for part in ("value", "year"):
        for folds in (0, 1):
            out.append((f"custom-{part}-{folds}", custom_schema(part, folds), custom_columns(300)))
    return out


CASES = cases()


@pytest.mark.parametrize(("name", "schema", "columns"), CASES, ids=[c[0] for c in CASES])
def test_fast_equals_reference(
    name: str, schema: LinkageSchema, columns: dict[str, list[str | None]]
) -> None:
    chunk = ClkEncoder(schema, SECRET).encode(columns)
    n = len(next(iter(columns.values())))
    for i in range(n):
        expected = reference_clk(schema, SECRET, record(schema, columns, i))
        assert chunk.clks[i].tobytes() == expected, (name, i)


@pytest.mark.parametrize(("name", "schema", "columns"), CASES, ids=[c[0] for c in CASES])
def test_chunking_and_field_level_change_nothing(
    name: str, schema: LinkageSchema, columns: dict[str, list[str | None]]
) -> None:
    whole = ClkEncoder(schema, SECRET, field_level=True).encode(columns)
    plain = ClkEncoder(schema, SECRET).encode(columns)
    assert np.array_equal(whole.clks, plain.clks)
    assert whole.features == plain.features
    enc = ClkEncoder(schema, SECRET, field_level=True)
    first = enc.encode({k: v[:113] for k, v in columns.items()})
    second = enc.encode({k: v[113:] for k, v in columns.items()})
    assert np.array_equal(np.concatenate([first.clks, second.clks]), whole.clks)
    assert whole.fields is not None and first.fields is not None and second.fields is not None
    for feature, bits in whole.fields.items():
        assert np.array_equal(np.concatenate([first.fields[feature], second.fields[feature]]), bits)
        counts = whole.features[feature]
        assert counts.missing == first.features[feature].missing + second.features[feature].missing
        assert counts.invalid == first.features[feature].invalid + second.features[feature].invalid
        assert (
            counts.bits_set == first.features[feature].bits_set + second.features[feature].bits_set
        )
    if schema.clk.xor_folds == 0:
        # unfolded: every feature's field is part of the CLK
        union = np.zeros_like(whole.clks)
        for bits in whole.fields.values():
            assert np.array_equal(bits & whole.clks, bits)
            union |= bits
        assert np.array_equal(union & whole.clks, union)


def test_counts_and_absent_fields() -> None:
    schema = custom_schema("value")
    columns = custom_columns(300)
    chunk = ClkEncoder(schema, SECRET, field_level=True).encode(columns)
    assert chunk.fields is not None
    dob = columns["dob"]
    missing = sum(v is None or v == "" for v in dob)
    invalid = sum(v in ("not a date", "1999-13-40") for v in dob)
    assert chunk.features["dob"].missing == missing
    assert chunk.features["dob"].invalid == invalid
    for i, value in enumerate(dob):
        absent = value in (None, "", "not a date", "1999-13-40", "0000-00-00")
        assert chunk.fields["dob"][i].any() != absent
    code = columns["code"]
    assert chunk.features["code"].invalid == sum(v == "toolong" for v in code)
    for i, value in enumerate(code):
        if value in (None, "", "toolong"):
            assert not chunk.fields["code"][i].any()
        else:
            assert chunk.fields["code"][i].any()


@pytest.mark.parametrize("part", ["value", "year"])
def test_value_salts_match_salt_value(part: str) -> None:
    schema = custom_schema(part)
    enc = ClkEncoder(schema, SECRET)
    values = [None, "", "0000-00-00", "bad", "0999-02-03", "2001-12-31", "1970-01-01", "2001-2-3"]
    columns = {"name": ["x"] * len(values), "dob": values, "code": ["A"] * len(values)}
    series = {k: pd.Series(v, dtype=object) for k, v in columns.items()}
    factorized = {}
    for name, s in series.items():
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        factorized[name] = (np.where(codes < 0, len(uniques), codes), list(uniques))
    per_value, codes = enc._value_salts(series, factorized, {})
    feature, salt = schema.feature("dob"), schema.hardening.salt
    assert salt is not None
    got = [per_value[c] for c in codes]
    assert got == [salt_value(feature, salt, v) for v in values]


@pytest.mark.parametrize("length", [16, 32, 64, 100])
def test_salt_key_deriver_is_hkdf(length: int) -> None:
    key = os.urandom(length)
    deriver = SaltKeyDeriver(key)
    for salt in ["", "1970", "19700101", "ünïcödé", "x" * 300]:
        assert deriver.derive(salt) == salted_key(key, salt)
