"""The fast CLK encoder: cryptographic long-term keys (Schnell et al. 2011) in bulk.

Per chunk of records and per feature, htlink

1. factorizes the column, so each *distinct* value is formatted, tokenized and
   hashed once (names, ZIP codes and dates repeat a lot);
2. looks every distinct token up in a per-feature cache of bit positions
   (:class:`~htlink.encode.hashing.TokenHasher`), hashing only new tokens;
3. sets all bits of all distinct values at once with numpy, packs them, and
4. ORs each record's rows from every feature's table, then XOR-folds.

The output is identical, bit for bit, to clkhash 0.18.3 (big-endian bit order
within bytes, as ``bitarray.tobytes``); :mod:`htlink.encode.reference` is the
plain one-record-at-a-time version the tests compare this with.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from htlink.crypto.kdf import derive_feature_keys
from htlink.encode.hardening import (
    SALT_INFO,
    RandBytes,
    balance,
    balance_permutation,
    blip,
    check_secret,
    diffuse,
    diffusion_positions,
    salt_value,
)
from htlink.encode.hashing import TokenHasher, keyed_positions
from htlink.encode.tokens import key_to_token, ngram_keys, ngram_keys_supported, tokenize
from htlink.encode.values import INVALID, missing_text, prepare_value
from htlink.schema.model import DateFormat, Feature, LinkageSchema, StringFormat

OK, MISSING, INVALID_VALUE = 0, 1, 2
_BITS_BLOCK = 1 << 23  # unpacked bits set per block of salted rows (8 MiB)


def popcounts(packed: np.ndarray) -> np.ndarray:
    """Bits set per row of a packed ``(n, bytes)`` uint8 array."""
    return np.bitwise_count(packed).sum(axis=1, dtype=np.int64)


def xor_fold(packed: np.ndarray, length: int, folds: int) -> np.ndarray:
    """Fold ``folds`` times: each time XOR the first half of the bits with the second."""
    for _ in range(folds):
        half = length // 2
        if half % 8 == 0:
            packed = packed[:, : half // 8] ^ packed[:, half // 8 : length // 8]
        else:
            bits = np.unpackbits(packed, axis=1, count=length).astype(bool)
            packed = np.packbits(bits[:, :half] ^ bits[:, half:length], axis=1)
        length = half
    return np.ascontiguousarray(packed)


def _as_words(packed: np.ndarray) -> np.ndarray:
    """View packed rows as uint64 words (zero-padding the width to a multiple of 8 bytes)."""
    width = packed.shape[1]
    if width % 8:
        packed = np.pad(packed, ((0, 0), (0, 8 - width % 8)))
    return np.ascontiguousarray(packed).view(np.uint64)


def _or_rows_per_value(rows: np.ndarray, occurrence: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """OR together, for each value, the word rows of its token occurrences.

    Values are visited longest first so that step t touches a contiguous prefix:
    the values that have more than t tokens.  Returns packed bytes per value.
    """
    order = np.argsort(-counts, kind="stable")
    sorted_counts = counts[order]
    starts = (np.cumsum(counts) - counts)[order]
    out = np.zeros((len(counts), rows.shape[1]), dtype=np.uint64)
    longest = int(sorted_counts[0]) if len(counts) else 0
    active = len(counts)
    for t in range(longest):
        while active and sorted_counts[active - 1] <= t:
            active -= 1
        out[:active] |= rows[occurrence[starts[:active] + t]]
    result = np.empty_like(out)
    result[order] = out
    return result.view(np.uint8)


@dataclass
class FeatureCounts:
    """What happened to one feature's values in a chunk (counts only, never values)."""

    missing: int = 0  # no value given (None)
    invalid: int = 0  # a value that failed the schema's format: encoded as missing
    bits_set: int = 0  # bits this feature set, summed over records (before folding)


@dataclass
class EncodedChunk:
    clks: np.ndarray  # (n, ceil(l / 8)) uint8
    popcounts: np.ndarray  # (n,) int64
    features: dict[str, FeatureCounts] = field(default_factory=dict)
    #: field-level encodings (``field_level=True``): feature -> (n, ceil(l / 8)) uint8,
    #: all zero where the value is missing or invalid
    fields: dict[str, np.ndarray] | None = None


