"""Keyed hashing of a token into Bloom-filter bit positions.

* ``blakeHash``: keyed BLAKE2b of the token with salt ``str(i)`` for
  i = 0, 1, ...; each 64-byte digest is read as 32 little-endian 16-bit
  integers, and position j is integer j modulo the filter length.
* ``doubleHash`` (Schnell 2011): position i is ``(h1 + i*h2) mod l`` with
  h1 = HMAC-SHA1 and h2 = HMAC-MD5 of the token, each read as a big-endian
  integer modulo l.  With ``prevent_singularity`` an h2 of 0 is re-drawn by
  appending ``chr(0)``, ``chr(1)``, ... to the token, so a token never maps to a
  single bit.

For every scheme the first k positions of a token do not depend on how many
are requested, so htlink computes each token's positions once, for the largest
k its strategy can ask for, and caches them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import numpy as np

from htlink.schema.model import Hashing


def position_dtype(hash_length: int) -> np.dtype:
    return np.dtype(np.uint16) if hash_length <= 2**16 else np.dtype(np.uint32)


def blake_positions(token: bytes, k: int, key: bytes, hash_length: int) -> np.ndarray:
    digests = b"".join(
        hashlib.blake2b(token, key=key, salt=str(i).encode()).digest()
        for i in range((k + 31) // 32)
    )
    return (np.frombuffer(digests, dtype="<u2")[:k] % hash_length).astype(np.int64)


def double_hash_positions(
    token: bytes, k: int, key_sha1: bytes, key_md5: bytes, hash_length: int, non_singular: bool
) -> np.ndarray:
    h1 = int.from_bytes(hmac.new(key_sha1, token, hashlib.sha1).digest(), "big") % hash_length
    h2 = int.from_bytes(hmac.new(key_md5, token, hashlib.md5).digest(), "big") % hash_length
    i = 0
    while non_singular and h2 == 0:
        salted = token + chr(i).encode()
        h2 = int.from_bytes(hmac.new(key_md5, salted, hashlib.md5).digest(), "big") % hash_length
        i += 1
    return (h1 + np.arange(k, dtype=np.int64) * h2) % hash_length


class TokenHasher:
    """Bit positions for the tokens of one feature, with a bounded cache."""

    def __init__(
        self,
        hashing: Hashing,
        keys: tuple[bytes, bytes],
        hash_length: int,
        encoding: str,
        cache_bytes: int = 64 * 2**20,
    ) -> None:
        self.hashing = hashing
        self.keys = keys
        self.hash_length = hash_length
        self.encoding = encoding
        self.kmax = hashing.strategy.max_k
        self.dtype = position_dtype(hash_length)
        self.capacity = max(1024, cache_bytes // (self.kmax * self.dtype.itemsize))
        self._rows: dict[str, int] = {}
        self._table = np.empty((0, self.kmax), dtype=self.dtype)

    def _compute(self, token: str) -> np.ndarray:
        data = token.encode(self.encoding)
        if self.hashing.hash_type == "blakeHash":
            return blake_positions(data, self.kmax, self.keys[0], self.hash_length)
        return double_hash_positions(
            data,
            self.kmax,
            self.keys[0],
            self.keys[1],
            self.hash_length,
            self.hashing.prevent_singularity,
        )

    def positions(self, tokens: list[str]) -> np.ndarray:
        """A ``(len(tokens), kmax)`` array: row i holds the positions of ``tokens[i]``."""
        out = np.empty((len(tokens), self.kmax), dtype=self.dtype)
        fresh: list[tuple[int, str]] = []
        rows = self._rows
        for i, token in enumerate(tokens):
            row = rows.get(token)
            if row is None:
                fresh.append((i, token))
            else:
                out[i] = self._table[row]
        if fresh:
            computed = np.stack([self._compute(t) for _, t in fresh]).astype(self.dtype)
            out[[i for i, _ in fresh]] = computed
            self._remember([t for _, t in fresh], computed)
        return out

    def _remember(self, tokens: list[str], computed: np.ndarray) -> None:
        used = len(self._rows)
        if used + len(tokens) > self.capacity:
            self._rows.clear()
            used = 0
            if len(tokens) > self.capacity:
                return
        need = used + len(tokens)
        if need > len(self._table):
            grown = np.empty(
                (min(self.capacity, max(need, 2 * len(self._table))), self.kmax), dtype=self.dtype
            )
            grown[:used] = self._table[:used]
            self._table = grown
        self._table[used:need] = computed
        for offset, token in enumerate(tokens):
            self._rows[token] = used + offset


def keyed_positions(
    hashing: Hashing,
    keys: Sequence[tuple[bytes, bytes]],
    key_of: np.ndarray,
    tokens: Sequence[bytes],
    token_of: np.ndarray,
    ks: np.ndarray,
    hash_length: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of many (key pair, token) items, each hashed under its own keys.

    Item ``d`` is token ``tokens[token_of[d]]`` under ``keys[key_of[d]]``; its first
    ``ks[d]`` positions are ``flat[offsets[d] : offsets[d] + ks[d]]`` (the same as
    :func:`blake_positions` / :func:`double_hash_positions` give).  Nothing is
    cached: this is for salted keys, where an item rarely repeats.  The only Python
    work per item is the keyed hash calls themselves.
    """
    n = len(ks)
    ks = np.asarray(ks, dtype=np.int64)
    if hashing.hash_type == "blakeHash":
        digests_per_item = (ks + 31) // 32
        first = np.cumsum(digests_per_item) - digests_per_item
        rows = np.empty((int(digests_per_item.sum()), 32), dtype=np.uint16)
        blake2b = hashlib.blake2b
        first_keys = [pair[0] for pair in keys]
        item_keys = [first_keys[s] for s in key_of.tolist()]
        item_tokens = [tokens[t] for t in token_of.tolist()]
        for i in range(int(digests_per_item.max(initial=0))):
            salt = str(i).encode()
            if i == 0:
                chosen = first
                pairs = zip(item_tokens, item_keys, strict=True)
            else:
                more = np.flatnonzero(digests_per_item > i)
                chosen = first[more] + i
                pairs = zip(
                    [item_tokens[d] for d in more.tolist()],
                    [item_keys[d] for d in more.tolist()],
                    strict=True,
                )
            digests = b"".join([blake2b(t, key=k, salt=salt).digest() for t, k in pairs])
            rows[chosen] = np.frombuffer(digests, dtype="<u2").reshape(-1, 32)
        if hash_length < 2**16:
            rows %= np.uint16(hash_length)
        return rows.reshape(-1), first * 32
    key_list = key_of.tolist()
    token_list = token_of.tolist()
    non_singular = hashing.prevent_singularity
    h1 = np.empty(n, dtype=np.int64)
    h2 = np.empty(n, dtype=np.int64)
    digest = hmac.digest
    for d, (s, t) in enumerate(zip(key_list, token_list, strict=True)):
        key_sha1, key_md5 = keys[s]
        token = tokens[t]
        h1[d] = int.from_bytes(digest(key_sha1, token, "sha1"), "big") % hash_length
        second = int.from_bytes(digest(key_md5, token, "md5"), "big") % hash_length
        i = 0
        while non_singular and second == 0:
            salted = token + chr(i).encode()
            second = int.from_bytes(digest(key_md5, salted, "md5"), "big") % hash_length
            i += 1
        h2[d] = second
    offsets = np.cumsum(ks) - ks
    owner = np.repeat(np.arange(n), ks)
    column = np.arange(len(owner)) - np.repeat(offsets, ks)
    return (h1[owner] + column * h2[owner]) % hash_length, offsets
