"""Payload encryption: round trip, and every kind of tampering is refused."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from htlink.release.keys import (
    ReleaseKeyError,
    generate_release_keypair,
    load_release_private_key,
    load_release_public_key,
)
from htlink.release.payload import (
    PayloadError,
    PayloadWriter,
    iter_plaintext,
    open_payload,
    write_payload,
)

KEY = X25519PrivateKey.generate()
OTHER = X25519PrivateKey.generate()


def seal(data: bytes, chunk: int, key: X25519PrivateKey = KEY) -> bytes:
    buf = io.BytesIO()
    w = PayloadWriter(buf, key.public_key(), chunk)
    w.write(data)
    w.close()
    return buf.getvalue()


def unseal(blob: bytes, key: X25519PrivateKey = KEY) -> bytes:
    return b"".join(iter_plaintext(io.BytesIO(blob), key))


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=600), chunk=st.integers(1, 64))
def test_round_trip_any_size_and_chunking(data: bytes, chunk: int) -> None:
    assert unseal(seal(data, chunk)) == data


@settings(max_examples=40, deadline=None)
@given(data=st.binary(min_size=1, max_size=200), pos=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_any_flipped_bit_is_refused(data: bytes, pos: int, bit: int) -> None:
    blob = bytearray(seal(data, 16))
    pos %= len(blob)
    blob[pos] ^= 1 << bit
    with pytest.raises(PayloadError):
        unseal(bytes(blob))


def test_truncation_dropped_and_reordered_chunks_are_refused() -> None:
    data = bytes(range(256)) * 4
    blob = seal(data, 100)
    header_end = 8 + 4 + int.from_bytes(blob[8:12], "big")
    frames = []
    pos = header_end
    while pos < len(blob):
        size = int.from_bytes(blob[pos : pos + 4], "big")
        frames.append(blob[pos : pos + 4 + size])
        pos += 4 + size
    head = blob[:header_end]
    assert len(frames) == 11
    for broken in (
        head + b"".join(frames[:-1]),  # last chunk dropped: truncation
        head + b"".join(frames[:3] + frames[4:]),  # a middle chunk dropped
        head + b"".join([frames[1], frames[0], *frames[2:]]),  # reordered
        head + b"".join(frames) + frames[-1],  # trailing data
    ):
        with pytest.raises(PayloadError):
            unseal(broken)


def test_wrong_key_is_named_not_tried() -> None:
    with pytest.raises(PayloadError, match="another release key"):
        unseal(seal(b"x" * 10, 4), OTHER)


def test_frame_round_trip_and_key_files(tmp_path: Path) -> None:
    kid = generate_release_keypair(tmp_path / "r.key", tmp_path / "r.pub")
    assert (tmp_path / "r.key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(ReleaseKeyError, match="already exists"):
        generate_release_keypair(tmp_path / "r.key", tmp_path / "r2.pub")
    pub = load_release_public_key(tmp_path / "r.pub")
    priv = load_release_private_key(tmp_path / "r.key")
    frame = pd.DataFrame({"pseudonym": ["a" * 32, "b" * 32, "c" * 32], "x": ["1", None, 'é, "q"']})
    path = write_payload(tmp_path / "p.payload", frame, {"agency": "clinic"}, pub, chunk_size=7)
    assert b"clinic" not in path.read_bytes()  # metadata is inside the encryption
    assert kid.split(":")[1][:16] in path.read_bytes().decode("latin-1")
    payload = open_payload(path, priv)
    assert payload.agency == "clinic"
    assert payload.frame["pseudonym"].tolist() == frame["pseudonym"].tolist()
    assert payload.frame["x"].iloc[2] == 'é, "q"'
    assert pd.isna(payload.frame["x"].iloc[1])
    with pytest.raises(ReleaseKeyError):
        load_release_private_key(tmp_path / "r.pub")
    not_payload = tmp_path / "n.payload"
    not_payload.write_bytes(b"pseudonym,x\n")
    with pytest.raises(PayloadError, match="not an htlink payload"):
        open_payload(not_payload, priv)