class FeatureEncoder:
    """Encodes the distinct values of one feature into packed unfolded bit rows."""

    def __init__(self, feature: Feature, keys: tuple[bytes, bytes], hash_length: int) -> None:
        assert feature.hashing is not None
        self.feature = feature
        self.hashing = feature.hashing
        self.hash_length = hash_length
        encoding = feature.format.encoding if isinstance(feature.format, StringFormat) else "utf-8"
        self.hasher = TokenHasher(feature.hashing, keys, hash_length, encoding)
        self._missing = missing_text(feature)
        self._token_memo: dict[int, str] = {}
        fmt = feature.format
        # a "plain" string format accepts every value unchanged: no per-value checks needed
        self._plain = (
            isinstance(fmt, StringFormat)
            and fmt.encoding == "utf-8"
            and fmt.case == "mixed"
            and fmt.min_length is None
            and fmt.max_length is None
            and fmt.pattern is None
            and feature.hashing.comparison.type != "numeric"
        )

    def status_and_text(self, value: str | None) -> tuple[int, str]:
        """A value's status (``OK``, ``MISSING`` or ``INVALID_VALUE``) and the text to tokenize.

        ``None`` is missing and hashed as the ``missingValue`` replacement (if any).
        An empty string that is not the sentinel has no tokens, as in clkhash.
        A value failing the format is hashed as missing and reported as invalid.
        """
        if value is None:
            return MISSING, self._missing
        mv = self.hashing.missing_value
        if value == "" and (mv is None or mv.sentinel != ""):
            return MISSING, ""
        if self._plain and (mv is None or value != mv.sentinel):
            return OK, value
        text = prepare_value(self.feature, value)
        if text is INVALID:
            return INVALID_VALUE, self._missing
        return OK, text

    def _key_tokens(self, keys: np.ndarray) -> list[str]:
        """Token strings for packed n-gram keys, memoized (the set of n-grams is small)."""
        memo = self._token_memo
        if len(memo) > 1_000_000:
            memo.clear()
        comparison = self.hashing.comparison
        out = []
        for key in keys.tolist():
            token = memo.get(key)
            if token is None:
                token = memo[key] = key_to_token(key, comparison.n, comparison.positional)
            out.append(token)
        return out

    def _tokens(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Token counts per text, a code per token occurrence, and the distinct tokens."""
        comparison = self.hashing.comparison
        if comparison.type == "ngram" and ngram_keys_supported(comparison.n, comparison.positional):
            packed = ngram_keys(texts, comparison.n, comparison.positional)
            if packed is not None:
                counts, keys = packed
                codes, distinct = pd.factorize(keys)
                return counts, codes, self._key_tokens(distinct)
        per_text = [tokenize(comparison, t) for t in texts]
        counts = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
        flat = [tok for toks in per_text for tok in toks]
        if not flat:
            return counts, np.zeros(0, np.int64), []
        codes, distinct = pd.factorize(np.asarray(flat, dtype=object))
        return counts, codes, list(distinct)

    def statuses(self, uniques: Sequence[str | None]) -> tuple[np.ndarray, list[str]]:
        """Statuses and texts of ``uniques`` plus a last entry for None."""
        status = np.zeros(len(uniques) + 1, dtype=np.int8)
        texts: list[str] = []
        for i, value in enumerate([*uniques, None]):
            state, text = self.status_and_text(value)
            status[i] = state
            texts.append(text)
        return status, texts

    def table(self, uniques: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """Packed bit rows for ``uniques`` (plus a last row for None) and their statuses."""
        n_rows = len(uniques) + 1
        status, texts = self.statuses(uniques)
        counts, codes, distinct = self._tokens(texts)
        width = (self.hash_length + 7) // 8
        table = np.zeros((n_rows, width), dtype=np.uint8)
        if len(codes):
            # one packed row per distinct (token, k) pair, then OR the pairs of each value
            ks = self._ks(counts)
            stride = self.hasher.kmax + 1
            pair_of_occurrence, pairs = pd.factorize(codes.astype(np.int64) * stride + ks)
            pair_token, pair_k = np.divmod(pairs, stride)
            positions = self.hasher.positions(distinct)
            pair_bits = np.zeros((len(pairs), self.hash_length), dtype=bool)
            owner = np.repeat(np.arange(len(pairs)), pair_k)
            column = np.arange(len(owner)) - np.repeat(np.cumsum(pair_k) - pair_k, pair_k)
            pair_bits[owner, positions[pair_token[owner], column]] = True
            pair_rows = _as_words(np.packbits(pair_bits, axis=1))
            table[:] = _or_rows_per_value(pair_rows, pair_of_occurrence, counts)[:, :width]
        return table, status

    def salted_table(
        self,
        uniques: Sequence[str | None],
        codes: np.ndarray,
        salt_codes: np.ndarray,
        salt_keys: Sequence[tuple[bytes, bytes]],
        prepared: tuple[np.ndarray, list[str]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Packed bit rows per distinct *(salt, value)* pair of a chunk, all salts at once.

        ``codes`` is each record's value (``len(uniques)`` for None), ``salt_codes``
        its salt and ``salt_keys[salt]`` that salt's keys for this feature.  Returns
        the rows, the statuses of ``uniques`` (plus None, as :meth:`table`) and each
        record's row.  Values are formatted and tokenized once whatever their salts;
        then every distinct *(salt, token)* pair of the chunk is hashed once under its
        salt's keys, and the (salt-independent) k of every token occurrence picks
        that many of its positions.  ``prepared`` is :meth:`statuses` of ``uniques``
        if already known.
        """
        n_values = len(uniques) + 1
        status, texts = prepared if prepared is not None else self.statuses(uniques)
        counts, token_codes, distinct = self._tokens(texts)
        record_row, pairs = pd.factorize(salt_codes.astype(np.int64) * n_values + codes)
        n_rows = len(pairs)
        width = (self.hash_length + 7) // 8
        table = np.zeros((n_rows, width), dtype=np.uint8)
        if not len(token_codes):
            return table, status, record_row
        pair_salt, pair_value = np.divmod(pairs, n_values)
        # token occurrences of every (salt, value) row, in row order
        row_counts = counts[pair_value]
        total = int(row_counts.sum())
        if not total:
            return table, status, record_row
        row_first = np.cumsum(row_counts) - row_counts
        value_first = np.cumsum(counts) - counts
        occurrence = np.repeat(value_first[pair_value] - row_first, row_counts) + np.arange(total)
        occurrence_k = self._ks(counts)[occurrence]
        n_tokens = len(distinct)
        salted_token = np.repeat(pair_salt * n_tokens, row_counts) + token_codes[occurrence]
        item_of_occurrence, items = pd.factorize(salted_token)
        item_salt, item_token = np.divmod(items, n_tokens)
        item_k = np.zeros(len(items), dtype=np.int64)
        np.maximum.at(item_k, item_of_occurrence, occurrence_k)
        encoding = self.hasher.encoding
        flat, offsets = keyed_positions(
            self.hashing,
            salt_keys,
            item_salt,
            [token.encode(encoding) for token in distinct],
            item_token,
            item_k,
            self.hash_length,
        )
        # set the bits of a block of rows at a time (bounded working memory): bit j of
        # occurrence o is position offsets[item] + j of ``flat``, set in the o's row
        bit_first = np.cumsum(occurrence_k) - occurrence_k
        source_shift = offsets[item_of_occurrence] - bit_first
        row_shift = np.repeat(np.arange(n_rows, dtype=np.int64) * self.hash_length, row_counts)
        row_end = row_first + row_counts
        block = max(1, _BITS_BLOCK // max(1, self.hash_length))
        for r0 in range(0, n_rows, block):
            r1 = min(n_rows, r0 + block)
            o0, o1 = int(row_first[r0]), int(row_end[r1 - 1])
            if o0 == o1:
                continue
            k = occurrence_k[o0:o1]
            source = np.repeat(source_shift[o0:o1], k)
            source += np.arange(bit_first[o0], bit_first[o0] + len(source))
            target = flat[source].astype(np.int64)
            target += np.repeat(row_shift[o0:o1] - r0 * self.hash_length, k)
            bits = np.zeros((r1 - r0) * self.hash_length, dtype=bool)
            bits[target] = True
            table[r0:r1] = np.packbits(bits.reshape(r1 - r0, self.hash_length), axis=1)
        return table, status, record_row

    def _ks(self, counts: np.ndarray) -> np.ndarray:
        """k for every token, in token order (clkhash's strategies, vectorized)."""
        strategy = self.hashing.strategy
        total = int(counts.sum())
        if strategy.bits_per_token is not None:
            return np.full(total, strategy.bits_per_token, dtype=np.int64)
        bpf = strategy.bits_per_feature
        assert bpf is not None
        per_value = np.repeat(counts, counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        index_in_value = np.arange(total) - first
        base, residue = np.divmod(bpf, np.maximum(per_value, 1))
        return base + (index_in_value < residue)


class SaltKeyDeriver:
    """:func:`~htlink.encode.hardening.salted_key` of one feature key, for many salts.

    HKDF-SHA256 without salt (RFC 5869): the extract step (``PRK = HMAC(0^32,
    key)``) does not depend on the record's salt, so it is done once, and so are
    the padded inner and outer SHA-256 states of ``HMAC(PRK, .)``; each salt then
    costs only the expand step's one or two HMAC blocks.
    """

    def __init__(self, key: bytes) -> None:
        prk = hmac.new(bytes(32), key, hashlib.sha256).digest()
        block = prk.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self.length = len(key)

    def _hmac(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def derive(self, salt: str) -> bytes:
        info = SALT_INFO + salt.encode("utf-8")
        block = self._hmac(info + b"\x01")
        okm = block
        counter = 2
        while len(okm) < self.length:
            block = self._hmac(block + info + bytes([counter]))
            okm += block
            counter += 1
        return okm[: self.length]


class ClkEncoder:
    """Encodes records into CLKs for one schema and one secret.

    The schema's hardening (``x-htlink.hardening``) is applied when configured:
    per-record salted keys, then XOR folding, balancing, diffusion and BLIP (see
    :mod:`htlink.encode.hardening`).  ``randbytes`` is BLIP's randomness (the
    operating system's CSPRNG); tests pass a fixed stream to compare with the
    reference encoder.
    """

    #: distinct salt values whose per-feature salted keys are kept
    SALT_CACHE = 1 << 16

    def __init__(
        self,
        schema: LinkageSchema,
        secret: bytes,
        field_level: bool = False,
        randbytes: RandBytes = os.urandom,
    ) -> None:
        check_secret(secret)
        self.schema = schema
        self.field_level = field_level
        self.hardening = schema.hardening
        self.randbytes = randbytes
        self._keys = derive_feature_keys(secret, schema)
        self.hash_length = schema.clk.hash_length
        self.encoders = {
            f.identifier: FeatureEncoder(f, self._keys[f.index], self.hash_length)
            for f in schema.hashed_features
        }
        salt = self.hardening.salt
        self._salt_feature = schema.feature(salt.feature) if salt is not None else None
        # per salted feature: a key deriver for each key the feature's hash uses
        self._derivers = [
            (
                SaltKeyDeriver(self._keys[f.index][0]),
                SaltKeyDeriver(self._keys[f.index][1])
                if f.hashing is not None and f.hashing.hash_type != "blakeHash"
                else None,
            )
            for f in schema.hashed_features
        ]
        self._salted: dict[str, tuple[tuple[bytes, bytes], ...]] = {}
        self._perm = balance_permutation(secret, schema.clk.l) if self.hardening.balanced else None
        t = self.hardening.diffusion_t
        self._diffusion = diffusion_positions(secret, schema.encoding_length, t) if t else None

    @property
    def clk_bytes(self) -> int:
        return (self.schema.encoding_length + 7) // 8

    def _value_salts(
        self,
        series: Mapping[str, pd.Series],
        factorized: Mapping[str, tuple[np.ndarray, list[str | None]]],
        prepared: dict[str, tuple[np.ndarray, list[str]]],
    ) -> tuple[list[str], np.ndarray]:
        """The salt of each distinct value of the salt feature (plus None), and value codes.

        When the salt feature is hashed, its statuses and texts are computed once (and
        kept in ``prepared`` for its encoding): a salt is
        :func:`~htlink.encode.hardening.salt_value`, which is the empty salt unless
        the value is valid, not the ``missingValue`` sentinel and formats to a
        non-empty text; then it is that text, or for ``part="year"`` the year of the
        date (the text is ``%Y%m%d``: all but its last 4 digits).
        """
        feature, salt = self._salt_feature, self.hardening.salt
        assert feature is not None and salt is not None
        name = feature.identifier
        encoder = self.encoders.get(name)
        if encoder is None or (salt.part == "year" and not isinstance(feature.format, DateFormat)):
            column = series[name].astype(object)
            codes, uniques = pd.factorize(column, use_na_sentinel=True)
            per_value = [salt_value(feature, salt, v) for v in uniques]
            return [*per_value, ""], np.where(codes < 0, len(uniques), codes)
        codes, uniques = factorized[name]
        status, texts = prepared[name] = encoder.statuses(uniques)
        mv = encoder.hashing.missing_value
        sentinel = mv.sentinel if mv is not None else None
        year = salt.part == "year"
        per_value = []
        for value, state, text in zip([*uniques, None], status.tolist(), texts, strict=True):
            if state != OK or not text or value == sentinel:
                per_value.append("")
            else:
                per_value.append(str(int(text[:-4])) if year else text)
        return per_value, codes

    def _salted_keys(self, salt: str) -> tuple[tuple[bytes, bytes], ...]:
        """Every hashed feature's keys for one salt (the second only where it is used)."""
        keys = self._salted.get(salt)
        if keys is None:
            if len(self._salted) >= self.SALT_CACHE:
                self._salted.clear()
            keys = self._salted[salt] = tuple(
                (first.derive(salt), second.derive(salt) if second is not None else b"")
                for first, second in self._derivers
            )
        return keys

    def _finish(self, packed: np.ndarray) -> np.ndarray:
        """Fold, balance, diffuse and BLIP unfolded packed rows, in that order."""
        clk = self.schema.clk
        out = xor_fold(packed, self.hash_length, clk.xor_folds)
        if self._perm is not None:
            out = balance(out, clk.l, self._perm)
        if self._diffusion is not None:
            out = diffuse(out, self.schema.encoding_length, self._diffusion)
        if self.hardening.blip_f:
            out = blip(out, self.schema.encoding_length, self.hardening.blip_f, self.randbytes)
        return np.ascontiguousarray(out)

    def encode(self, columns: Mapping[str, Sequence[str | None] | pd.Series]) -> EncodedChunk:
        """CLKs for a chunk of records given one column per hashed feature.

        A column holds strings, with ``None`` for a missing value.  Missing and
        invalid values are hashed as the feature's ``missingValue`` replacement if
        it has one, and set no bits otherwise.

        With ``field_level`` the chunk also carries one Bloom filter per feature: the
        bits that feature contributes to the CLK (same keys and positions, folded
        like the CLK, and balanced, diffused and BLIP-flipped like it when the
        schema says so), except that a missing or invalid value (or the schema's
        ``missingValue`` sentinel) is an all-zero filter even where the schema hashes
        a replacement into the CLK, so that a probabilistic matcher can tell
        "missing" from "disagrees".
        """
        lengths = {len(columns[name]) for name in self.encoders}
        if len(lengths) != 1:
            raise ValueError("all feature columns must have the same length")
        (n,) = lengths
        width = (self.hash_length + 7) // 8
        acc = np.zeros((n, width), dtype=np.uint8)
        counts = {name: FeatureCounts() for name in self.encoders}
        own: dict[str, np.ndarray] | None = {} if self.field_level else None
        absent_out: dict[str, np.ndarray] = {}
        series = {
            name: (
                pd.Series(columns[name], dtype=object)
                if not isinstance(columns[name], pd.Series)
                else columns[name].reset_index(drop=True)
            )
            for name in self.encoders
        }
        factorized = {}
        for name in self.encoders:
            codes, uniques = pd.factorize(series[name].astype(object), use_na_sentinel=True)
            factorized[name] = (np.where(codes < 0, len(uniques), codes), list(uniques))
        prepared: dict[str, tuple[np.ndarray, list[str]]] = {}
        salt_codes: np.ndarray | None = None
        salt_keys: list[tuple[tuple[bytes, bytes], ...]] = []
        if self._salt_feature is not None:
            per_value, value_codes = self._value_salts(series, factorized, prepared)
            value_salt, groups = pd.factorize(np.asarray(per_value, dtype=object))
            salt_codes = value_salt[value_codes]
            salt_keys = [self._salted_keys(str(value)) for value in groups]
        for f, (name, encoder) in enumerate(self.encoders.items()):
            codes, uniques = factorized[name]
            if salt_codes is None:
                table, status = encoder.table(uniques)
                rows = codes
            else:
                table, status, rows = encoder.salted_table(
                    uniques,
                    codes,
                    salt_codes,
                    [keys[f] for keys in salt_keys],
                    prepared.get(name),
                )
            mine = table[rows]
            acc |= mine
            per_record = status[codes]
            if own is not None:
                # missing, invalid, or the schema's missing-value sentinel: an empty filter
                absent = status != OK
                mv = encoder.hashing.missing_value
                if mv is not None:
                    absent[: len(uniques)] |= np.asarray(uniques, dtype=object) == mv.sentinel
                own[name] = mine
                absent_out[name] = absent[codes]
            stats = counts[name]
            stats.missing += int((per_record == MISSING).sum())
            stats.invalid += int((per_record == INVALID_VALUE).sum())
            stats.bits_set += int(popcounts(table)[rows].sum())
        clks = self._finish(acc)
        fields: dict[str, np.ndarray] | None = None
        if own is not None:
            fields = {}
            for name, rows_bits in own.items():
                folded = self._finish(rows_bits)
                folded[absent_out[name]] = 0
                fields[name] = folded
        return EncodedChunk(clks=clks, popcounts=popcounts(clks), features=counts, fields=fields)
