"""Per-feature key derivation (HKDF, RFC 5869), laid out as clkhash lays it out.

The linkage secret is stretched into ``2 * len(features)`` keys of
``keySize`` bytes; feature ``i`` (counting ignored features too) gets keys
``2i`` and ``2i + 1``.  ``blakeHash`` uses the first of its pair,
``doubleHash`` uses both (HMAC-SHA1, HMAC-MD5).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from htlink.schema.model import LinkageSchema

_HASHES = {"SHA256": hashes.SHA256, "SHA512": hashes.SHA512}
KEYS_PER_FEATURE = 2


def derive_feature_keys(secret: bytes, schema: LinkageSchema) -> list[tuple[bytes, bytes]]:
    """One ``(key_a, key_b)`` pair per schema feature, in feature order."""
    kdf_cfg = schema.clk.kdf
    n_keys = KEYS_PER_FEATURE * len(schema.features)
    material = HKDF(
        algorithm=_HASHES[kdf_cfg.hash](),
        length=n_keys * kdf_cfg.key_size,
        salt=kdf_cfg.salt,
        info=kdf_cfg.info,
    ).derive(secret)
    size = kdf_cfg.key_size
    keys = [material[i * size : (i + 1) * size] for i in range(n_keys)]
    return [(keys[2 * i], keys[2 * i + 1]) for i in range(len(schema.features))]
