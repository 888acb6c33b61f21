"""`htlink keys` and `htlink schema` as a coordinator and an agency use them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.conftest import PERSON_SCHEMA
from typer.testing import CliRunner

from htlink.cli.main import app
from htlink.crypto.secret import load_secret
from htlink.crypto.signing import load_private_key, load_public_key, public_key_fingerprint

runner = CliRunner()


def test_keys_new_makes_a_private_secret_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "linkage.secret"
    result = runner.invoke(app, ["keys", "new", "--out", str(path)])
    assert result.exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = load_secret(path).decode()
    assert secret not in result.output
    again = runner.invoke(app, ["keys", "new", "--out", str(path)])
    assert again.exit_code == 2 and "already exists" in again.output
    assert load_secret(path).decode() == secret


def test_keys_agency_new_writes_a_matching_pair(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", "agency-new", "--out", str(tmp_path / "clinic")])
    assert result.exit_code == 0, result.output
    private = load_private_key(tmp_path / "clinic.key")
    public = load_public_key(tmp_path / "clinic.pub")
    assert public_key_fingerprint(private.public_key()) == public_key_fingerprint(public)
    assert public_key_fingerprint(public) in result.output.replace("\n", "")
    assert stat.S_IMODE((tmp_path / "clinic.key").stat().st_mode) == 0o600


def test_schema_check_and_describe(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "check", str(PERSON_SCHEMA)])
    assert result.exit_code == 0 and "sha256:" in result.output
    result = runner.invoke(app, ["schema", "describe", str(PERSON_SCHEMA)])
    assert result.exit_code == 0
    for word in ("given_name", "surname", "dob", "blakeHash", "positional"):
        assert word in result.output
    bad = json.loads(PERSON_SCHEMA.read_text())
    bad["version"] = 7
    bad["features"][0]["hashing"]["strategy"] = {"bitsPerToken": 0}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    result = runner.invoke(app, ["schema", "check", str(tmp_path / "bad.json")])
    assert result.exit_code == 2 and "version" in result.output and "Traceback" not in result.output


SCHEMAS = PERSON_SCHEMA.parent


def test_shipped_hardened_example_schemas_check(tmp_path: Path) -> None:
    for name, expected in (
        ("person-v1-salted.json", "salted by the year of dob"),
        ("person-v1-balanced-blip.json", "BLIP f=0.02"),
        ("person-v1-diffused.json", "diffusion t=4"),
        ("person-v1-salted-diffused.json", "salted by the year of dob; diffusion t=4"),
    ):
        result = runner.invoke(app, ["schema", "check", str(SCHEMAS / name)])
        assert result.exit_code == 0, result.output
        assert expected in result.output
        assert "SECURITY WARNING" not in result.output
    plain = runner.invoke(app, ["schema", "check", str(PERSON_SCHEMA)])
    assert "hardening: none" in plain.output


def _only(features: list[str], tmp_path: Path) -> Path:
    raw = json.loads(PERSON_SCHEMA.read_text())
    raw["features"] = [
        f if f["identifier"] in features else {"identifier": f["identifier"], "ignored": True}
        for f in raw["features"]
    ]
    raw["x-htlink"]["features"] = {
        k: v for k, v in raw["x-htlink"]["features"].items() if k in features
    }
    path = tmp_path / "weak.json"
    path.write_text(json.dumps(raw))
    return path


def test_schema_check_warns_loudly_about_a_single_feature(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "check", str(_only(["surname"], tmp_path))])
    assert result.exit_code == 0
    assert "SECURITY WARNING" in result.output
    assert 'only one feature ("surname") is hashed' in result.output


def test_schema_check_warns_about_only_low_entropy_features(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "check", str(_only(["sex", "zip"], tmp_path))])
    assert "SECURITY WARNING" in result.output
    assert "few distinct values" in result.output
    fine = runner.invoke(app, ["schema", "check", str(_only(["surname", "dob"], tmp_path))])
    assert "SECURITY WARNING" not in fine.output
