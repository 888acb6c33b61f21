"""Secrets: made strong and private, refused when weak or exposed, never echoed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from htlink.crypto.secret import estimated_bits, load_secret, write_new_secret
from htlink.crypto.signing import (
    generate_agency_keypair,
    load_private_key,
    load_public_key,
    sign_document,
    verify_document,
)
from htlink.errors import SecretError


def test_new_secret_is_256_bits_private_and_loads(tmp_path: Path) -> None:
    path = write_new_secret(tmp_path / "s.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text().strip()
    assert len(text) == 64 and int(text, 16) >= 0
    assert load_secret(path) == text.encode()
    assert write_new_secret(tmp_path / "t.key").read_text() != path.read_text()


def test_never_overwrites(tmp_path: Path) -> None:
    path = write_new_secret(tmp_path / "s.key")
    with pytest.raises(SecretError, match="already exists"):
        write_new_secret(path)


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        ("", 0o600, "empty"),
        ("short-secret", 0o600, "too short"),
        ("a" * 100, 0o600, "too short"),
        ("0123456789abcdef" * 2, 0o600, "too short"),  # 32 hex digits = 128 bits: ok below
        ("f" * 64, 0o600, "too short"),
        ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 0o644, "every user"),
    ],
)
def test_refuses_bad_secret_files(tmp_path: Path, content: str, mode: int, message: str) -> None:
    path = tmp_path / "s.key"
    path.write_text(content)
    os.chmod(path, mode)
    if content == "0123456789abcdef" * 2:
        assert load_secret(path) == content.encode()
        return
    with pytest.raises(SecretError) as info:
        load_secret(path)
    assert message in str(info.value)
    if content:
        assert content not in str(info.value)


def test_missing_secret_file(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="does not exist"):
        load_secret(tmp_path / "nope")


def test_trailing_newlines_are_not_part_of_the_secret(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    value = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    a.write_text(value)
    b.write_text(value + "\r\n")
    os.chmod(a, 0o600)
    os.chmod(b, 0o600)
    assert load_secret(a) == load_secret(b) == value.encode()


@given(st.text(max_size=40))
def test_entropy_estimate_is_bounded_by_length(text: str) -> None:
    assert 0 <= estimated_bits(text) <= 8 * len(text.encode())


def test_signatures_detect_any_change(tmp_path: Path) -> None:
    generate_agency_keypair(tmp_path / "a.key", tmp_path / "a.pub")
    generate_agency_keypair(tmp_path / "b.key", tmp_path / "b.pub")
    assert stat.S_IMODE((tmp_path / "a.key").stat().st_mode) == 0o600
    key = load_private_key(tmp_path / "a.key")
    doc = {"agency": "a", "record_count": 3}
    sig = sign_document(doc, key)
    pub_a = load_public_key(tmp_path / "a.pub")
    assert verify_document(doc, sig, pub_a)
    assert not verify_document({**doc, "record_count": 4}, sig, pub_a)
    assert not verify_document(doc, sig, load_public_key(tmp_path / "b.pub"))
    assert not verify_document(doc, {**sig, "value": "AAAA"}, pub_a)


def test_passphrase_protected_key(tmp_path: Path) -> None:
    generate_agency_keypair(tmp_path / "a.key", tmp_path / "a.pub", b"correct horse")
    from htlink.crypto.signing import SigningKeyError

    with pytest.raises(SigningKeyError, match="passphrase"):
        load_private_key(tmp_path / "a.key")
    assert load_private_key(tmp_path / "a.key", b"correct horse")
