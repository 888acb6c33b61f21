"""The ``text``, ``postcode`` and ``digits`` rules."""

from __future__ import annotations

from functools import partial

from htlink.normalize._fold import ascii_digits, fold, run_check
from htlink.normalize.reasons import ValueResult, invalid


def check_text(text: str) -> ValueResult:
    folded = fold(text)
    return ValueResult(folded) if folded else invalid("empty")


def check_postcode(text: str) -> ValueResult:
    compact = fold(text).replace(" ", "")
    return ValueResult(compact) if compact else invalid("empty")


def check_digits(text: str, *, length: int | None = None) -> ValueResult:
    digits = ascii_digits(text)
    if not digits:
        return invalid("no_digits")
    if length is not None and len(digits) != length:
        return invalid("bad_length")
    return ValueResult(digits)


def normalize_text(value: object) -> str | None:
    """Free text to lower-case ASCII words: ``"  Saint-Étienne!! "`` -> ``"saint etienne"``.

    Unicode NFKC, transliteration to ASCII (anyascii), casefolding, every
    punctuation mark or symbol to a space, runs of spaces collapsed.  The
    result holds only ``[a-z0-9 ]``.  None when the value is missing or
    nothing is left.
    """
    return run_check(value, check_text)[1].value


def normalize_postcode(value: object) -> str | None:
    """A postcode of any country as letters and digits only: ``"SW1A 1AA"`` -> ``"sw1a1aa"``."""
    return run_check(value, check_postcode)[1].value


def normalize_digits(value: object, *, length: int | None = None) -> str | None:
    """Only the digits of the value: ``"123-45-6789"`` -> ``"123456789"``.

    With ``length``, a value with any other number of digits gives None.
    """
    return run_check(value, partial(check_digits, length=length))[1].value
