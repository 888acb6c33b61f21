"""Normalization: one canonical form per identifier, before encoding.

Two agencies can only link a person if they write the person's identifiers
the same way.  Each schema feature has a :class:`NormalizationRule` (kind plus
options, from the schema's ``x-htlink`` extension); :func:`normalize_column`
applies it to a column, turning invalid values into missing ones and counting
them by reason.  Nothing here ever puts a record's value into a message or a
counter.  See docs/normalization.md for every rule, option and reason code.

Per-value functions (``normalize_name``, ``parse_date``, ...) return the
normalized string (or date) or None; :func:`normalize_value` also says why a
value is invalid.
"""

from htlink.normalize._fold import ARTIFACTS
from htlink.normalize.column import NormalizedColumn, normalize_column, normalize_value
from htlink.normalize.dates import DATE_ORDERS, format_date, parse_date
from htlink.normalize.names import normalize_name
from htlink.normalize.phone import normalize_phone
from htlink.normalize.postal import normalize_us_zip
from htlink.normalize.reasons import REASONS, ValueResult
from htlink.normalize.rules import (
    KIND_OPTIONS,
    RULE_KINDS,
    AgencyOptions,
    NormalizationRule,
    parse_rule,
)
from htlink.normalize.sex import SexCodes, normalize_sex
from htlink.normalize.text import normalize_digits, normalize_postcode, normalize_text

__all__ = [
    "ARTIFACTS",
    "DATE_ORDERS",
    "KIND_OPTIONS",
    "REASONS",
    "RULE_KINDS",
    "AgencyOptions",
    "NormalizationRule",
    "NormalizedColumn",
    "SexCodes",
    "ValueResult",
    "format_date",
    "normalize_column",
    "normalize_digits",
    "normalize_name",
    "normalize_phone",
    "normalize_postcode",
    "normalize_sex",
    "normalize_text",
    "normalize_us_zip",
    "normalize_value",
    "parse_date",
    "parse_rule",
]
