"""The release officer's key pair (X25519): payloads are encrypted to its public half.

``htlink keys release-new --out NAME`` writes ``NAME.key`` (PKCS#8 PEM, mode
0600, optionally encrypted with a passphrase) and ``NAME.pub``
(SubjectPublicKeyInfo PEM).  The key id is ``sha256:`` and the hex SHA-256 of
the raw 32-byte public key; every payload names the key id it was encrypted to,
so a payload made for another key is refused with a clear message before any
decryption is tried.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from htlink.crypto.files import create_new_file
from htlink.errors import HtlinkError


class ReleaseKeyError(HtlinkError):
    """A release key file is missing, malformed or of the wrong kind."""


def key_id(public_key: X25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def generate_release_keypair(
    private_path: str | Path, public_path: str | Path, passphrase: bytes | None = None
) -> str:
    """Write a new X25519 key pair (never overwriting a file); return its key id."""
    priv_p, pub_p = Path(private_path), Path(public_path)
    for p in (priv_p, pub_p):
        if p.exists():
            raise ReleaseKeyError(
                f"{p} already exists; htlink will not overwrite a key.",
                "Choose another --out name, or move the old key away first (payloads "
                "encrypted to the old key can only be opened with it).",
            )
    key = X25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    priv_p.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    create_new_file(priv_p, pem, 0o600)
    pub = key.public_key()
    pub_pem = pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    create_new_file(pub_p, pub_pem, 0o644)
    return key_id(pub)


def load_release_private_key(path: str | Path, passphrase: bytes | None = None) -> X25519PrivateKey:
    p = Path(path)
    if not p.is_file():
        raise ReleaseKeyError(
            f"The release key {p} does not exist.",
            "Pass the NAME.key file made by `htlink keys release-new --out NAME`.",
        )
    try:
        key = serialization.load_pem_private_key(p.read_bytes(), password=passphrase)
    except TypeError:
        raise ReleaseKeyError(
            f"The release key {p} is protected by a passphrase.",
            "Set HTLINK_RELEASE_PASSPHRASE to its passphrase.",
        ) from None
    except ValueError:
        raise ReleaseKeyError(
            f"{p} is not a readable private key (or the passphrase is wrong).",
            "Pass the NAME.key file made by `htlink keys release-new`, not the .pub file.",
        ) from None
    if not isinstance(key, X25519PrivateKey):
        raise ReleaseKeyError(
            f"{p} is not an X25519 release key.", "Make one with `htlink keys release-new`."
        )
    return key


def load_release_public_key(path: str | Path) -> X25519PublicKey:
    p = Path(path)
    if not p.is_file():
        raise ReleaseKeyError(
            f"The release public key {p} does not exist.",
            "Ask the release officer for the NAME.pub file of `htlink keys release-new`.",
        )
    try:
        key = serialization.load_pem_public_key(p.read_bytes())
    except ValueError:
        raise ReleaseKeyError(
            f"{p} is not a PEM public key.", "Pass the release officer's NAME.pub file."
        ) from None
    if not isinstance(key, X25519PublicKey):
        raise ReleaseKeyError(
            f"{p} is not an X25519 release key.",
            "Pass the NAME.pub file made by `htlink keys release-new` (not an agency signing key).",
        )
    return key
