"""Opt-in hardening of CLKs: per-record salting, balanced Bloom filters, diffusion and BLIP.

Each is selected in the schema's ``x-htlink.hardening`` (so it is part of the
schema fingerprint) and is off unless configured; a pure clkhash schema encodes
exactly as clkhash does.  The functions here are shared by the fast encoder
(:mod:`htlink.encode.bloom`) and the reference encoder
(:mod:`htlink.encode.reference`), so that both compute one specification:

* **Salt** (Niedermeyer et al. 2014; Vidanage et al. 2020): every feature's
  hashing keys are re-derived per record from the record's salt value --
  ``HKDF-SHA256(ikm=feature key, info="htlink record salt v1" 0x00 salt)`` with
  the key's own length -- so equal values in different salt groups set
  unrelated bits.  A record whose salt feature is missing or invalid gets the
  empty salt (one more group: it links only to other records without a salt).
* **Balanced** (Berger & Schnell 2016): after XOR folding, the filter is
  concatenated with its complement and the ``2l`` bits permuted by a
  permutation keyed by the secret: position ``j`` of the output is bit
  ``perm[j]`` of ``filter || ~filter``, where ``perm`` sorts ``0 .. 2l-1`` by
  keyed BLAKE2b of the 4-byte big-endian index under
  ``HMAC-SHA256(secret, "htlink:balanced-permutation:v1")``.  Every encoding has
  exactly ``l`` ones.
* **Diffusion** (Armknecht, Heng, Schnell et al., "Strengthening
  Privacy-Preserving Record Linkage using Diffusion", PoPETs 2023): after
  folding and balancing, and before BLIP, the ``m`` bits of the encoding
  (``m`` = the encoding length after folding and balancing) are replaced by
  ``m`` output bits: output bit ``j`` is the XOR of the ``t`` distinct input
  bits ``pos[j][0], ..., pos[j][t-1]``.  The positions are derived from the
  key ``HMAC-SHA256(secret, "htlink:diffusion:v1")``: ``pos[j]`` is the first
  ``t`` distinct values, in order, of the sequence
  ``int.from_bytes(BLAKE2b(key=that key, digest_size=8,
  data=j.to_bytes(4, "big") + c.to_bytes(4, "big")), "big") % m`` for
  ``c = 0, 1, 2, ...`` (values already taken are skipped).  The length stays
  ``m``; ``2 <= t <= 64`` and ``t <= m``.  Diffusion is linear over GF(2)
  (the diffusion of ``a XOR b`` is the XOR of the diffusions) and maps an
  all-zero filter to all zeros.
* **BLIP** (Schnell & Borgs 2016): last, every bit is flipped independently
  with probability ``f``.  For each bit, row by row, 4 bytes of the CSPRNG
  (``os.urandom``) are read as a little-endian unsigned integer ``u``; the bit
  flips when ``u < round(f * 2**32)``.  Encodings are therefore *not
  reproducible*: the same record encoded twice gives different bits.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from htlink.encode.values import INVALID, prepare_value
from htlink.errors import SecretError
from htlink.schema.model import DateFormat, Feature, SaltConfig

RandBytes = Callable[[int], bytes]

SALT_INFO = b"htlink record salt v1\x00"
PERMUTATION_LABEL = b"htlink:balanced-permutation:v1"
DIFFUSION_LABEL = b"htlink:diffusion:v1"
_DIFFUSION_BLOCK_BITS = 1 << 20  # unpacked bits per block (1 MiB per working array)
_BLIP_BLOCK_BITS = 1 << 22  # random words drawn per block (16 MiB of randomness)


def check_secret(secret: bytes | None) -> None:
    """Refuse to encode without a secret: keyed hashing is always on.

    The secret's strength (at least 128 bits) is checked where it is read
    (:func:`htlink.crypto.secret.load_secret`); the library refuses only a missing
    or empty one, so that clkhash's test vectors (short passphrases) still reproduce.
    """
    if not isinstance(secret, bytes | bytearray) or not secret:
        raise SecretError(
            "Encoding needs the linkage secret: htlink never encodes without keyed hashing.",
            "Pass the project's secret file (made with `htlink keys new`).",
        )


def salt_value(feature: Feature, salt: SaltConfig, value: str | None) -> str:
    """The salt a record gets from its (normalized) value of the salt feature; "" if none."""
    if value is None or value == "":
        return ""
    assert feature.hashing is not None
    mv = feature.hashing.missing_value
    if mv is not None and value == mv.sentinel:
        return ""
    text = prepare_value(feature, value)
    if text is INVALID or text == "":
        return ""
    if salt.part == "year":
        assert isinstance(feature.format, DateFormat)
        return str(datetime.strptime(value, feature.format.format).year)
    return text


def salted_key(key: bytes, salt: str) -> bytes:
    """A feature key re-derived for one salt value (same length as ``key``)."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=len(key),
        salt=None,
        info=SALT_INFO + salt.encode("utf-8"),
    ).derive(key)


