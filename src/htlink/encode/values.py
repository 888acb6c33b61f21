"""Turn one raw value into the text that is tokenized, with clkhash's semantics.

A value equal to the feature's ``missingValue.sentinel`` is replaced by
``replaceWith`` without further checks.  Anything else is checked against the
feature's format (string pattern/length/case/encoding, integer bounds, date,
enum) and reformatted the way clkhash does (integers without sign noise, dates
as ``YYYYMMDD``).  A value that fails its format is *invalid*: the caller
encodes it as missing and counts it -- htlink never guesses a replacement.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from htlink.schema.model import DateFormat, EnumFormat, Feature, IntegerFormat, StringFormat

INVALID = None  # returned for a value that fails its format


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def missing_text(feature: Feature) -> str:
    """What a missing value is hashed as: the sentinel's replacement, or nothing."""
    assert feature.hashing is not None
    mv = feature.hashing.missing_value
    return mv.replacement if mv is not None else ""


def prepare_value(feature: Feature, raw: str) -> str | None:
    """The text to tokenize for ``raw``, or ``INVALID`` (None) if it fails the format."""
    hashing, fmt = feature.hashing, feature.format
    assert hashing is not None and fmt is not None
    mv = hashing.missing_value
    if mv is not None and raw == mv.sentinel:
        return mv.replacement
    if isinstance(fmt, StringFormat):
        try:
            raw.encode(fmt.encoding)
        except UnicodeEncodeError:
            return INVALID
        if fmt.pattern is not None:
            return raw if _compile(fmt.pattern).fullmatch(raw) else INVALID
        if fmt.min_length is not None and len(raw) < fmt.min_length:
            return INVALID
        if fmt.max_length is not None and len(raw) > fmt.max_length:
            return INVALID
        if fmt.case == "upper" and raw.upper() != raw:
            return INVALID
        if fmt.case == "lower" and raw.lower() != raw:
            return INVALID
        text = raw
    else:
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            return INVALID
        if isinstance(fmt, IntegerFormat):
            try:
                number = int(raw, 10)
            except ValueError:
                return INVALID
            if fmt.minimum is not None and number < fmt.minimum:
                return INVALID
            if fmt.maximum is not None and number > fmt.maximum:
                return INVALID
            text = str(number)
        elif isinstance(fmt, DateFormat):
            try:
                parsed = datetime.strptime(raw, fmt.format)
            except ValueError:
                return INVALID
            text = parsed.strftime("%Y%m%d")
        elif isinstance(fmt, EnumFormat):
            if raw not in fmt.values:
                return INVALID
            text = raw
        else:  # pragma: no cover - the schema loader admits no other format
            raise TypeError(type(fmt))
    if hashing.comparison.type == "numeric" and text and not _numeric_ok(text):
        return INVALID
    return text


def _numeric_ok(text: str) -> bool:
    try:
        int(text, 10)
        return True
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return False
    return value == value and value not in (float("inf"), float("-inf"))
