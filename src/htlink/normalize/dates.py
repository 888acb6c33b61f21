"""The ``date`` rule: many written forms in, the schema's date format out.

Accepted forms (optionally followed by a time such as ``00:00:00``,
``T00:00:00.000Z`` or ``12:00 AM``, which is ignored):

* year first, never ambiguous: ``1990-01-02``, ``1990/1/2``, ``1990.01.02``,
  ``19900102`` (eight digits are always read as YYYYMMDD);
* day and month as numbers before the year: ``03/04/1990``, ``03-04-1990``,
  ``03.04.1990``.  Whether that is 3 April or March 4 is the agency's date
  order (``MDY`` or ``DMY``); htlink never guesses it from the values;
* a month name (English, Spanish, French, German, Portuguese; full or
  abbreviated): ``2 Jan 1990``, ``January 2, 1990``, ``02-JAN-1990``,
  ``2 de enero de 1990``, ``1990 Jan 02``.

Two-digit years (``03/04/90``, ``02-JAN-90``, ``030490``) are only read when
the rule sets ``two_digit_year_pivot``.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata

from htlink.errors import InputDataError
from htlink.normalize._fold import as_text, to_ascii
from htlink.normalize.reasons import ValueResult, invalid

DATE_ORDERS = ("MDY", "DMY", "YMD")

#: Internal reason: the value is written day/month-ambiguously and no order was given.
NEEDS_ORDER = "needs_date_order"

DATE_ORDER_HINT = (
    "Tell htlink how this agency writes dates: on the command line pass "
    "--date-order MDY (month first, as usual in the US) or --date-order DMY (day first); "
    'in Python use AgencyOptions(date_order="MDY") or AgencyOptions(date_order="DMY"). '
    "htlink does not guess the order from the values."
)

_A = re.ASCII
_TIME = re.compile(
    r"(?:T|\s+)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:\s*[ap]\.?\s?m\.?)?"
    r"(?:\s*(?:z|utc|gmt|[+-]\d{2}(?::?\d{2})?))?$",
    re.IGNORECASE | _A,
)
_YMD = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})", _A)
_NN_YEAR = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})", _A)
_PARTIAL = re.compile(r"\d{4}|\d{4}[-/.]\d{1,2}|\d{1,2}[-/.]\d{4}", _A)
_WORD = re.compile(r"[a-z]+|[0-9]+", _A)
_ORDINAL = frozenset({"st", "nd", "rd", "th", "er", "o", "a", "e"})
_FILLER = frozenset({"de", "del", "of", "the", "le", "den", "der"})
_WEEKDAYS = frozenset(
    {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
     "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun"}
)  # fmt: skip

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "enero", "ene", "janvier", "janv", "januar", "janeiro"),
    2: ("february", "feb", "febrero", "fevrier", "fevr", "fev", "februar", "fevereiro"),
    3: ("march", "mar", "marzo", "mars", "marz", "maerz", "marco"),
    4: ("april", "apr", "abril", "abr", "avril", "avr"),
    5: ("may", "mayo", "mai", "maio"),
    6: ("june", "jun", "junio", "juin", "juni", "junho"),
    7: ("july", "jul", "julio", "juillet", "juil", "juli", "julho"),
    8: ("august", "aug", "agosto", "ago", "aout"),
    9: ("september", "sep", "sept", "septiembre", "setiembre", "set", "septembre", "setembro"),
    10: ("october", "oct", "octubre", "octobre", "oktober", "okt", "outubro", "out"),
    11: ("november", "nov", "noviembre", "novembre", "novembro"),
    12: ("december", "dec", "diciembre", "dic", "decembre", "dezember", "dez", "dezembro"),
}
MONTHS: dict[str, int] = {name: m for m, names in _MONTH_NAMES.items() for name in names}


def _two_digit(yy: int, pivot: int | None) -> int | None:
    """The year in ``pivot .. pivot + 99`` that ends in ``yy``; None without a pivot."""
    if pivot is None:
        return None
    year = pivot - pivot % 100 + yy
    return year + 100 if year < pivot else year


def _make(year: int, month: int, day: int) -> _dt.date | str:
    try:
        return _dt.date(year, month, day)
    except ValueError:
        return "impossible_date"


def _with_year(year_text: str, month: int, day: int, pivot: int | None) -> _dt.date | str:
    if len(year_text) == 4:
        return _make(int(year_text), month, day)
    if len(year_text) == 2:
        year = _two_digit(int(year_text), pivot)
        return "two_digit_year" if year is None else _make(year, month, day)
    return "bad_date"


def _ordered(
    first: int, second: int, year: str, order: str | None, pivot: int | None
) -> _dt.date | str:
    """Day and month written as two numbers before the year."""
    if len(year) == 2 and pivot is None:
        return "two_digit_year"  # invalid whatever the order, so no need to ask for it
    if order is None:
        return NEEDS_ORDER
    if order == "YMD":
        return "date_order_mismatch"
    month, day = (first, second) if order == "MDY" else (second, first)
    return _with_year(year, month, day, pivot)


def _month_name_date(text: str, pivot: int | None) -> _dt.date | str:
    words = _WORD.findall(to_ascii(text).casefold())
    tokens: list[str] = []
    for w in words:
        if w in _FILLER or w in _WEEKDAYS:
            continue
        if w in _ORDINAL and tokens and tokens[-1].isdigit():
            continue  # "2nd", "1er", "1o" (from 1º)
        tokens.append(w)
    months = [t for t in tokens if t in MONTHS]
    if len(months) != 1 or any(not t.isdigit() for t in tokens if t not in MONTHS):
        return "bad_date"
    month = MONTHS[months[0]]
    numbers = [t for t in tokens if t.isdigit()]
    if len(tokens) == 2 and len(numbers) == 1 and len(numbers[0]) == 4:
        return "partial_date"  # "January 1990"
    if len(tokens) != 3:
        return "bad_date"
    position = tokens.index(months[0])
    if position == 1 and len(tokens[0]) == 4:  # 1990 Jan 02
        year, day = tokens[0], tokens[2]
    elif position in (0, 1):  # Jan 2 1990, 2 Jan 1990
        day, year = numbers
    else:
        return "bad_date"
    if len(day) > 2:
        return "bad_date"
    return _with_year(year, month, int(day), pivot)


def _parse(text: str, order: str | None, pivot: int | None) -> _dt.date | str:
    """A date, or a reason code (including :data:`NEEDS_ORDER`)."""
    text = unicodedata.normalize("NFKC", text).strip()
    timeless = _TIME.sub("", text)
    if timeless and timeless[-1:].isalnum():
        text = timeless.strip()
    if m := _YMD.fullmatch(text):
        return _make(int(m[1]), int(m[3]), int(m[4]))
    if m := _NN_YEAR.fullmatch(text):
        return _ordered(int(m[1]), int(m[3]), m[4], order, pivot)
    if text.isascii() and text.isdigit():
        if len(text) == 8:
            return _make(int(text[:4]), int(text[4:6]), int(text[6:]))
        if len(text) == 6:
            if pivot is None:
                return "two_digit_year"
            if order is None:
                return NEEDS_ORDER
            a, b, c = text[:2], text[2:4], text[4:]
            if order == "YMD":
                return _with_year(a, int(b), int(c), pivot)
            return _ordered(int(a), int(b), c, order, pivot)
    if _PARTIAL.fullmatch(text):
        return "partial_date"
    return _month_name_date(text, pivot)


def check_date(
    text: str,
    *,
    order: str | None = None,
    two_digit_year_pivot: int | None = None,
    min_year: int = 1900,
    today: _dt.date | None = None,
) -> _dt.date | str:
    """A valid date, or a reason code (``NEEDS_ORDER`` when an order is required)."""
    parsed = _parse(text, order, two_digit_year_pivot)
    if isinstance(parsed, str):
        return parsed
    if parsed.year < min_year:
        return "too_early"
    if parsed > (today or _dt.date.today()):
        return "future_date"
    return parsed


def format_date(date: _dt.date, date_format: str) -> str:
    """``date.strftime(date_format)`` with years always written with four digits.

    (The C library drops the leading zeros of years before 1000 on some
    platforms; linkage needs one spelling on every platform.)
    """
    out: list[str] = []
    i = 0
    while i < len(date_format):
        char = date_format[i]
        if char != "%" or i + 1 == len(date_format):
            out.append(char)
            i += 1
            continue
        j = i + 1
        if date_format[j] in "-_0^#" and j + 1 < len(date_format):
            j += 1
        directive = date_format[i : j + 1]
        if directive == "%Y":
            out.append(f"{date.year:04d}")
        elif directive == "%F":
            out.append(f"{date.year:04d}-{date.month:02d}-{date.day:02d}")
        elif directive == "%%":
            out.append("%")
        else:
            out.append(date.strftime(directive))
        i = j + 1
    return "".join(out)


def check_date_formatted(
    text: str,
    date_format: str,
    *,
    order: str | None = None,
    two_digit_year_pivot: int | None = None,
    min_year: int = 1900,
    today: _dt.date | None = None,
) -> ValueResult:
    parsed = check_date(
        text, order=order, two_digit_year_pivot=two_digit_year_pivot,
        min_year=min_year, today=today,
    )  # fmt: skip
    if isinstance(parsed, str):
        return invalid(parsed)
    return ValueResult(format_date(parsed, date_format))


def _check_order(order: str | None) -> None:
    if order is not None and order not in DATE_ORDERS:
        raise ValueError(f"order must be one of {DATE_ORDERS} or None")


def parse_date(
    value: object,
    order: str | None = None,
    *,
    two_digit_year_pivot: int | None = None,
    min_year: int = 1900,
    today: _dt.date | None = None,
) -> _dt.date | None:
    """The date a value stands for, or None when it is missing or invalid.

    ``order`` is the agency's date order, ``"MDY"``, ``"DMY"`` or ``"YMD"``;
    it is needed only for dates like ``03/04/1990``.  Raises
    :class:`~htlink.errors.InputDataError` for such a date when ``order`` is
    None.  Dates before ``min_year`` or after ``today`` (default: the real
    today) give None.
    """
    _check_order(order)
    text = as_text(value)
    if text is None:
        return None
    parsed = check_date(
        text, order=order, two_digit_year_pivot=two_digit_year_pivot,
        min_year=min_year, today=today,
    )  # fmt: skip
    if parsed == NEEDS_ORDER:
        raise InputDataError(
            "A date is written with day and month as numbers (NN/NN/YYYY), so it can be "
            "read two ways.",
            DATE_ORDER_HINT,
        )
    return None if isinstance(parsed, str) else parsed
