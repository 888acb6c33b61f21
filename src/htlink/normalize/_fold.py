"""Low-level text primitives shared by all rules (internal).

* :func:`as_text` turns a cell of any type into the text a rule works on, or
  None when the cell is missing (None, NaN, pd.NA, NaT, blank, whitespace).
* :func:`fold` is the common path to the ASCII alphabet: Unicode NFKC,
  removal of symbols and control characters, transliteration with anyascii,
  casefolding, and every other character to a single space.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pandas as pd
from anyascii import anyascii

from htlink.normalize.reasons import MISSING, ValueResult, invalid

# Characters people (and keyboards, and transliteration) use as apostrophes.
APOSTROPHES = "'`´ʹʻʼʽʾʿˈ‘’‛′＇"
_DROP_APOSTROPHES = str.maketrans("", "", APOSTROPHES)
#: Cells that are text left behind by a missing value converted to a string
#: (pandas, SQL, Excel).  They count as invalid ("placeholder") for every kind.
#: "NAN" and "Nan" are not in the list: Nan is a given name.
ARTIFACTS = frozenset({"nan", "NaN", "<NA>", "NaT", "None", "NULL", "null", "#N/A"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NON_DIGIT_BYTES = bytes(b for b in range(256) if not 48 <= b <= 57)


def as_text(value: object) -> str | None:
    """The text of one input cell, or None when the cell is missing.

    Strings are returned unchanged unless they are blank.  Numbers keep their
    plain form (a float column's ``2134.0`` becomes ``"2134"``), dates and
    timestamps their ISO form.
    """
    if isinstance(value, str):
        text = value
    elif value is None or value is pd.NA or value is pd.NaT:
        return None
    elif isinstance(value, bool | np.bool_):
        text = str(bool(value))
    elif isinstance(value, int | np.integer):
        text = str(int(value))
    elif isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return None
        if math.isinf(number):
            text = str(number)
        elif number.is_integer():
            text = str(int(number))
        else:
            text = repr(number)
    elif isinstance(value, Decimal):
        if value.is_nan():
            return None
        text = str(value)
    elif isinstance(value, pd.Timestamp | _dt.datetime | _dt.date):
        text = value.isoformat()
    elif isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        text = str(value)
    elif isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", errors="replace")
    else:
        text = str(value)
    if not text or text.isspace():
        return None
    return text


def _clean_unicode(text: str) -> str:
    """Drop format characters; symbols, controls and unassigned code points to spaces."""
    out = []
    for char in text:
        if char.isascii():
            out.append(char)
            continue
        category = unicodedata.category(char)
        if category == "Cf":  # soft hyphen, zero-width joiner, byte-order mark, bidi marks
            continue
        if category[0] in "SC":  # symbols (emoji, currency, ...), controls, private use
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def to_ascii(text: str) -> str:
    """NFKC, then symbols removed and every other character transliterated to ASCII."""
    if text.isascii():  # NFKC leaves ASCII unchanged
        return text
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    return anyascii(_clean_unicode(text))


def fold(text: str, *, drop_apostrophes: bool = False) -> str:
    """Lower-case ASCII words separated by single spaces: the ``text`` rule.

    With ``drop_apostrophes`` the apostrophes are removed without a space
    (``O'Brien`` -> ``obrien``), otherwise they separate words like any other
    punctuation.  The result only holds ``[a-z0-9 ]`` and may be empty.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if drop_apostrophes:
        text = text.translate(_DROP_APOSTROPHES)
    if not text.isascii():
        text = anyascii(_clean_unicode(text))
        if drop_apostrophes:  # transliteration can produce apostrophes (Cyrillic soft sign)
            text = text.translate(_DROP_APOSTROPHES)
    text = text.casefold()
    return _NON_ALNUM.sub(" ", text).strip()


def ascii_digits(text: str) -> str:
    """Only the decimal digits of ``text``, as ASCII (any script's digits count)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        if not text.isascii():
            return "".join(
                c if "0" <= c <= "9" else str(unicodedata.decimal(c)) for c in text if c.isdecimal()
            )
    return text.encode("ascii").translate(None, _NON_DIGIT_BYTES).decode("ascii")


def run_check(value: object, check: Callable[[str], ValueResult]) -> tuple[str | None, ValueResult]:
    """The input text of a cell and the outcome of ``check`` on it.

    Missing cells give ``(None, MISSING)`` and conversion artifacts such as
    ``"nan"`` an invalid ``placeholder`` result, without calling ``check``.
    """
    text = as_text(value)
    if text is None:
        return None, MISSING
    if text.strip() in ARTIFACTS:
        return text, invalid("placeholder")
    return text, check(text)
