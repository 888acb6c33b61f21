"""The vectorized encoder computes exactly what the plain per-record reference computes."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htlink.encode.bloom import ClkEncoder, xor_fold
from htlink.encode.reference import reference_clk
from htlink.schema import parse_schema

SECRET = b"0123456789abcdef0123456789abcdef"

BASE = {
    "version": 3,
    "clkConfig": {"l": 256, "kdf": {"type": "HKDF"}},
    "features": [
        {"identifier": "id", "ignored": True},
        {
            "identifier": "name",
            "format": {"type": "string"},
            "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerToken": 7}},
        },
        {
            "identifier": "code",
            "format": {"type": "string"},
            "hashing": {
                "comparison": {"type": "ngram", "n": 1, "positional": True},
                "strategy": {"bitsPerFeature": 40},
                "hash": {"type": "doubleHash"},
                "missingValue": {"sentinel": "", "replaceWith": "none"},
            },
        },
        {
            "identifier": "tri",
            "format": {"type": "string"},
            "hashing": {
                "comparison": {"type": "ngram", "n": 3, "positional": True},
                "strategy": {"bitsPerToken": 3},
                "hash": {"type": "doubleHash", "prevent_singularity": True},
            },
        },
        {
            "identifier": "whole",
            "format": {"type": "string", "maxLength": 6},
            "hashing": {"comparison": {"type": "exact"}, "strategy": {"bitsPerFeature": 33}},
        },
        {
            "identifier": "num",
            "format": {"type": "integer", "minimum": -500, "maximum": 500},
            "hashing": {
                "comparison": {"type": "numeric", "thresholdDistance": 10, "resolution": 3},
                "strategy": {"bitsPerToken": 4},
            },
        },
    ],
}

texts = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)
values = st.one_of(st.none(), texts, st.sampled_from(["", "ab", "abc", "12", "-7", "+3", "x" * 7]))
records = st.lists(st.tuples(values, values, values, values, values), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records, folds=st.integers(0, 2), length=st.sampled_from([256, 512]))
def test_fast_equals_reference(rows: list[tuple[str | None, ...]], folds: int, length: int) -> None:
    raw = copy.deepcopy(BASE)
    raw["clkConfig"]["l"] = length
    raw["clkConfig"]["xor_folds"] = folds
    schema = parse_schema(raw)
    names = ["name", "code", "tri", "whole", "num"]
    columns = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    chunk = ClkEncoder(schema, SECRET).encode(columns)
    for i, row in enumerate(rows):
        assert chunk.clks[i].tobytes() == reference_clk(schema, SECRET, ["ignored", *row])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=records,
    folds=st.integers(0, 2),
    length=st.sampled_from([128, 256]),
    t=st.integers(2, 12),  # (t = 64 is checked in test_hardening)
    balanced=st.booleans(),
)
def test_fast_equals_reference_with_diffusion(
    rows: list[tuple[str | None, ...]], folds: int, length: int, t: int, balanced: bool
) -> None:
    """Diffusion (alone or after balancing) computed by numpy blocks == plain Python loops."""
    raw = copy.deepcopy(BASE)
    raw["clkConfig"]["l"] = length
    raw["clkConfig"]["xor_folds"] = folds
    hardening = {"diffusion": {"t": t}, "balanced": balanced}
    raw["x-htlink"] = {"version": 1, "hardening": hardening}
    schema = parse_schema(raw)
    names = ["name", "code", "tri", "whole", "num"]
    columns = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    chunk = ClkEncoder(schema, SECRET).encode(columns)
    for i, row in enumerate(rows):
        assert chunk.clks[i].tobytes() == reference_clk(schema, SECRET, ["ignored", *row])


def test_invalid_values_are_counted_and_encoded_as_missing() -> None:
    schema = parse_schema(BASE)
    columns = {
        "name": ["ann", None],
        "code": ["1", "2"],
        "tri": ["abc", "abd"],
        "whole": ["short", "far too long"],
        "num": ["12", "not a number"],
    }
    chunk = ClkEncoder(schema, SECRET).encode(columns)
    assert chunk.features["whole"].invalid == 1
    assert chunk.features["num"].invalid == 1
    assert chunk.features["name"].missing == 1
    # an invalid value sets the same bits as a missing one
    missing = ClkEncoder(schema, SECRET).encode(
        {**columns, "whole": ["short", None], "num": ["12", None]}
    )
    assert (chunk.clks == missing.clks).all()


def test_xor_fold_matches_bitwise_definition() -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, size=(5, 1001 * 4)).astype(bool)
    folded = xor_fold(np.packbits(bits, axis=1), 1001 * 4, 2)
    expected = bits[:, :2002] ^ bits[:, 2002:]
    expected = expected[:, :1001] ^ expected[:, 1001:]
    assert (np.unpackbits(folded, axis=1, count=1001).astype(bool) == expected).all()


def test_same_input_same_clk_regardless_of_chunking() -> None:
    schema = parse_schema(BASE)
    enc = ClkEncoder(schema, SECRET)
    cols = {
        "name": ["ann", "bob", "ann"],
        "code": ["1", None, "1"],
        "tri": ["x", "y", "x"],
        "whole": ["a", "b", "a"],
        "num": ["1", "2", "1"],
    }
    whole = enc.encode(cols).clks
    parts = [enc.encode({k: [v[i]] for k, v in cols.items()}).clks[0] for i in range(3)]
    assert all((whole[i] == parts[i]).all() for i in range(3))
    assert (whole[0] == whole[2]).all()
