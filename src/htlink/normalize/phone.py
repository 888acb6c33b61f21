"""The ``phone`` rule: North American (NANP) numbers as ten digits."""

from __future__ import annotations

import re
from functools import partial

from htlink.normalize._fold import ascii_digits, run_check, to_ascii
from htlink.normalize.reasons import ValueResult, invalid

PHONE_COUNTRIES = ("US",)

_EXTENSION = re.compile(
    r"\s*(?:,|;)?\s*(?:ext(?:ension)?\.?|x|#)\s*[:.]?\s*[0-9]{1,6}\s*$", re.IGNORECASE | re.ASCII
)
_PLACEHOLDERS = frozenset({"1234567890", "9876543210"})


def check_phone(text: str, *, country: str = "US") -> ValueResult:
    text = to_ascii(text)
    if "x" in text or "X" in text or "#" in text:  # every extension marker has one
        text = _EXTENSION.sub("", text)
    digits = ascii_digits(text)
    if not digits:
        return invalid("bad_phone")
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10:
        return invalid("bad_phone")
    if len(set(digits)) == 1 or digits in _PLACEHOLDERS or digits[3:8] == "55501":
        return invalid("placeholder")  # 555-0100 .. 555-0199 is reserved for fiction
    if digits[0] in "01" or digits[3] in "01":
        return invalid("bad_phone")  # no NANP area code or exchange starts with 0 or 1
    return ValueResult(digits)


def normalize_phone(value: object, *, country: str = "US") -> str | None:
    """A phone number as ten digits: ``"+1 (617) 555-2368 ext. 4"`` -> ``"6175552368"``.

    Only ``country="US"`` (the North American Numbering Plan) is supported.
    None for numbers without exactly ten digits (after dropping a leading
    country code 1 and an extension) and for placeholders such as 1234567890,
    all one digit, or the fictional 555-0100 to 555-0199.
    """
    if country not in PHONE_COUNTRIES:
        raise ValueError(f"country must be one of {PHONE_COUNTRIES}")
    return run_check(value, partial(check_phone, country=country))[1].value
