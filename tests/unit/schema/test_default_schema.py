"""The shipped default schema: the one README names, the demo uses, and the bench chose."""

import re
from pathlib import Path

import numpy as np

from htlink.attacks.configs import BUILTIN_CONFIGS, DEFAULT_CONFIGS
from htlink.encode.bloom import ClkEncoder
from htlink.schema import load_schema_file

ROOT = Path(__file__).resolve().parents[3]
DEFAULT = "configs/schemas/person-v1-salted-dob.json"


def test_readme_and_demo_name_the_same_default() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"\*\*The shipped default schema is `([^`]+)`\*\*", readme)
    assert stated is not None and stated.group(1) == DEFAULT
    demo = (ROOT / "scripts" / "demo.sh").read_text(encoding="utf-8")
    assert re.search(rf"^SCHEMA={re.escape(DEFAULT)}\b", demo, re.MULTILINE)
    threat = (ROOT / "docs" / "threat-model.md").read_text(encoding="utf-8")
    assert f"**The default is `{DEFAULT}`**" in threat


def test_default_is_salted_by_full_date_of_birth_and_measured_by_the_bench() -> None:
    schema = load_schema_file(ROOT / DEFAULT)
    salt = schema.hardening.salt
    assert salt is not None and salt.feature == "dob" and salt.part == "value"
    assert not schema.hardening.blip_f  # deterministic: reproducible submissions
    assert schema.encoding_length == 1024
    assert BUILTIN_CONFIGS["native:person-v1-salted-dob"] == DEFAULT
    assert "native:person-v1-salted-dob" in DEFAULT_CONFIGS


def test_default_links_same_birth_date_only() -> None:
    schema = load_schema_file(ROOT / DEFAULT)
    enc = ClkEncoder(schema, b"default-schema-test-secret-0123456789")
    cols = {
        "given_name": ["maria", "maria", "maria"],
        "surname": ["garcia", "garcia", "garcia"],
        "dob": ["1990-03-04", "1990-03-04", "1990-03-05"],
        "sex": ["f", "f", "f"],
        "zip": ["02134", "02134", "02134"],
        "phone": [None, None, None],
    }
    bits = np.unpackbits(enc.encode(cols).clks, axis=1).astype(bool)
    same = 2 * (bits[0] & bits[1]).sum() / (bits[0].sum() + bits[1].sum())
    other = 2 * (bits[0] & bits[2]).sum() / (bits[0].sum() + bits[2].sum())
    assert same == 1.0
    assert other < 0.5  # one day apart: another salt, unrelated bit positions
