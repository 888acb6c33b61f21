"""Reason codes: why a value that was present in the input became missing.

Counters and messages use only these codes (plus feature names and counts),
never the values of a record.  :data:`REASONS` maps every code any rule can
produce to a one-line description that reports can print.
"""

from __future__ import annotations

from typing import NamedTuple

REASONS: dict[str, str] = {
    # any kind
    "empty": "nothing usable left after normalization (only punctuation, symbols or a title)",
    "placeholder": "a stand-in value such as 'unknown', 'n/a', 'baby boy', 00000 or 555-0100",
    # names
    "digits_in_name": "a name that contains digits",
    # dates
    "bad_date": "not written in any accepted date form",
    "partial_date": "only a year, or a year and a month",
    "impossible_date": "a day or month that does not exist (e.g. 30 February, month 13)",
    "future_date": "a date after today",
    "too_early": "a date before the rule's min_year",
    "two_digit_year": "a two-digit year and the rule sets no two_digit_year_pivot",
    "date_order_mismatch": "day and month come first but the agency declared date order YMD",
    # sex
    "unknown": "sex recorded as unknown, not stated or declined",
    "numeric_code": "a numeric sex code and the rule does not declare the ISO 5218 coding",
    "unrecognized": "a sex code that is not in the accepted list",
    # ZIP, phone, digits
    "bad_zip": "not a 5-digit or ZIP+4 US ZIP code",
    "bad_phone": "not a 10-digit North American number",
    "no_digits": "no digits at all",
    "bad_length": "not the number of digits the rule requires",
}


class ValueResult(NamedTuple):
    """The outcome of normalizing one value.

    * valid: ``value`` is the normalized string, ``reason`` is None;
    * invalid: ``value`` is None and ``reason`` is a code from :data:`REASONS`;
    * missing in the input (blank, None, NaN): ``value`` and ``reason`` are None.

    ``repaired`` is True when the value is valid only because of a documented
    repair (for example a US ZIP code whose leading zero was restored).
    """

    value: str | None
    reason: str | None = None
    repaired: bool = False

    @property
    def is_input_missing(self) -> bool:
        return self.value is None and self.reason is None


MISSING = ValueResult(None)


def invalid(reason: str) -> ValueResult:
    """An invalid value (internal helper); ``reason`` must be a known code."""
    return ValueResult(None, reason)
