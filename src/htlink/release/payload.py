"""Payload files: attribute rows keyed by pseudonym, encrypted to the release officer.

Construction (``suite`` in the header): **X25519 ephemeral-static key agreement,
HKDF-SHA256, AES-256-GCM in the STREAM construction** (Hoang, Reyhanitabar,
Rogaway, Vizár 2015), all from ``cryptography``:

* the sender makes a fresh X25519 key pair for every file and agrees a shared
  secret with the release officer's static public key;
* HKDF-SHA256 (salt: 16 random bytes from the header; info: a label, the
  ephemeral and the recipient public keys) gives a 256-bit AES key and a
  7-byte nonce prefix;
* the plaintext is cut into chunks (1 MiB by default); chunk ``i`` is sealed
  with AES-256-GCM under the nonce ``prefix || i (4 bytes) || last (1 byte)``
  and the whole header as associated data.  Reordered, dropped, repeated or
  truncated chunks, an altered header, and a swapped key all fail
  authentication; a file is read and written one chunk at a time.

File layout::

    b"HTLPAYLD"  | u32 header length | header (canonical JSON) |
    (u32 sealed length | sealed chunk)*   -- the last chunk has last = 1

The header is readable without the key: format, version, suite, the recipient
key id, the ephemeral public key, the salt and the chunk size.  Everything else
-- the agency, its column names and the rows -- is inside the encryption.  The
plaintext is one JSON line of metadata followed by a CSV table whose first
column is ``pseudonym``.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from htlink.errors import HtlinkError
from htlink.release.keys import key_id

MAGIC = b"HTLPAYLD"
FORMAT = "htlink-payload"
VERSION = 1
SUITE = "X25519-HKDF-SHA256-AES-256-GCM-STREAM"
DEFAULT_CHUNK = 1 << 20
MAX_CHUNK = 1 << 26
MAX_HEADER = 1 << 16
_INFO = b"htlink payload v1"
_TAG = 16


class PayloadError(HtlinkError):
    """A payload file cannot be opened: wrong key, altered, truncated or not a payload."""


def _raw(pub: X25519PublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _derive(shared: bytes, salt: bytes, eph: bytes, recipient: bytes) -> tuple[bytes, bytes]:
    material = HKDF(
        algorithm=hashes.SHA256(), length=32 + 7, salt=salt, info=_INFO + eph + recipient
    ).derive(shared)
    return material[:32], material[32:]


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= 1 << 32:
        raise PayloadError("The payload is too large (more than 2^32 chunks).")
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


def _canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class PayloadWriter:
    """Encrypt a byte stream to a recipient, one chunk at a time."""

    def __init__(
        self, fh: BinaryIO, recipient: X25519PublicKey, chunk_size: int = DEFAULT_CHUNK
    ) -> None:
        if not 1 <= chunk_size <= MAX_CHUNK:
            raise ValueError("chunk_size out of range")
        eph = X25519PrivateKey.generate()
        eph_raw, rec_raw = _raw(eph.public_key()), _raw(recipient)
        salt = secrets.token_bytes(16)
        key, self._prefix = _derive(eph.exchange(recipient), salt, eph_raw, rec_raw)
        self._aead = AESGCM(key)
        header = {
            "format": FORMAT,
            "version": VERSION,
            "suite": SUITE,
            "recipient_key_id": key_id(recipient),
            "ephemeral_public_key": base64.b64encode(eph_raw).decode(),
            "salt": base64.b64encode(salt).decode(),
            "chunk_size": chunk_size,
        }
        self._header = _canonical(header)
        self._aad = MAGIC + self._header
        self._fh = fh
        self._chunk = chunk_size
        self._buf = bytearray()
        self._counter = 0
        self._closed = False
        fh.write(MAGIC + struct.pack(">I", len(self._header)) + self._header)

    def _seal(self, data: bytes, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, last), data, self._aad)
        self._fh.write(struct.pack(">I", len(sealed)) + sealed)
        self._counter += 1

    def write(self, data: bytes) -> None:
        if self._closed:
            raise ValueError("writer is closed")
        self._buf += data
        while len(self._buf) > self._chunk:  # keep at least one byte for the last chunk
            self._seal(bytes(self._buf[: self._chunk]), last=False)
            del self._buf[: self._chunk]

    def close(self) -> None:
        if not self._closed:
            self._seal(bytes(self._buf), last=True)
            self._buf.clear()
            self._closed = True


def read_header(fh: BinaryIO, source: str = "the payload") -> tuple[dict[str, Any], bytes]:
    """The cleartext header of a payload and the associated data of its chunks."""
    start = fh.read(len(MAGIC) + 4)
    if len(start) < len(MAGIC) + 4 or start[: len(MAGIC)] != MAGIC:
        raise PayloadError(
            f"{source} is not an htlink payload file.",
            "Pass the file written by `htlink payload export`.",
        )
    (length,) = struct.unpack(">I", start[len(MAGIC) :])
    raw = fh.read(length) if length <= MAX_HEADER else b""
    try:
        header = json.loads(raw)
        if not isinstance(header, dict):
            raise ValueError
    except ValueError:
        raise PayloadError(f"The header of {source} is damaged.") from None
    if header.get("format") != FORMAT or header.get("suite") != SUITE:
        raise PayloadError(f"{source} is not an htlink payload file.")
    if header.get("version") != VERSION:
        raise PayloadError(
            f"{source} is payload format version {header.get('version')}; this htlink reads "
            f"version {VERSION}.",
            "Open it with the htlink version that wrote it, or ask for a new export.",
        )
    return header, MAGIC + raw


def iter_plaintext(
    fh: BinaryIO, private_key: X25519PrivateKey, source: str = "the payload"
) -> Iterator[bytes]:
    """Decrypt a payload stream chunk by chunk; raise :class:`PayloadError` on any tampering."""
    header, aad = read_header(fh, source)
    mine = key_id(private_key.public_key())
    if header.get("recipient_key_id") != mine:
        raise PayloadError(
            f"{source} was encrypted to another release key "
            f"({str(header.get('recipient_key_id'))[:23]}…), not to this one ({mine[:23]}…).",
            "Use the release key whose public half the agency exported to, or ask the agency "
            "to export again with your NAME.pub.",
        )
    damaged = (
        f"{source} has been altered or damaged (authentication failed).",
        "Ask the agency to send the payload again; do not use this copy.",
    )
    try:
        eph = X25519PublicKey.from_public_bytes(base64.b64decode(header["ephemeral_public_key"]))
        salt = base64.b64decode(header["salt"])
        chunk_size = int(header["chunk_size"])
    except (KeyError, ValueError, TypeError):
        raise PayloadError(*damaged) from None
    key, prefix = _derive(
        private_key.exchange(eph), salt, _raw(eph), _raw(private_key.public_key())
    )
    aead = AESGCM(key)
    counter = 0
    while True:
        size_bytes = fh.read(4)
        if len(size_bytes) < 4:
            raise PayloadError(
                f"{source} is truncated (its last chunk is missing).",
                "Copy the whole file again; do not use this copy.",
            )
        (size,) = struct.unpack(">I", size_bytes)
        if size < _TAG or size > chunk_size + _TAG:
            raise PayloadError(*damaged)
        sealed = fh.read(size)
        if len(sealed) < size:
            raise PayloadError(f"{source} is truncated.", "Copy the whole file again.")
        plain = None
        for last in (False, True):
            try:
                plain = aead.decrypt(_nonce(prefix, counter, last), sealed, aad)
            except InvalidTag:
                continue
            break
        if plain is None:
            raise PayloadError(*damaged)
        counter += 1
        yield plain
        if last:
            if fh.read(1):
                raise PayloadError(*damaged)
            return


@dataclass
class Payload:
    """A decrypted payload: who sent it, and its rows (strings; missing values are NaN)."""

    meta: dict[str, Any]
    frame: pd.DataFrame

    @property
    def agency(self) -> str:
        return str(self.meta["agency"])


def write_payload(
    path: str | Path,
    frame: pd.DataFrame,
    meta: dict[str, Any],
    recipient: X25519PublicKey,
    chunk_size: int = DEFAULT_CHUNK,
) -> Path:
    """Encrypt ``frame`` (first column ``pseudonym``) to ``recipient``; write atomically."""
    if list(frame.columns[:1]) != ["pseudonym"]:
        raise ValueError("the first column must be 'pseudonym'")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.partial-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer = PayloadWriter(fh, recipient, chunk_size)
            writer.write(_canonical({**meta, "columns": list(frame.columns)}) + b"\n")
            step = 50_000
            for start in range(0, len(frame), step):
                text = io.StringIO()
                frame.iloc[start : start + step].to_csv(
                    text, index=False, header=start == 0, quoting=csv.QUOTE_MINIMAL
                )
                writer.write(text.getvalue().encode("utf-8"))
            if len(frame) == 0:
                writer.write((",".join(frame.columns) + "\n").encode())
            writer.close()
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p


def open_payload(path: str | Path, private_key: X25519PrivateKey) -> Payload:
    """Decrypt and parse a payload file."""
    p = Path(path)
    if not p.is_file():
        raise PayloadError(f"The payload {p} does not exist.")
    with p.open("rb") as fh:
        data = b"".join(iter_plaintext(fh, private_key, source=f"The payload {p.name}"))
    line, _, body = data.partition(b"\n")
    try:
        meta = json.loads(line)
        frame = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False, na_values=[""])
    except ValueError:
        raise PayloadError(f"The payload {p.name} decrypts but its content is malformed.") from None
    if not isinstance(meta, dict) or "agency" not in meta or "pseudonym" not in frame.columns:
        raise PayloadError(f"The payload {p.name} decrypts but its content is malformed.")
    return Payload(meta=meta, frame=frame)
