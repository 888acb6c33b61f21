"""Linkage configurations under attack: a schema, plus hardening simulated outside the encoder.

A configuration is written as a *spec*: a base schema followed by ``+step``s::

    person-v1                               configs/schemas/person-v1.json as shipped
    path/to/schema.json                     any linkage schema (hardened ones included:
                                            hardening done by the encoder needs no step)
    person-v1+balanced+blip:0.02            steps applied in order

**Native hardening.** The encoder's own options (``x-htlink.hardening`` in the
schema: salt, balanced, blip; see :mod:`htlink.encode.hardening`) need no step:
pass the schema file (``configs/schemas/person-v1-salted.json``) or a
``native:`` built-in name.  Such configurations are named ``native:<file stem>``
and are not post-hoc; their single-field encodings are the encoder's own
field-level encodings (salted, balanced and flipped like the CLK).

Steps (all marked *post-hoc* or *simulated* in every table, because they are
applied outside the encoder; they remain for comparison with the native options):

* ``blip:P`` -- BLIP, randomized response (Schnell & Borgs 2016): every bit of
  every encoding is flipped independently with probability ``P``, with fresh
  randomness per encoding (two encodings of one value differ).
* ``fold`` -- XOR folding (Schnell et al. 2016): the two halves of the filter
  are XORed, halving its length.
* ``balanced`` -- balanced Bloom filters (Berger & Schnell 2016): the filter is
  concatenated with its complement and the bits permuted by a permutation
  derived from the secret, so every encoding has exactly ``l`` ones.
* ``salt:dob-year`` -- simulated per-record salting: records are encoded with a
  secret derived from the linkage secret and the year of birth (HMAC-SHA256), so
  people born in different years share no bit positions.  clkhash's salting
  salts each token instead; the effect on attacks and linkage is the same
  (records across salt values are unrelated), the bits are not.

Each step applies to the CLK and to every single-field encoding alike.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from htlink.attacks.bits import pack, unpack
from htlink.encode.bloom import ClkEncoder
from htlink.errors import HtlinkError
from htlink.schema import LinkageSchema, load_schema_file, parse_schema

DEFAULT_SCHEMA = Path("configs/schemas/person-v1.json")

#: Every configuration the bench knows by name (name -> spec).
BUILTIN_CONFIGS: dict[str, str] = {
    "person-v1": "person-v1",
    # the encoder's own hardening options (x-htlink.hardening, clkConfig.xor_folds)
    "native:person-v1-folded": "configs/schemas/person-v1-folded.json",
    "native:person-v1-salted": "configs/schemas/person-v1-salted.json",
    "native:person-v1-salted-dob": "configs/schemas/person-v1-salted-dob.json",
    "native:person-v1-balanced-blip": "configs/schemas/person-v1-balanced-blip.json",
    "native:person-v1-salted-blip": "configs/schemas/person-v1-salted-blip.json",
    "native:person-v1-diffused": "configs/schemas/person-v1-diffused.json",
    "native:person-v1-salted-diffused": "configs/schemas/person-v1-salted-diffused.json",
    # simulated outside the encoder (kept for comparison; marked post-hoc in tables)
    "posthoc:blip-0.02": "person-v1+blip:0.02",
    "posthoc:blip-0.05": "person-v1+blip:0.05",
    "posthoc:fold": "person-v1+fold",
    "posthoc:balanced": "person-v1+balanced",
    "posthoc:balanced+blip-0.02": "person-v1+balanced+blip:0.02",
    "sim:salt-dob-year": "person-v1+salt:dob-year",
    "sim:salt-dob-year+balanced": "person-v1+salt:dob-year+balanced",
}

#: The configurations the bench runs unless told otherwise: no hardening, and each
#: native option and combination (the table in docs/threat-model.md).
DEFAULT_CONFIGS: tuple[str, ...] = tuple(
    n for n in BUILTIN_CONFIGS if not n.startswith(("posthoc:", "sim:"))
)


class ConfigError(HtlinkError):
    """A configuration spec that cannot be understood."""


@dataclass(frozen=True)
class Step:
    """One hardening step applied outside the encoder."""

    kind: str  # "blip" | "fold" | "balanced" | "salt"
    value: float = 0.0
    feature: str = ""

    @property
    def label(self) -> str:
        if self.kind == "blip":
            return f"blip:{self.value:g}"
        if self.kind == "salt":
            return f"salt:{self.feature}-year"
        return self.kind


@dataclass(frozen=True)
class LinkageConfig:
    """A schema and the post-hoc steps applied to its encodings."""

    name: str
    schema: LinkageSchema
    steps: tuple[Step, ...] = ()
    spec: str = ""

    @property
    def posthoc(self) -> bool:
        """True when some hardening is simulated outside the encoder."""
        return bool(self.steps)

    @property
    def salt(self) -> Step | None:
        return next((s for s in self.steps if s.kind == "salt"), None)

    @property
    def bit_steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.kind != "salt")

    def encoder(self, secret: bytes) -> ConfigEncoder:
        return ConfigEncoder(self, secret)


def _parse_step(text: str) -> Step:
    kind, _, arg = text.partition(":")
    if kind == "blip":
        try:
            p = float(arg)
        except ValueError:
            raise ConfigError(
                f"blip needs a flip probability, e.g. blip:0.02 (got {text!r})."
            ) from None
        if not 0.0 < p < 0.5:
            raise ConfigError(f"The blip flip probability must be in (0, 0.5); got {arg}.")
        return Step("blip", value=p)
    if kind in ("fold", "balanced") and not arg:
        return Step(kind)
    if kind == "salt" and arg.endswith("-year") and arg[: -len("-year")]:
        return Step("salt", feature=arg[: -len("-year")])
    raise ConfigError(
        f"Unknown configuration step {text!r}.",
        "Use blip:P, fold, balanced or salt:FEATURE-year (a date feature).",
    )


def parse_config(spec: str, repo_root: Path | None = None) -> LinkageConfig:
    """A configuration from a built-in name or a spec (``base[+step...]``)."""
    name = spec
    spec = BUILTIN_CONFIGS.get(spec, spec)
    base, *steps = spec.split("+")
    roots = [repo_root] if repo_root else [Path.cwd(), Path(__file__).resolve().parents[3]]
    if base == "person-v1":
        path = next(
            (r / DEFAULT_SCHEMA for r in roots if (r / DEFAULT_SCHEMA).is_file()),
            roots[0] / DEFAULT_SCHEMA,
        )
    else:
        path = Path(base)
        if not path.is_absolute() and not path.is_file():
            path = next((r / base for r in roots if (r / base).is_file()), path)
    if not path.is_file():
        raise ConfigError(
            f"No schema file for configuration {name!r} ({path}).",
            "Give a built-in configuration name or a path to a linkage schema JSON.",
        )
    schema = load_schema_file(path)
    parsed = tuple(_parse_step(s) for s in steps)
    if name == spec and base != "person-v1":
        # a schema file given directly: name it by its file (encoded by the encoder itself)
        name = f"native:{path.stem}" + "".join(f"+{s}" for s in steps)
    salt = [s for s in parsed if s.kind == "salt"]
    if len(salt) > 1 or (salt and parsed[0].kind != "salt"):
        raise ConfigError("salt: may be given once, as the first step.")
    if salt and schema.hardening.salt is not None:
        raise ConfigError(
            "The schema salts records itself (x-htlink.hardening.salt); drop the salt: step."
        )
    for s in salt:
        try:
            schema.feature(s.feature)
        except KeyError:
            raise ConfigError(f"salt:{s.feature}-year names no feature of the schema.") from None
    return LinkageConfig(name=name, schema=schema, steps=parsed, spec=spec)


def builtin_configs(repo_root: Path | None = None) -> list[LinkageConfig]:
    return [parse_config(name, repo_root) for name in BUILTIN_CONFIGS]


def single_feature_schema(schema: LinkageSchema, feature: str) -> LinkageSchema:
    """The schema with every feature but ``feature`` ignored: the same keys, one field alone.

    Ignored features keep their key slots, so the field's bits are exactly the
    bits it contributes to the CLK.  Normalization rules are dropped (values
    given to the encoder are normalized already).
    """
    raw: dict[str, Any] = json.loads(json.dumps(schema.raw))
    raw.pop("x-htlink", None)
    raw["features"] = [
        f if f["identifier"] == feature else {"identifier": f["identifier"], "ignored": True}
        for f in raw["features"]
    ]
    return parse_schema(raw)


def _derived_secret(secret: bytes, label: str) -> bytes:
    return hmac.new(secret, label.encode("utf-8"), hashlib.sha256).digest()


@dataclass
class Encoded:
    """Encodings of a set of records under one configuration (packed, ``length`` bits)."""

    clks: np.ndarray
    length: int
    fields: dict[str, np.ndarray] = field(default_factory=dict)

    def bits(self) -> np.ndarray:
        return unpack(self.clks, self.length)

    def field_bits(self, feature: str) -> np.ndarray:
        return unpack(self.fields[feature], self.length)


class ConfigEncoder:
    """Encodes normalized columns under a configuration (schema encoder + steps)."""

    def __init__(self, config: LinkageConfig, secret: bytes) -> None:
        self.config = config
        self.secret = secret
        self._encoders: dict[tuple[str, str], ClkEncoder] = {}
        self._balance_perm: dict[int, np.ndarray] = {}

    def _encoder(self, salt_value: str, feature: str) -> ClkEncoder:
        key = (salt_value, feature)
        enc = self._encoders.get(key)
        if enc is None:
            schema = self.config.schema
            if feature:
                schema = single_feature_schema(schema, feature)
            secret = (
                self.secret
                if self.config.salt is None
                else _derived_secret(self.secret, f"htlink-sim-salt:{salt_value}")
            )
            enc = self._encoders[key] = ClkEncoder(schema, secret)
        return enc

    def _raw(self, columns: Mapping[str, Sequence[str | None]], feature: str) -> np.ndarray:
        """Packed encodings before post-hoc steps (CLK if ``feature`` is empty), sim-salted
        if configured.  With native hardening in the schema, a single field is the
        encoder's own field-level encoding (same salt, balancing and BLIP as the CLK)."""
        salt = self.config.salt
        n = len(next(iter(columns.values())))
        if feature and self.config.schema.hardening.enabled:
            enc = self._encoders.get(("native-fields", ""))
            if enc is None:
                enc = ClkEncoder(self.config.schema, self.secret, field_level=True)
                self._encoders[("native-fields", "")] = enc
            fields = enc.encode(columns).fields
            assert fields is not None
            return fields[feature]
        if salt is None:
            return self._encoder("", feature).encode(columns).clks
        years = pd.Series([v[:4] if v else "" for v in columns[salt.feature]], dtype=object)
        codes, uniques = pd.factorize(years)
        out: np.ndarray | None = None
        for g, year in enumerate(uniques):
            rows = np.flatnonzero(codes == g)
            sub = {k: [v[i] for i in rows] for k, v in ((k, list(c)) for k, c in columns.items())}
            part = self._encoder(str(year), feature).encode(sub).clks
            if out is None:
                out = np.zeros((n, part.shape[1]), dtype=np.uint8)
            out[rows] = part
        assert out is not None
        return out

    def _harden(self, packed: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        length = self.config.schema.encoding_length
        bits = unpack(packed, length)
        for step in self.config.bit_steps:
            if step.kind == "blip":
                flips = rng.random(bits.shape) < step.value
                bits = bits ^ flips.astype(np.uint8)
            elif step.kind == "fold":
                half = bits.shape[1] // 2
                bits = bits[:, :half] ^ bits[:, half : 2 * half]
            elif step.kind == "balanced":
                width = 2 * bits.shape[1]
                perm = self._balance_perm.get(width)
                if perm is None:
                    seed = int.from_bytes(_derived_secret(self.secret, f"balanced:{width}"), "big")
                    perm = self._balance_perm[width] = np.random.default_rng(seed).permutation(
                        width
                    )
                bits = np.concatenate([bits, 1 - bits], axis=1)[:, perm]
        return pack(bits), bits.shape[1]

    def encode(
        self,
        columns: Mapping[str, Sequence[str | None]],
        rng: np.random.Generator,
        fields: Sequence[str] = (),
    ) -> Encoded:
        """The configuration's CLKs of the records, and single-field encodings of ``fields``."""
        clks, length = self._harden(self._raw(columns, ""), rng)
        out = Encoded(clks=clks, length=length)
        for feature in fields:
            out.fields[feature] = self._harden(self._raw(columns, feature), rng)[0]
        return out
