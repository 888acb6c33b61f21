from pathlib import Path

import numpy as np
import pytest

from htlink.attacks.configs import (
    BUILTIN_CONFIGS,
    ConfigError,
    parse_config,
    single_feature_schema,
)
from htlink.encode.bloom import ClkEncoder

ROOT = Path(__file__).resolve().parents[3]
SECRET = b"unit-test-secret-" * 2
COLUMNS = {
    "given_name": ["ana", "ana", "boris", "chen"],
    "surname": ["lopez", "lopez", "ivanov", None],
    "dob": ["1990-01-02", "1990-01-02", "1985-05-06", "2001-12-31"],
    "sex": ["f", "f", "m", None],
    "zip": ["02134", "02134", None, "01001"],
    "phone": [None, None, "6175550100", None],
}


def _encode(spec: str, fields: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    config = parse_config(spec, ROOT)
    return config, config.encoder(SECRET).encode(COLUMNS, np.random.default_rng(0), fields)


def test_every_builtin_parses() -> None:
    for name in BUILTIN_CONFIGS:
        config = parse_config(name, ROOT)
        assert config.posthoc == (name != "person-v1" and not name.startswith("native:"))


def test_plain_config_is_the_library_encoder() -> None:
    config, enc = _encode("person-v1")
    direct = ClkEncoder(config.schema, SECRET).encode(COLUMNS).clks
    assert np.array_equal(enc.clks, direct)
    assert enc.length == 1024


def test_single_field_bits_are_the_fields_bits_in_the_clk() -> None:
    config, enc = _encode("person-v1", fields=("surname",))
    clk, field = enc.bits().astype(bool), enc.field_bits("surname").astype(bool)
    assert not (field & ~clk).any()
    assert field[3].sum() == 0  # missing surname: empty filter
    assert np.array_equal(field[0], field[1]) and field[0].sum() > 50
    alone = single_feature_schema(config.schema, "surname")
    assert [f.identifier for f in alone.hashed_features] == ["surname"]
    assert [f.identifier for f in alone.hashed_features] == ["surname"]


def test_balanced_fold_and_blip() -> None:
    _, plain = _encode("person-v1")
    _, balanced = _encode("person-v1+balanced")
    assert balanced.length == 2048
    assert (balanced.bits().sum(axis=1) == 1024).all()  # every encoding exactly half ones
    _, folded = _encode("person-v1+fold")
    bits = plain.bits()
    assert np.array_equal(folded.bits(), bits[:, :512] ^ bits[:, 512:])
    _, blipped = _encode("person-v1+blip:0.1")
    flipped = (blipped.bits() != bits).mean()
    assert 0.05 < flipped < 0.15
    assert not np.array_equal(blipped.bits()[0], blipped.bits()[1])  # fresh randomness


def test_salting_separates_birth_years() -> None:
    _, salted = _encode("person-v1+salt:dob-year")
    _, plain = _encode("person-v1")
    assert np.array_equal(salted.clks[0], salted.clks[1])  # same values, same year
    assert not np.array_equal(salted.clks[0], plain.clks[0])


@pytest.mark.parametrize("spec", ["person-v1+blip:0.7", "person-v1+shuffle", "nosuch.json",
                                  "person-v1+fold+salt:dob-year", "person-v1+salt:height-year"])
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_config(spec, ROOT)


def test_native_schemas_are_not_posthoc_and_use_the_encoder() -> None:
    config, enc = _encode("configs/schemas/person-v1-salted.json", fields=("surname",))
    assert config.name == "native:person-v1-salted" and not config.posthoc
    assert config.schema.hardening.salt is not None
    direct = ClkEncoder(config.schema, SECRET).encode(COLUMNS).clks
    assert np.array_equal(enc.clks, direct)
    # the single field is the encoder's salted field-level encoding: in the CLK, salted
    clk, field = enc.bits().astype(bool), enc.field_bits("surname").astype(bool)
    assert not (field & ~clk).any()
    _, plain = _encode("person-v1", fields=("surname",))
    assert not np.array_equal(field[0], plain.field_bits("surname")[0].astype(bool))
    assert field[3].sum() == 0


def test_native_balanced_blip_config() -> None:
    config, enc = _encode("native:person-v1-balanced-blip", fields=("surname",))
    assert not config.posthoc and enc.length == 2048
    ones = enc.bits().astype(np.int64).sum(axis=1)
    assert (abs(ones - 1024) < 120).all()  # balanced, then about 2% of bits flipped
    assert enc.field_bits("surname")[3].sum() == 0  # a missing value stays empty


def test_sim_salt_on_a_salted_schema_is_refused() -> None:
    with pytest.raises(ConfigError):
        parse_config("configs/schemas/person-v1-salted.json+salt:dob-year", ROOT)
