"""A plain, one-record-at-a-time CLK encoder: the specification the fast path is tested against.

It follows the published construction directly -- derive keys, format each
value, tokenize, hash every token k times, OR into one filter, XOR-fold -- with
a Python integer as the bit set and no caching or vectorization.  Use
:class:`htlink.encode.bloom.ClkEncoder` for real work; this exists so tests can
check that the fast encoder computes the same thing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence

from htlink.crypto.kdf import derive_feature_keys
from htlink.encode.hardening import (
    DIFFUSION_LABEL,
    RandBytes,
    balance_permutation,
    blip_threshold,
    check_secret,
    salt_value,
    salted_keys,
)
from htlink.encode.hashing import blake_positions, double_hash_positions
from htlink.encode.tokens import tokenize
from htlink.encode.values import INVALID, missing_text, prepare_value
from htlink.schema.model import LinkageSchema, StringFormat


def reference_clk(
    schema: LinkageSchema,
    secret: bytes,
    record: Sequence[str | None],
    randbytes: RandBytes = os.urandom,
) -> bytes:
    """The CLK of one record given one value per schema feature (ignored ones included).

    Hardening from the schema is applied as specified in
    :mod:`htlink.encode.hardening`: salted keys, then folding, balancing,
    diffusion and BLIP (4 bytes of ``randbytes`` per bit, in bit order).
    """
    check_secret(secret)
    if len(record) != len(schema.features):
        raise ValueError("one value per schema feature is required")
    keys = derive_feature_keys(secret, schema)
    hardening = schema.hardening
    if hardening.salt is not None:
        salt_feature = schema.feature(hardening.salt.feature)
        salt = salt_value(salt_feature, hardening.salt, record[salt_feature.index])
        keys = [salted_keys(pair, salt) for pair in keys]
    hash_length = schema.clk.hash_length
    bits = [False] * hash_length
    for feature, value in zip(schema.features, record, strict=True):
        if feature.ignored:
            continue
        hashing = feature.hashing
        assert hashing is not None
        mv = hashing.missing_value
        if value is None:
            text = missing_text(feature)
        elif value == "" and (mv is None or mv.sentinel != ""):
            text = ""
        else:
            prepared = prepare_value(feature, value)
            text = missing_text(feature) if prepared is INVALID else prepared
        tokens = tokenize(hashing.comparison, text)
        encoding = feature.format.encoding if isinstance(feature.format, StringFormat) else "utf-8"
        for token, k in zip(tokens, hashing.strategy.ks(len(tokens)), strict=True):
            data = token.encode(encoding)
            if hashing.hash_type == "blakeHash":
                positions = blake_positions(data, k, keys[feature.index][0], hash_length)
            else:
                positions = double_hash_positions(
                    data, k, *keys[feature.index], hash_length, hashing.prevent_singularity
                )
            for p in positions:
                bits[int(p)] = True
    length = hash_length
    for _ in range(schema.clk.xor_folds):
        half = length // 2
        bits = [a ^ b for a, b in zip(bits[:half], bits[half:length], strict=True)]
        length = half
    if hardening.balanced:
        both = bits + [not b for b in bits]
        bits = [both[int(p)] for p in balance_permutation(secret, length)]
        length = 2 * length
    if hardening.diffusion_t:
        bits = _diffuse(bits, _diffusion_sets(secret, length, hardening.diffusion_t))
    if hardening.blip_f:
        threshold = blip_threshold(hardening.blip_f)
        bits = [b ^ (int.from_bytes(randbytes(4), "little") < threshold) for b in bits]
    out = bytearray((length + 7) // 8)
    for i, bit in enumerate(bits):
        if bit:
            out[i // 8] |= 0x80 >> (i % 8)
    return bytes(out)


def _diffusion_sets(secret: bytes, m: int, t: int) -> list[list[int]]:
    """For each output bit ``j``, the ``t`` input positions diffusion XORs (plain Python)."""
    key = hmac.new(secret, DIFFUSION_LABEL, hashlib.sha256).digest()
    sets = []
    for j in range(m):
        chosen: list[int] = []
        c = 0
        while len(chosen) < t:
            data = j.to_bytes(4, "big") + c.to_bytes(4, "big")
            digest = hashlib.blake2b(data, key=key, digest_size=8).digest()
            position = int.from_bytes(digest, "big") % m
            if position not in chosen:
                chosen.append(position)
            c += 1
        sets.append(chosen)
    return sets


def _diffuse(bits: list[bool], sets: list[list[int]]) -> list[bool]:
    """Output bit ``j`` is the XOR of the input bits ``sets[j]``."""
    out = []
    for positions in sets:
        value = False
        for p in positions:
            value ^= bits[p]
        out.append(value)
    return out
