"""Read and validate clkhash v3 linkage schemas (plus htlink's ``x-htlink`` extension).

Validation collects *every* problem before it refuses, and each message names
the feature and the key (``features[3] "dob" .hashing.strategy: ...``) so the
person fixing the file does not have to guess.  Where clkhash 0.18.3 silently
ignores a key that looks meaningful (``xorFolds``, ``fractionalPrecision``),
htlink refuses it: honouring it would make CLKs that differ from clkhash's,
ignoring it would surprise whoever wrote it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

from htlink.errors import SchemaError
from htlink.schema.fingerprint import schema_fingerprint
from htlink.schema.model import (
    EXTENSION_KEY,
    ClkConfig,
    Comparison,
    DateFormat,
    EnumFormat,
    Feature,
    FeatureFormat,
    Hardening,
    Hashing,
    IntegerFormat,
    KdfConfig,
    LinkageSchema,
    MissingValue,
    SaltConfig,
    Strategy,
    StringFormat,
)

SUPPORTED_VERSION = 3
_HASH_DIGEST_BYTES = {"SHA256": 32, "SHA512": 64}
_STRING_ENCODINGS = ("ascii", "utf-8", "utf-16", "utf-32")
_FORMAT_KEYS = {
    "string": {"type", "encoding", "case", "minLength", "maxLength", "description"},
    "string-pattern": {"type", "encoding", "pattern", "description"},
    "integer": {"type", "minimum", "maximum", "description"},
    "date": {"type", "format", "description"},
    "enum": {"type", "values", "description"},
}
_HASHING_KEYS = {"comparison", "strategy", "hash", "missingValue"}
_IGNORED_FEATURE_KEYS = {"identifier", "ignored", "description"}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if _is_number(value) else "null"
    )


class _Problems:
    """Collects validation problems and (softer) warnings, each with a location."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def warn(self, where: str, message: str) -> None:
        self.warnings.append(f"{where}: {message}")


