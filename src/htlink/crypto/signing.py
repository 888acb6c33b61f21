"""Agency signing keys (Ed25519) and signatures over canonical JSON.

Each agency holds a private signing key; the hub holds the matching public key
and verifies every submission manifest with it, so it knows who sent a file and
that nothing in it was altered.  Keys are stored as PEM: the private key in
PKCS#8 (optionally encrypted with a passphrase), mode 0600; the public key in
SubjectPublicKeyInfo.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from htlink.crypto.files import create_new_file
from htlink.errors import HtlinkError

ALGORITHM = "Ed25519"


class SigningKeyError(HtlinkError):
    """A signing key file is missing, malformed or of the wrong kind."""


def canonical_bytes(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def public_key_fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def generate_agency_keypair(
    private_path: str | Path, public_path: str | Path, passphrase: bytes | None = None
) -> str:
    """Write a new Ed25519 key pair; return the public key's fingerprint."""
    priv_p, pub_p = Path(private_path), Path(public_path)
    for p in (priv_p, pub_p):
        if p.exists():
            raise SigningKeyError(
                f"{p} already exists; htlink will not overwrite a key.",
                "Choose another --out name or move the old key away first.",
            )
    key = Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    priv_p.parent.mkdir(parents=True, exist_ok=True)
    create_new_file(
        priv_p,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        ),
    )
    pub = key.public_key()
    pub_p.write_bytes(
        pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return public_key_fingerprint(pub)


def load_private_key(path: str | Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    p = Path(path)
    if not p.is_file():
        raise SigningKeyError(
            f"The signing key {p} does not exist.",
            "Make one with `htlink keys agency-new --out NAME` and register NAME.pub with the hub.",
        )
    try:
        key = serialization.load_pem_private_key(p.read_bytes(), password=passphrase)
    except TypeError:
        raise SigningKeyError(
            f"The signing key {p} is protected by a passphrase.",
            "Set HTLINK_SIGNING_PASSPHRASE to its passphrase.",
        ) from None
    except ValueError:
        raise SigningKeyError(
            f"{p} is not a readable private key (or the passphrase is wrong).",
            "Pass the *.key file made by `htlink keys agency-new`, not the .pub file.",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{p} is not an Ed25519 key.", "Use `htlink keys agency-new`.")
    return key


def load_public_key(data: bytes | str | Path) -> Ed25519PublicKey:
    """Load a PEM public key from bytes, PEM text, or a file path."""
    if isinstance(data, Path):
        if not data.is_file():
            raise SigningKeyError(f"The public key {data} does not exist.")
        data = data.read_bytes()
    if isinstance(data, str):
        data = data.encode("ascii", errors="replace")
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise SigningKeyError("That is not a PEM public key.", "Pass the .pub file.") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("The public key is not an Ed25519 key.")
    return key


def sign_document(doc: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, str]:
    """A detached signature block over the canonical JSON of ``doc``."""
    return {
        "algorithm": ALGORITHM,
        "public_key_fingerprint": public_key_fingerprint(key.public_key()),
        "value": base64.b64encode(key.sign(canonical_bytes(doc))).decode("ascii"),
    }


def verify_document(doc: dict[str, Any], signature: dict[str, str], key: Ed25519PublicKey) -> bool:
    """True when ``signature`` is ``key``'s signature over ``doc``."""
    if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
        return False
    try:
        raw = base64.b64decode(str(signature.get("value", "")), validate=True)
        key.verify(raw, canonical_bytes(doc))
    except (InvalidSignature, ValueError):
        return False
    return True