def salted_keys(keys: tuple[bytes, bytes], salt: str) -> tuple[bytes, bytes]:
    return salted_key(keys[0], salt), salted_key(keys[1], salt)


def balance_permutation(secret: bytes, length: int) -> np.ndarray:
    """The keyed permutation of ``2 * length`` positions used by balanced filters."""
    key = hmac.new(secret, PERMUTATION_LABEL, hashlib.sha256).digest()
    width = 2 * length

    def rank(i: int) -> bytes:
        return hashlib.blake2b(i.to_bytes(4, "big"), key=key, digest_size=16).digest()

    return np.asarray(sorted(range(width), key=rank), dtype=np.int64)


def balance(packed: np.ndarray, length: int, perm: np.ndarray) -> np.ndarray:
    """``filter || ~filter`` permuted by ``perm``, packed (``2 * length`` bits per row)."""
    bits = np.unpackbits(packed, axis=1, count=length).astype(bool)
    both = np.concatenate([bits, ~bits], axis=1)
    return np.packbits(both[:, perm], axis=1)


def diffusion_positions(secret: bytes, length: int, t: int) -> np.ndarray:
    """The ``(length, t)`` input positions XORed into each output bit by diffusion."""
    if not 1 <= t <= length:
        raise ValueError(f"diffusion needs 1 <= t <= length, got t={t}, length={length}")
    key = hmac.new(secret, DIFFUSION_LABEL, hashlib.sha256).digest()
    out = np.empty((length, t), dtype=np.int64)
    for j in range(length):
        prefix = j.to_bytes(4, "big")
        chosen: list[int] = []
        c = 0
        while len(chosen) < t:
            digest = hashlib.blake2b(prefix + c.to_bytes(4, "big"), key=key, digest_size=8)
            p = int.from_bytes(digest.digest(), "big") % length
            if p not in chosen:
                chosen.append(p)
            c += 1
        out[j] = chosen
    return out


def diffuse(packed: np.ndarray, length: int, positions: np.ndarray) -> np.ndarray:
    """Output bit ``j`` of each row is the XOR of its bits ``positions[j]`` (packed rows).

    Rows are processed in blocks of about ``_DIFFUSION_BLOCK_BITS`` bits, so the
    working memory stays a few MiB whatever the number of rows.
    """
    n = packed.shape[0]
    out = np.empty((n, (length + 7) // 8), dtype=np.uint8)
    rows_per_block = max(1, _DIFFUSION_BLOCK_BITS // max(1, length))
    columns = [np.ascontiguousarray(positions[:, k]) for k in range(positions.shape[1])]
    for start in range(0, n, rows_per_block):
        bits = np.unpackbits(packed[start : start + rows_per_block], axis=1, count=length)
        acc = np.take(bits, columns[0], axis=1)
        for column in columns[1:]:
            acc ^= np.take(bits, column, axis=1)
        out[start : start + bits.shape[0]] = np.packbits(acc, axis=1)
    return out


def blip_threshold(f: float) -> int:
    return round(f * 2**32)


def blip(packed: np.ndarray, length: int, f: float, randbytes: RandBytes) -> np.ndarray:
    """Flip every bit with probability ``f`` (randomness from ``randbytes``, row-major)."""
    threshold = blip_threshold(f)
    n = packed.shape[0]
    out = np.empty_like(packed)
    rows_per_block = max(1, _BLIP_BLOCK_BITS // max(1, length))
    for start in range(0, n, rows_per_block):
        block = packed[start : start + rows_per_block]
        rows = block.shape[0]
        words = np.frombuffer(randbytes(4 * rows * length), dtype="<u4").reshape(rows, length)
        flips = np.packbits(words < threshold, axis=1)
        out[start : start + rows] = block ^ flips
    return out
