"""The ``us_zip`` rule (``postcode`` lives in :mod:`htlink.normalize.text`)."""

from __future__ import annotations

import re
import unicodedata
from functools import partial

from htlink.normalize._fold import run_check
from htlink.normalize.reasons import ValueResult, invalid

#: First five digits that stand for "no ZIP code".  (12345 is a real ZIP code in
#: Schenectady, NY, but in agency data it is nearly always a dummy.)
ZIP_PLACEHOLDERS = frozenset({"00000", "11111", "12345", "99999"})

_ZIP = re.compile(r"([0-9]{5})(?:(?:\s*-\s*|\s*)[0-9]{4})?", re.ASCII)
_LOST_ZERO = re.compile(r"[0-9]{4}|[0-9]{8}", re.ASCII)
_FLOAT_TAIL = re.compile(r"\.0+$", re.ASCII)


def check_us_zip(text: str, *, restore_leading_zero: bool = True) -> ValueResult:
    text = unicodedata.normalize("NFKC", text).strip()
    repaired = False
    if _FLOAT_TAIL.search(text) and text[: text.index(".")].isdigit():
        text = text[: text.index(".")]  # "2134.0" written by a spreadsheet or pandas
        repaired = True
    if match := _ZIP.fullmatch(text):
        zip5 = match[1]
    elif restore_leading_zero and _LOST_ZERO.fullmatch(text):
        zip5 = ("0" + text)[:5]  # 2134 -> 02134, 21341234 -> 02134 (ZIP+4)
        repaired = True
    else:
        return invalid("bad_zip")
    if zip5 in ZIP_PLACEHOLDERS:
        return invalid("placeholder")
    return ValueResult(zip5, repaired=repaired)


def normalize_us_zip(value: object, *, restore_leading_zero: bool = True) -> str | None:
    """A US ZIP code as its first five digits: ``"02134-1234"`` -> ``"02134"``.

    Accepts ``12345``, ``12345-6789``, ``12345 6789`` and ``123456789``.  With
    ``restore_leading_zero`` (default) a 4-digit (or 8-digit) number is taken
    to be a ZIP code whose leading zero a spreadsheet removed: ``2134`` ->
    ``"02134"``.  None for placeholders (00000, 11111, 12345, 99999) and
    anything else.
    """
    check = partial(check_us_zip, restore_leading_zero=restore_leading_zero)
    return run_check(value, check)[1].value
