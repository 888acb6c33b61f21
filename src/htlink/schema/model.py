"""The linkage schema as typed objects.

A linkage schema is the contract every agency encodes with: which features are
hashed, how they are tokenized, and how many bits they set.  htlink reads
clkhash **v3** schemas (``version``, ``clkConfig``, ``features``) so that a
schema written for clkhash works here unchanged, and keeps its own additions
(normalization rules) under the top-level ``x-htlink`` key that clkhash
ignores.  Objects here are immutable and hold only validated values; build
them with :func:`htlink.schema.load.parse_schema`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

HashType = Literal["blakeHash", "doubleHash"]
ComparisonType = Literal["ngram", "exact", "numeric"]
FormatType = Literal["string", "integer", "date", "enum"]

EXTENSION_KEY = "x-htlink"


@dataclass(frozen=True)
class KdfConfig:
    """HKDF parameters (RFC 5869) used to derive per-feature keys from the secret."""

    type: str = "HKDF"
    hash: str = "SHA256"
    salt: bytes | None = None
    info: bytes | None = None
    key_size: int = 64


@dataclass(frozen=True)
class ClkConfig:
    """Global encoding settings: ``l`` is the CLK length *after* XOR folding."""

    l: int  # noqa: E741 - the name used by the literature and by clkhash
    kdf: KdfConfig
    xor_folds: int = 0

    @property
    def hash_length(self) -> int:
        """Bits in the filter before folding: ``l * 2**xor_folds``."""
        return self.l * 2**self.xor_folds


@dataclass(frozen=True)
class StringFormat:
    type: Literal["string"] = "string"
    encoding: str = "utf-8"
    case: str = "mixed"
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class IntegerFormat:
    type: Literal["integer"] = "integer"
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class DateFormat:
    format: str
    type: Literal["date"] = "date"


@dataclass(frozen=True)
class EnumFormat:
    values: tuple[str, ...]
    type: Literal["enum"] = "enum"


FeatureFormat = StringFormat | IntegerFormat | DateFormat | EnumFormat


@dataclass(frozen=True)
class Comparison:
    """How a value is cut into tokens: n-grams, the whole value, or a numeric neighbourhood."""

    type: ComparisonType
    n: int = 2
    positional: bool = False
    threshold_distance: float = 0.0
    resolution: int = 0
    fractional_precision: int = 0


@dataclass(frozen=True)
class Strategy:
    """How often tokens are inserted: ``bitsPerToken`` (k per token) or ``bitsPerFeature``."""

    bits_per_token: int | None = None
    bits_per_feature: int | None = None

    def ks(self, num_tokens: int) -> list[int]:
        """The number of bits to set for each of ``num_tokens`` tokens (clkhash semantics)."""
        if self.bits_per_token is not None:
            return [self.bits_per_token] * num_tokens
        assert self.bits_per_feature is not None
        if num_tokens == 0:
            return []
        k, residue = divmod(self.bits_per_feature, num_tokens)
        return [k + 1] * residue + [k] * (num_tokens - residue)

    @property
    def max_k(self) -> int:
        """The largest k any token can get under this strategy."""
        if self.bits_per_token is not None:
            return self.bits_per_token
        assert self.bits_per_feature is not None
        return self.bits_per_feature


@dataclass(frozen=True)
class MissingValue:
    """A sentinel that marks a missing value, and what to hash in its place."""

    sentinel: str
    replace_with: str | None = None

    @property
    def replacement(self) -> str:
        return self.sentinel if self.replace_with is None else self.replace_with


@dataclass(frozen=True)
class Hashing:
    comparison: Comparison
    strategy: Strategy
    hash_type: HashType = "blakeHash"
    prevent_singularity: bool = False
    missing_value: MissingValue | None = None


@dataclass(frozen=True)
class Feature:
    """One column of the schema.  Ignored features still take a key slot (clkhash semantics)."""

    identifier: str
    index: int
    ignored: bool = False
    description: str | None = None
    format: FeatureFormat | None = None
    hashing: Hashing | None = None
    normalize: Any = None  # htlink.normalize.NormalizationRule, from the x-htlink extension


SaltPart = Literal["year", "value"]


@dataclass(frozen=True)
class SaltConfig:
    """Per-record salting: a stable feature's value (or its year) keys every feature's hashing."""

    feature: str
    part: SaltPart = "value"


@dataclass(frozen=True)
class Hardening:
    """Opt-in hardening of the encodings (``x-htlink.hardening``); all off by default.

    Applied in this order: the salt keys the hashing; the filter is XOR-folded
    (``clkConfig.xor_folds``); ``balanced`` appends the complement and permutes
    with a secret-derived permutation (doubling the length); diffusion replaces
    every bit by the XOR of ``diffusion_t`` secret-chosen bits (same length);
    BLIP flips every bit with probability ``blip_f``, from the operating
    system's CSPRNG.
    """

    salt: SaltConfig | None = None
    balanced: bool = False
    blip_f: float = 0.0
    #: diffusion's ``t`` (input bits XORed into each output bit); 0 when off
    diffusion_t: int = 0

    @property
    def enabled(self) -> bool:
        return self.salt is not None or self.balanced or self.blip_f > 0 or self.diffusion_t > 0

    def describe(self) -> str:
        parts = []
        if self.salt is not None:
            what = "year of" if self.salt.part == "year" else "value of"
            parts.append(f"salted by the {what} {self.salt.feature}")
        if self.balanced:
            parts.append("balanced (complement appended, keyed permutation)")
        if self.diffusion_t:
            t = self.diffusion_t
            parts.append(f"diffusion t={t} (each bit the XOR of {t} keyed bits)")
        if self.blip_f:
            parts.append(f"BLIP f={self.blip_f:g} (not reproducible)")
        return "; ".join(parts) if parts else "none"


@dataclass(frozen=True)
class LinkageSchema:
    """A validated linkage schema plus the raw JSON it came from (for fingerprinting)."""

    version: int
    clk: ClkConfig
    features: tuple[Feature, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)
    fingerprint: str = ""
    warnings: tuple[str, ...] = ()
    #: hardening from ``x-htlink.hardening`` (none for a pure clkhash schema)
    hardening: Hardening = field(default_factory=Hardening)
    #: loud warnings about schemas that are easy to attack (e.g. one low-entropy feature)
    security_warnings: tuple[str, ...] = ()

    @property
    def encoding_length(self) -> int:
        """Bits per encoding as written: ``l``, doubled by ``balanced`` (diffusion keeps it)."""
        return self.clk.l * (2 if self.hardening.balanced else 1)

    @property
    def hashed_features(self) -> tuple[Feature, ...]:
        return tuple(f for f in self.features if not f.ignored)

    @property
    def has_extension(self) -> bool:
        """True when the schema carries htlink normalization rules."""
        return EXTENSION_KEY in self.raw

    def feature(self, identifier: str) -> Feature:
        for f in self.features:
            if f.identifier == identifier:
                return f
        raise KeyError(identifier)
