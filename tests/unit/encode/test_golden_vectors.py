"""htlink's CLKs equal clkhash 0.18.3's, byte for byte (vectors made by clkhash itself).

The vectors and the script that made them are in tests/golden/ (see its README).
Three cases use keys that clkhash silently ignores; htlink refuses those schemas
on purpose, and the test checks that it does, naming the key.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from htlink.encode.bloom import ClkEncoder
from htlink.encode.reference import reference_clk
from htlink.errors import SchemaError
from htlink.schema import parse_schema

VECTORS = json.loads(
    (Path(__file__).parents[2] / "golden" / "clkhash-0.18.3-vectors.json").read_text()
)
REFUSED = {
    "febrl4-blake-xorFolds1-camelcase": "xorFolds",
    "numeric-fractionalPrecision-camelcase": "fractionalPrecision",
    "blake-l131072-index-range": "65536",
}
CASES = {case["name"]: case for case in VECTORS["cases"]}


def test_vectors_cover_both_hashes_folding_and_missing_values() -> None:
    text = json.dumps([c["schema"] for c in CASES.values()])
    for needle in (
        '"doubleHash"',
        '"blakeHash"',
        '"xor_folds"',
        '"positional": true',
        '"missingValue"',
        '"ignored": true',
        '"bitsPerFeature"',
        '"prevent_singularity"',
    ):
        assert needle in text
    assert len(CASES) >= 50


@pytest.mark.parametrize("name", sorted(set(CASES) - set(REFUSED)))
def test_fast_encoder_matches_clkhash(name: str) -> None:
    case = CASES[name]
    schema = parse_schema(case["schema"])
    encoder = ClkEncoder(schema, case["secret"].encode("utf-8"))
    columns = {f.identifier: [r[f.index] for r in case["records"]] for f in schema.hashed_features}
    chunk = encoder.encode(columns)
    got = [base64.b64encode(row.tobytes()).decode() for row in chunk.clks]
    assert got == case["clks"]
    assert chunk.popcounts.tolist() == case["popcounts"]


@pytest.mark.parametrize("name", sorted(set(CASES) - set(REFUSED)))
def test_reference_encoder_matches_clkhash(name: str) -> None:
    case = CASES[name]
    schema = parse_schema(case["schema"])
    secret = case["secret"].encode("utf-8")
    for record, expected in list(zip(case["records"], case["clks"], strict=True))[:8]:
        assert base64.b64encode(reference_clk(schema, secret, record)).decode() == expected


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_keys_clkhash_ignores_are_refused_by_name(name: str) -> None:
    with pytest.raises(SchemaError) as info:
        parse_schema(CASES[name]["schema"])
    assert REFUSED[name] in str(info.value)