def load_schema_file(path: str | Path) -> LinkageSchema:
    """Read a schema file (JSON, UTF-8) and validate it."""
    p = Path(path)
    if not p.exists():
        raise SchemaError([f"file {p} does not exist"], source=str(p))
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise SchemaError(["the file is not UTF-8 text"], source=str(p)) from None
    except OSError as exc:
        raise SchemaError([f"cannot read the file ({exc.strerror})"], source=str(p)) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(
            [f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"],
            source=str(p),
        ) from None
    return parse_schema(raw, source=str(p))


def parse_schema(raw: Any, source: str | None = None) -> LinkageSchema:
    """Validate a schema given as parsed JSON and return the typed schema."""
    problems = _Problems()
    if not isinstance(raw, dict):
        raise SchemaError([f"the top level must be a JSON object, not {_kind(raw)}"], source)
    version = raw.get("version")
    if version is None:
        raise SchemaError(['"version" is missing; htlink reads linkage schema version 3'], source)
    if version in (1, 2):
        raise SchemaError(
            [
                f'"version" is {version}: htlink reads version 3 schemas only. Convert it: '
                "put the n-gram settings under hashing.comparison "
                '({"type": "ngram", "n": 2}), rename strategy.k to bitsPerToken and '
                'strategy.numBits to bitsPerFeature, and set "version": 3'
            ],
            source,
        )
    if version != SUPPORTED_VERSION:
        raise SchemaError(
            [f'"version" is {json.dumps(version)}; htlink reads linkage schema version 3'],
            source,
        )

    clk = _parse_clk_config(raw.get("clkConfig"), problems)
    features = _parse_features(raw.get("features"), problems)

    for key in raw:
        if key not in {"version", "clkConfig", "features", EXTENSION_KEY, "$schema", "id"}:
            problems.warn(key, "unknown top-level key; clkhash and htlink ignore it")

    if clk is not None and features:
        _check_cross_constraints(clk, features, problems)
    hardening = Hardening()
    if EXTENSION_KEY in raw and features:
        features = _parse_extension(raw[EXTENSION_KEY], features, problems)
        ext = raw[EXTENSION_KEY]
        if isinstance(ext, dict) and "hardening" in ext:
            hardening = _parse_hardening(ext["hardening"], features, problems)
            length = None if clk is None else clk.l * (2 if hardening.balanced else 1)
            if length is not None and hardening.diffusion_t > length:
                problems.add(
                    f"{EXTENSION_KEY}.hardening.diffusion.t",
                    f"is {hardening.diffusion_t}, more than the {length} bits of the encoding: "
                    "each output bit needs t distinct input bits",
                )

    if problems.errors:
        raise SchemaError(problems.errors, source)
    assert clk is not None
    return LinkageSchema(
        version=SUPPORTED_VERSION,
        clk=clk,
        features=tuple(features),
        raw=raw,
        fingerprint=schema_fingerprint(raw),
        warnings=tuple(problems.warnings),
        hardening=hardening,
        security_warnings=tuple(low_entropy_warnings(features)),
    )


#: normalization kinds whose values have few distinct values (a sex, a ZIP code)
_LOW_ENTROPY_KINDS = {"sex", "us_zip"}


def _low_entropy(feature: Feature) -> bool:
    fmt = feature.format
    if isinstance(fmt, EnumFormat):
        return True
    if (
        isinstance(fmt, IntegerFormat)
        and fmt.minimum is not None
        and fmt.maximum is not None
        and fmt.maximum - fmt.minimum < 1000
    ):
        return True
    rule = feature.normalize
    return rule is not None and getattr(rule, "kind", None) in _LOW_ENTROPY_KINDS


def low_entropy_warnings(features: list[Feature] | tuple[Feature, ...]) -> list[str]:
    """Loud warnings for schemas whose encodings are each one attackable value.

    A schema that hashes a single feature alone (only a surname, only a birth
    year) makes every encoding a single-field Bloom filter: frequency alignment
    and dictionary-style attacks re-identify common values directly (see
    docs/attacks.md: 13.7% of surnames re-identified by frequency alone).  So
    does a schema made only of low-entropy features (sex, ZIP code, enums,
    small integer ranges), whose combinations repeat across many people.
    """
    hashed = [f for f in features if not f.ignored]
    if len(hashed) == 1:
        return [
            f'only one feature ("{hashed[0].identifier}") is hashed: every encoding is a '
            "single-field Bloom filter, which frequency and pattern-mining attacks re-identify "
            "directly (common values first). Encode it together with other features, or "
            "see docs/threat-model.md (Hardening options)."
        ]
    if hashed and all(_low_entropy(f) for f in hashed):
        names = ", ".join(f.identifier for f in hashed)
        return [
            f"every hashed feature ({names}) has few distinct values: equal encodings are "
            "shared by many people and frequency attacks align them with population counts. "
            "Add a high-entropy feature (a name, a full date of birth)."
        ]
    return []


def _parse_hardening(spec: Any, features: list[Feature], problems: _Problems) -> Hardening:
    """``x-htlink.hardening``: salt, balanced, diffusion, blip (all optional, all off)."""
    where = f"{EXTENSION_KEY}.hardening"
    if not isinstance(spec, dict):
        problems.add(where, f"must be an object, not {_kind(spec)}")
        return Hardening()
    allowed = {"salt", "balanced", "diffusion", "blip", "description"}
    if not _check_allowed(spec, allowed, where, problems):
        return Hardening()
    salt: SaltConfig | None = None
    if "salt" in spec:
        salt = _parse_salt(spec["salt"], f"{where}.salt", features, problems)
    balanced = spec.get("balanced", False)
    if not isinstance(balanced, bool):
        problems.add(f"{where}.balanced", f"must be true or false, not {_kind(balanced)}")
        balanced = False
    blip_f = 0.0
    if "blip" in spec:
        blip = spec["blip"]
        bwhere = f"{where}.blip"
        if not isinstance(blip, dict):
            problems.add(bwhere, f'must be an object such as {{"f": 0.02}}, not {_kind(blip)}')
        elif _check_allowed(blip, {"f", "description"}, bwhere, problems):
            f = blip.get("f")
            if not _is_number(f) or not 0 < f < 0.5:
                problems.add(
                    f"{bwhere}.f",
                    "must be a flip probability strictly between 0 and 0.5 "
                    f"(leave blip out to turn it off); got {json.dumps(f)}",
                )
            else:
                blip_f = float(f)
                if blip_f > 0.1:
                    problems.warn(
                        f"{bwhere}.f",
                        f"flipping {blip_f:.0%} of the bits destroys most linkage quality "
                        "(the small attack bench loses almost every link at 0.05)",
                    )
    diffusion_t = 0
    if "diffusion" in spec:
        diffusion_t = _parse_diffusion(spec["diffusion"], f"{where}.diffusion", problems)
    return Hardening(salt=salt, balanced=balanced, blip_f=blip_f, diffusion_t=diffusion_t)


#: the range of diffusion's t (input bits XORed into each output bit)
DIFFUSION_T_MIN, DIFFUSION_T_MAX = 2, 64
#: above this t, similarities of true matches fall off quickly
DIFFUSION_T_WARN = 16


def _parse_diffusion(spec: Any, where: str, problems: _Problems) -> int:
    """``hardening.diffusion``: ``{"t": T}``; the t it sets (0 when refused)."""
    if not isinstance(spec, dict):
        problems.add(where, f'must be an object such as {{"t": 4}}, not {_kind(spec)}')
        return 0
    if not _check_allowed(spec, {"t", "description"}, where, problems):
        return 0
    t = spec.get("t")
    if not _is_int(t) or not DIFFUSION_T_MIN <= t <= DIFFUSION_T_MAX:
        problems.add(
            f"{where}.t",
            f"must be an integer from {DIFFUSION_T_MIN} to {DIFFUSION_T_MAX} (the number of "
            "bits XORed into each output bit; leave diffusion out to turn it off); "
            f"got {json.dumps(t)}",
        )
        return 0
    if t > DIFFUSION_T_WARN:
        problems.warn(
            f"{where}.t",
            f"every output bit is the XOR of {t} bits: one differing input bit changes about "
            f"{t} output bits, so similarities of true matches degrade quickly above "
            f"t = {DIFFUSION_T_WARN}",
        )
    return t


def _parse_salt(
    spec: Any, where: str, features: list[Feature], problems: _Problems
) -> SaltConfig | None:
    if not isinstance(spec, dict):
        example = '{"feature": "dob", "part": "year"}'
        problems.add(where, f"must be an object such as {example}, not {_kind(spec)}")
        return None
    if not _check_allowed(spec, {"feature", "part", "description"}, where, problems):
        return None
    ident = spec.get("feature")
    by_id = {f.identifier: f for f in features}
    if not isinstance(ident, str) or ident not in by_id:
        problems.add(
            f"{where}.feature",
            "must name a hashed feature of this schema"
            + (f" (no feature is called {json.dumps(ident)})" if isinstance(ident, str) else ""),
        )
        return None
    feature = by_id[ident]
    if feature.ignored:
        problems.add(
            f"{where}.feature",
            f'"{ident}" is ignored: the salt must come from a hashed (and normalized) feature',
        )
        return None
    part = spec.get("part", "value")
    if part not in ("year", "value"):
        problems.add(f"{where}.part", f'must be "year" or "value"; got {json.dumps(part)}')
        return None
    if part == "year" and not isinstance(feature.format, DateFormat):
        problems.add(f"{where}.part", f'"year" needs a date feature; "{ident}" is not a date')
        return None
    return SaltConfig(feature=ident, part=part)


def _b64(value: Any, where: str, problems: _Problems) -> bytes | None:
    if not isinstance(value, str):
        problems.add(where, f"must be a base64 string, not {_kind(value)}")
        return None
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        problems.add(where, "is not valid base64")
        return None


def _parse_clk_config(cfg: Any, problems: _Problems) -> ClkConfig | None:
    if cfg is None:
        problems.add("clkConfig", 'is missing (it needs at least "l" and "kdf")')
        return None
    if not isinstance(cfg, dict):
        problems.add("clkConfig", f"must be an object, not {_kind(cfg)}")
        return None
    ok = True
    length = cfg.get("l")
    if length is None:
        problems.add("clkConfig.l", "is missing (the CLK length in bits, e.g. 1024)")
        ok = False
    elif not _is_int(length) or length < 1:
        problems.add("clkConfig.l", f"must be a positive integer, got {json.dumps(length)}")
        ok = False

    folds = cfg.get("xor_folds", 0)
    if not _is_int(folds) or folds < 0:
        problems.add("clkConfig.xor_folds", f"must be an integer >= 0, got {json.dumps(folds)}")
        ok = False
    if "xorFolds" in cfg:
        camel = cfg["xorFolds"]
        if camel not in (0, None) or isinstance(camel, bool):
            problems.add(
                "clkConfig.xorFolds",
                "clkhash 0.18.3 ignores this key (it reads xor_folds), so honouring it "
                "would make CLKs that differ from clkhash's; write "
                f'"xor_folds": {json.dumps(camel)} instead',
            )
            ok = False

    kdf = _parse_kdf(cfg.get("kdf"), problems)
    for key in cfg:
        if key not in {"l", "kdf", "xor_folds", "xorFolds"}:
            problems.warn(f"clkConfig.{key}", "unknown key; clkhash and htlink ignore it")
    if not ok or kdf is None:
        return None
    return ClkConfig(l=length, kdf=kdf, xor_folds=folds)


def _parse_kdf(kdf: Any, problems: _Problems) -> KdfConfig | None:
    where = "clkConfig.kdf"
    if kdf is None:
        problems.add(where, 'is missing; use {"type": "HKDF", "hash": "SHA256"}')
        return None
    if not isinstance(kdf, dict):
        problems.add(where, f"must be an object, not {_kind(kdf)}")
        return None
    ok = True
    if kdf.get("type") != "HKDF":
        problems.add(f"{where}.type", f'must be "HKDF", got {json.dumps(kdf.get("type"))}')
        ok = False
    hash_name = kdf.get("hash", "SHA256")
    if hash_name not in _HASH_DIGEST_BYTES:
        problems.add(f"{where}.hash", f'must be "SHA256" or "SHA512", got {json.dumps(hash_name)}')
        ok = False
    salt = info = None
    if "salt" in kdf:
        salt = _b64(kdf["salt"], f"{where}.salt", problems)
        ok = ok and salt is not None
    if "info" in kdf:
        info = _b64(kdf["info"], f"{where}.info", problems)
        ok = ok and info is not None
    key_size = kdf.get("keySize", 64)
    if not _is_int(key_size) or key_size < 1:
        problems.add(f"{where}.keySize", f"must be a positive integer, got {json.dumps(key_size)}")
        ok = False
    for key in kdf:
        if key not in {"type", "hash", "salt", "info", "keySize"}:
            problems.add(f"{where}.{key}", "unknown key (allowed: type, hash, salt, info, keySize)")
            ok = False
    if not ok:
        return None
    return KdfConfig(hash=hash_name, salt=salt, info=info, key_size=key_size)


def _parse_features(features: Any, problems: _Problems) -> list[Feature]:
    if features is None:
        problems.add("features", "is missing (a list of feature definitions)")
        return []
    if not isinstance(features, list) or not features:
        problems.add("features", "must be a non-empty list of feature definitions")
        return []
    parsed: list[Feature] = []
    seen: set[str] = set()
    for index, spec in enumerate(features):
        where = f"features[{index}]"
        if not isinstance(spec, dict):
            problems.add(where, f"must be an object, not {_kind(spec)}")
            continue
        ident = spec.get("identifier")
        if not isinstance(ident, str) or not ident.strip():
            problems.add(f"{where}.identifier", "must be a non-empty string")
            continue
        where = f'features[{index}] "{ident}"'
        if ident in seen:
            problems.add(
                where, "the identifier is used by an earlier feature; identifiers must be unique"
            )
        seen.add(ident)
        feature = _parse_feature(spec, ident, index, where, problems)
        if feature is not None:
            parsed.append(feature)
    return parsed


def _parse_feature(
    spec: dict[str, Any], ident: str, index: int, where: str, problems: _Problems
) -> Feature | None:
    description = spec.get("description")
    if description is not None and not isinstance(description, str):
        problems.add(f"{where}.description", "must be a string")
    ignored = spec.get("ignored", False)
    if not isinstance(ignored, bool):
        problems.add(f"{where}.ignored", f"must be true or false, got {json.dumps(ignored)}")
        return None
    if ignored:
        extra = set(spec) - _IGNORED_FEATURE_KEYS
        if extra - {"format", "hashing"}:
            problems.add(
                where,
                f"unknown keys for an ignored feature: {', '.join(sorted(extra))}",
            )
            return None
        if extra:
            problems.warn(where, "the feature is ignored, so its format and hashing are unused")
        return Feature(identifier=ident, index=index, ignored=True, description=description)

    missing = [k for k in ("format", "hashing") if k not in spec]
    if missing:
        problems.add(
            where,
            f'needs {" and ".join(missing)} (or "ignored": true to skip the column)',
        )
        return None
    fmt = _parse_format(spec["format"], f"{where}.format", problems)
    hashing = _parse_hashing(spec["hashing"], f"{where}.hashing", problems)
    if fmt is None or hashing is None:
        return None
    if hashing.comparison.type == "numeric" and isinstance(fmt, EnumFormat):
        problems.add(f"{where}.hashing.comparison", "a numeric comparison needs numeric values")
    return Feature(
        identifier=ident,
        index=index,
        description=description,
        format=fmt,
        hashing=hashing,
    )


def _check_allowed(obj: dict[str, Any], allowed: set[str], where: str, problems: _Problems) -> bool:
    extra = sorted(set(obj) - allowed)
    if extra:
        problems.add(
            where,
            f"unknown key{'s' if len(extra) > 1 else ''} {', '.join(extra)} "
            f"(allowed: {', '.join(sorted(allowed))})",
        )
        return False
    return True


def _parse_format(fmt: Any, where: str, problems: _Problems) -> FeatureFormat | None:
    if not isinstance(fmt, dict):
        problems.add(where, f"must be an object, not {_kind(fmt)}")
        return None
    ftype = fmt.get("type")
    if ftype not in ("string", "integer", "date", "enum"):
        problems.add(
            f"{where}.type",
            f'must be one of "string", "integer", "date", "enum"; got {json.dumps(ftype)}',
        )
        return None
    if ftype == "string":
        allowed_key = "string-pattern" if "pattern" in fmt else "string"
        if not _check_allowed(fmt, _FORMAT_KEYS[allowed_key], where, problems):
            if "pattern" in fmt:
                problems.add(
                    where, "a pattern cannot be combined with case, minLength or maxLength"
                )
            return None
        encoding = fmt.get("encoding", "utf-8")
        if encoding not in _STRING_ENCODINGS:
            problems.add(
                f"{where}.encoding",
                f"must be one of {', '.join(_STRING_ENCODINGS)}; got {json.dumps(encoding)}",
            )
            return None
        case = fmt.get("case", "mixed")
        if case not in ("upper", "lower", "mixed"):
            problems.add(
                f"{where}.case", f'must be "upper", "lower" or "mixed"; got {json.dumps(case)}'
            )
            return None
        min_len, max_len = fmt.get("minLength"), fmt.get("maxLength")
        if min_len is not None and (not _is_int(min_len) or min_len < 0):
            problems.add(f"{where}.minLength", "must be an integer >= 0")
            return None
        if max_len is not None and (not _is_int(max_len) or max_len < 1):
            problems.add(f"{where}.maxLength", "must be an integer >= 1")
            return None
        pattern = fmt.get("pattern")
        if pattern is not None:
            if not isinstance(pattern, str):
                problems.add(f"{where}.pattern", "must be a string (a regular expression)")
                return None
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.add(f"{where}.pattern", f"is not a valid regular expression ({exc.msg})")
                return None
        return StringFormat(
            encoding=encoding, case=case, min_length=min_len, max_length=max_len, pattern=pattern
        )
    if not _check_allowed(fmt, _FORMAT_KEYS[ftype], where, problems):
        return None
    if ftype == "integer":
        lo, hi = fmt.get("minimum"), fmt.get("maximum")
        for key, val in (("minimum", lo), ("maximum", hi)):
            if val is not None and not _is_int(val):
                problems.add(f"{where}.{key}", f"must be an integer, got {json.dumps(val)}")
                return None
        return IntegerFormat(minimum=lo, maximum=hi)
    if ftype == "date":
        dfmt = fmt.get("format")
        if not isinstance(dfmt, str) or not dfmt:
            problems.add(f"{where}.format", 'is missing (a strptime format such as "%Y-%m-%d")')
            return None
        if not _date_format_round_trips(dfmt):
            problems.add(
                f"{where}.format",
                f"{json.dumps(dfmt)} is not a strptime date format that identifies a day "
                '(it needs year, month and day, e.g. "%Y-%m-%d")',
            )
            return None
        return DateFormat(format=dfmt)
    values = fmt.get("values")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        problems.add(f"{where}.values", "must be a list of strings")
        return None
    return EnumFormat(values=tuple(values))


def _date_format_round_trips(fmt: str) -> bool:
    from datetime import datetime

    probe = date(1987, 11, 23)
    try:
        text = probe.strftime(fmt)
        return datetime.strptime(text, fmt).date() == probe
    except ValueError:
        return False


def _parse_hashing(hashing: Any, where: str, problems: _Problems) -> Hashing | None:
    if not isinstance(hashing, dict):
        problems.add(where, f"must be an object, not {_kind(hashing)}")
        return None
    if not _check_allowed(hashing, _HASHING_KEYS, where, problems):
        return None
    for key in ("comparison", "strategy"):
        if key not in hashing:
            problems.add(f"{where}.{key}", "is missing")
    if "comparison" not in hashing or "strategy" not in hashing:
        return None
    comparison = _parse_comparison(hashing["comparison"], f"{where}.comparison", problems)
    strategy = _parse_strategy(hashing["strategy"], f"{where}.strategy", problems)
    hash_spec = hashing.get("hash", {"type": "blakeHash"})
    hash_type, prevent = "blakeHash", False
    if not isinstance(hash_spec, dict):
        problems.add(f"{where}.hash", f"must be an object, not {_kind(hash_spec)}")
        return None
    hash_type = hash_spec.get("type")
    if hash_type not in ("blakeHash", "doubleHash"):
        problems.add(
            f"{where}.hash.type",
            f'must be "blakeHash" or "doubleHash"; got {json.dumps(hash_type)}',
        )
        return None
    if "prevent_singularity" in hash_spec:
        if hash_type != "doubleHash":
            problems.add(f"{where}.hash.prevent_singularity", "is only allowed with doubleHash")
            return None
        prevent = hash_spec["prevent_singularity"]
        if not isinstance(prevent, bool):
            problems.add(f"{where}.hash.prevent_singularity", "must be true or false")
            return None
    for key in hash_spec:
        if key not in ("type", "prevent_singularity"):
            problems.warn(f"{where}.hash.{key}", "unknown key; clkhash and htlink ignore it")
    missing = None
    if "missingValue" in hashing:
        mv = hashing["missingValue"]
        if not isinstance(mv, dict) or not isinstance(mv.get("sentinel"), str):
            problems.add(f"{where}.missingValue", 'must be an object with a string "sentinel"')
            return None
        replace = mv.get("replaceWith")
        if replace is not None and not isinstance(replace, str):
            problems.add(f"{where}.missingValue.replaceWith", "must be a string")
            return None
        missing = MissingValue(sentinel=mv["sentinel"], replace_with=replace)
    if comparison is None or strategy is None:
        return None
    return Hashing(
        comparison=comparison,
        strategy=strategy,
        hash_type=hash_type,
        prevent_singularity=prevent,
        missing_value=missing,
    )


def _parse_comparison(comp: Any, where: str, problems: _Problems) -> Comparison | None:
    if not isinstance(comp, dict):
        problems.add(where, f"must be an object, not {_kind(comp)}")
        return None
    ctype = comp.get("type")
    if ctype == "ngram":
        n = comp.get("n")
        if not _is_int(n) or n < 1:
            problems.add(f"{where}.n", f"must be an integer >= 1, got {json.dumps(n)}")
            return None
        positional = comp.get("positional", False)
        if not isinstance(positional, bool):
            problems.add(f"{where}.positional", "must be true or false")
            return None
        _warn_unknown(comp, {"type", "n", "positional"}, where, problems)
        return Comparison(type="ngram", n=n, positional=positional)
    if ctype == "exact":
        _warn_unknown(comp, {"type"}, where, problems)
        return Comparison(type="exact")
    if ctype == "numeric":
        if "fractionalPrecision" in comp:
            problems.add(
                f"{where}.fractionalPrecision",
                "clkhash 0.18.3 ignores this spelling (it reads fractional_precision); "
                "write fractional_precision",
            )
            return None
        dist, res = comp.get("thresholdDistance"), comp.get("resolution")
        prec = comp.get("fractional_precision", 0)
        ok = True
        if not _is_number(dist) or dist <= 0:
            problems.add(
                f"{where}.thresholdDistance", f"must be a number > 0, got {json.dumps(dist)}"
            )
            ok = False
        if not _is_int(res) or res < 1:
            problems.add(f"{where}.resolution", f"must be an integer >= 1, got {json.dumps(res)}")
            ok = False
        if not _is_int(prec) or prec < 0:
            problems.add(f"{where}.fractional_precision", "must be an integer >= 0")
            ok = False
        if ok and round(dist * 10**prec) == 0:
            problems.add(
                f"{where}.thresholdDistance",
                "rounds to zero at this fractional_precision; raise fractional_precision",
            )
            ok = False
        _warn_unknown(
            comp,
            {"type", "thresholdDistance", "resolution", "fractional_precision"},
            where,
            problems,
        )
        if not ok:
            return None
        return Comparison(
            type="numeric", threshold_distance=dist, resolution=res, fractional_precision=prec
        )
    problems.add(f"{where}.type", f'must be "ngram", "exact" or "numeric"; got {json.dumps(ctype)}')
    return None


def _warn_unknown(obj: dict[str, Any], allowed: set[str], where: str, problems: _Problems) -> None:
    for key in obj:
        if key not in allowed:
            problems.warn(f"{where}.{key}", "unknown key; clkhash and htlink ignore it")


def _parse_strategy(strategy: Any, where: str, problems: _Problems) -> Strategy | None:
    if not isinstance(strategy, dict):
        problems.add(where, f"must be an object, not {_kind(strategy)}")
        return None
    keys = set(strategy)
    if keys not in ({"bitsPerToken"}, {"bitsPerFeature"}):
        problems.add(
            where,
            'must have exactly one key, "bitsPerToken" or "bitsPerFeature"; '
            f"found {', '.join(sorted(keys)) or 'none'}",
        )
        return None
    (key,) = keys
    value = strategy[key]
    if not _is_int(value) or value < 1:
        problems.add(f"{where}.{key}", f"must be an integer >= 1, got {json.dumps(value)}")
        return None
    if key == "bitsPerToken":
        return Strategy(bits_per_token=value)
    return Strategy(bits_per_feature=value)


def _check_cross_constraints(clk: ClkConfig, features: list[Feature], problems: _Problems) -> None:
    hash_l = clk.hash_length
    if clk.xor_folds and clk.hash_length % 2**clk.xor_folds:
        problems.add("clkConfig.xor_folds", "l * 2**xor_folds must be divisible by 2**xor_folds")
    blake = [f.identifier for f in features if f.hashing and f.hashing.hash_type == "blakeHash"]
    if blake and hash_l & (hash_l - 1):
        problems.add(
            "clkConfig.l",
            f"blakeHash (used by {', '.join(blake)}) needs l * 2**xor_folds to be a power of "
            f"two; it is {hash_l}",
        )
    if blake and hash_l > 2**16:
        problems.add(
            "clkConfig.l",
            "blakeHash picks bit positions from 16-bit slices, so l * 2**xor_folds must be "
            "at most 65536",
        )
    if blake and clk.kdf.key_size > 64:
        problems.add(
            "clkConfig.kdf.keySize",
            f"blakeHash keys are at most 64 bytes; keySize is {clk.kdf.key_size}",
        )
    # HKDF can produce at most 255 * digest-size bytes; two keys per feature (ignored ones too).
    limit = 255 * _HASH_DIGEST_BYTES[clk.kdf.hash]
    need = 2 * len(features) * clk.kdf.key_size
    if need > limit:
        problems.add(
            "clkConfig.kdf",
            f"{len(features)} features x 2 keys x keySize {clk.kdf.key_size} bytes = {need} "
            f"bytes, more than HKDF-{clk.kdf.hash} can derive ({limit}); lower keySize or "
            "use SHA512",
        )


def _parse_extension(ext: Any, features: list[Feature], problems: _Problems) -> list[Feature]:
    """Attach normalization rules from ``x-htlink`` to their features."""
    from htlink.normalize import parse_rule

    where = EXTENSION_KEY
    if not isinstance(ext, dict):
        problems.add(where, f"must be an object, not {_kind(ext)}")
        return features
    _check_allowed(ext, {"version", "description", "features", "hardening"}, where, problems)
    if ext.get("version", 1) != 1:
        problems.add(
            f"{where}.version", f"htlink reads extension version 1, got {ext.get('version')}"
        )
        return features
    specs = ext.get("features", {})
    if not isinstance(specs, dict):
        problems.add(f"{where}.features", "must be an object keyed by feature identifier")
        return features
    by_id = {f.identifier: f for f in features}
    rules: dict[str, Any] = {}
    for ident, spec in specs.items():
        fwhere = f"{where}.features.{ident}"
        feature = by_id.get(ident)
        if feature is None:
            problems.add(fwhere, "names no feature of this schema")
            continue
        if feature.ignored:
            problems.add(fwhere, "the feature is ignored, so it is never normalized")
            continue
        if not isinstance(spec, dict):
            problems.add(fwhere, f"must be an object, not {_kind(spec)}")
            continue
        if not _check_allowed(spec, {"normalize", "description"}, fwhere, problems):
            continue
        if "normalize" not in spec:
            continue
        date_format = feature.format.format if isinstance(feature.format, DateFormat) else None
        try:
            rules[ident] = parse_rule(ident, spec["normalize"], date_format=date_format)
        except SchemaError as exc:
            problems.errors.extend(exc.problems)
    return [
        Feature(
            identifier=f.identifier,
            index=f.index,
            ignored=f.ignored,
            description=f.description,
            format=f.format,
            hashing=f.hashing,
            normalize=rules.get(f.identifier),
        )
        for f in features
    ]
