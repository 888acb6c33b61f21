"""Schema validation names the offending feature and key; fingerprints are canonical."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from htlink.errors import SchemaError
from htlink.schema import load_schema_file, parse_schema

ROOT = Path(__file__).resolve().parents[3]
PERSON = json.loads((ROOT / "configs" / "schemas" / "person-v1.json").read_text())


def problems_of(raw: object) -> str:
    with pytest.raises(SchemaError) as info:
        parse_schema(raw)
    return "\n".join(info.value.problems)


def test_shipped_schemas_are_valid() -> None:
    for path in (ROOT / "configs" / "schemas").glob("*.json"):
        schema = load_schema_file(path)
        assert schema.fingerprint.startswith("sha256:")
        assert not schema.warnings


def test_person_schema_has_rules_for_every_feature() -> None:
    schema = parse_schema(PERSON)
    assert {f.identifier for f in schema.hashed_features} == {
        "given_name",
        "surname",
        "dob",
        "sex",
        "zip",
        "phone",
    }
    assert all(f.normalize is not None for f in schema.hashed_features)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s: s.update(version=2), "version"),
        (lambda s: s.update(version="three"), "version"),
        (lambda s: s["clkConfig"].update(l=0), "clkConfig.l"),
        (lambda s: s["clkConfig"].update(l=1000), "power of"),
        (lambda s: s["clkConfig"]["kdf"].update(type="PBKDF2"), "clkConfig.kdf.type"),
        (lambda s: s["clkConfig"]["kdf"].update(salt="***"), "clkConfig.kdf.salt"),
        (
            lambda s: s["features"][2]["hashing"].update(strategy={}),
            'features[2] "dob".hashing.strategy',
        ),
        (
            lambda s: s["features"][0]["hashing"]["comparison"].update(n=0),
            'features[0] "given_name".hashing.comparison.n',
        ),
        (lambda s: s["features"][0]["format"].update(encoding="latin-1"), "encoding"),
        (lambda s: s["features"][1].update(identifier="given_name"), "unique"),
        (
            lambda s: s["features"][2]["format"].update(format="%Y"),
            'features[2] "dob".format.format',
        ),
        (lambda s: s["features"][3]["hashing"].update(weight=2), "unknown key weight"),
        (
            lambda s: s["features"][0]["hashing"].update(
                hash={"type": "blakeHash", "prevent_singularity": True}
            ),
            "prevent_singularity",
        ),
        (
            lambda s: s["x-htlink"]["features"].update(nickname={"normalize": {"kind": "text"}}),
            "x-htlink.features.nickname",
        ),
        (
            lambda s: s["x-htlink"]["features"]["dob"]["normalize"].update(kind="dte"),
            "unknown kind",
        ),
        (lambda s: s["clkConfig"].update(xorFolds=1), "xor_folds"),
    ],
)
def test_problems_name_the_key(edit, expected: str) -> None:
    raw = copy.deepcopy(PERSON)
    edit(raw)
    assert expected in problems_of(raw)


def test_every_problem_is_reported_at_once() -> None:
    raw = copy.deepcopy(PERSON)
    raw["clkConfig"]["l"] = -1
    raw["features"][0]["hashing"]["comparison"]["n"] = 0
    raw["features"][4]["format"]["pattern"] = "(["
    text = problems_of(raw)
    assert "clkConfig.l" in text and "comparison.n" in text and "pattern" in text


def test_fingerprint_ignores_formatting_and_descriptions_but_not_parameters() -> None:
    base = parse_schema(copy.deepcopy(PERSON)).fingerprint
    reordered = json.loads(json.dumps(PERSON, sort_keys=True, indent=7))
    reordered["features"][0]["description"] = "reworded"
    assert parse_schema(reordered).fingerprint == base
    changed = copy.deepcopy(PERSON)
    changed["features"][0]["hashing"]["strategy"]["bitsPerFeature"] = 151
    assert parse_schema(changed).fingerprint != base
    renormalized = copy.deepcopy(PERSON)
    renormalized["x-htlink"]["features"]["surname"]["normalize"]["particles"] = "drop"
    assert parse_schema(renormalized).fingerprint != base


def test_load_errors_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "s.json"
    bad.write_text("{not json")
    with pytest.raises(SchemaError, match="not valid JSON"):
        load_schema_file(bad)
    with pytest.raises(SchemaError, match="does not exist"):
        load_schema_file(tmp_path / "missing.json")
    bad.write_text("[1, 2]")
    with pytest.raises(SchemaError, match="JSON object"):
        load_schema_file(bad)


def test_ignored_feature_with_config_is_accepted_with_a_warning() -> None:
    raw = copy.deepcopy(PERSON)
    del raw["x-htlink"]["features"]["phone"]
    raw["features"][5]["ignored"] = True
    schema = parse_schema(raw)
    assert schema.features[5].ignored and schema.warnings


def test_diffusion_hardening_is_read_and_fingerprinted() -> None:
    diffused = load_schema_file(ROOT / "configs" / "schemas" / "person-v1-diffused.json")
    assert diffused.hardening.diffusion_t == 4 and diffused.hardening.enabled
    assert diffused.encoding_length == 1024  # diffusion keeps the length
    both = load_schema_file(ROOT / "configs" / "schemas" / "person-v1-salted-diffused.json")
    assert both.hardening.diffusion_t == 4 and both.hardening.salt is not None
    assert both.encoding_length == 1024
    fingerprints = {diffused.fingerprint, both.fingerprint, parse_schema(PERSON).fingerprint}
    for t in (3, 5):
        raw = copy.deepcopy(PERSON)
        raw["x-htlink"]["hardening"] = {"diffusion": {"t": t}}
        fingerprints.add(parse_schema(raw).fingerprint)
    assert len(fingerprints) == 5  # t alone changes the fingerprint
    bad = copy.deepcopy(PERSON)
    bad["x-htlink"]["hardening"] = {"diffusion": {"t": "3"}}
    assert "x-htlink.hardening.diffusion.t: must be an integer from 2 to 64" in problems_of(bad)
