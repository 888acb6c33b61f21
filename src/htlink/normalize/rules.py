"""Normalization rules (one per schema feature) and per-agency reading options.

A rule comes from the linkage schema, where every agency sees the same one::

    "x-htlink": {"features": {"last_name": {"normalize":
        {"kind": "surname", "particles": "join", "compound": "space"}}}}

:func:`parse_rule` turns that JSON object into a :class:`NormalizationRule`
and reports every problem at once as a :class:`~htlink.errors.SchemaError`.
:class:`AgencyOptions` holds what differs between agencies and is not part of
the schema: how the agency writes dates.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from htlink.errors import HtlinkError, SchemaError
from htlink.normalize.dates import DATE_ORDERS, format_date
from htlink.normalize.names import COMPOUND_MODES, KEEP_MODES, PARTICLE_MODES
from htlink.normalize.phone import PHONE_COUNTRIES
from htlink.normalize.sex import SEX_CATEGORIES, SexCodes

RULE_KINDS: tuple[str, ...] = (
    "text", "given_name", "surname", "date", "sex", "us_zip", "postcode", "phone", "digits",
)  # fmt: skip

#: The options each kind accepts in the schema, with their defaults.
KIND_OPTIONS: dict[str, dict[str, Any]] = {
    "text": {},
    "given_name": {"keep": "all"},
    "surname": {"particles": "join", "compound": "space"},
    "date": {"min_year": 1900, "two_digit_year_pivot": None},
    "sex": {"codes": {"male": "m", "female": "f", "other": "x"}, "iso5218": False},
    "us_zip": {"restore_leading_zero": True},
    "postcode": {},
    "phone": {"country": "US"},
    "digits": {"length": None},
}

_CHOICES: dict[str, tuple[str, ...]] = {
    "keep": KEEP_MODES,
    "particles": PARTICLE_MODES,
    "compound": COMPOUND_MODES,
    "country": PHONE_COUNTRIES,
}
_BOOLEANS = ("iso5218", "restore_leading_zero")
_ROUND_TRIP_DATES = (_dt.date(1987, 11, 23), _dt.date(2004, 2, 9), _dt.date(1921, 12, 31))


def _listed(items: tuple[str, ...] | list[str]) -> str:
    return ", ".join(items)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _option_problem(name: str, value: object) -> str | None:
    """Why ``value`` is not acceptable for option ``name`` (None when it is)."""
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            return f"must be one of {_listed(_CHOICES[name])}"
    elif name in _BOOLEANS:
        if not isinstance(value, bool):
            return "must be true or false"
    elif name == "min_year":
        if not _is_int(value) or not 1 <= value <= 9999:  # type: ignore[operator]
            return "must be a year between 1 and 9999, such as 1900"
    elif name == "two_digit_year_pivot":
        if value is not None and (not _is_int(value) or not 1000 <= value <= 9900):  # type: ignore[operator]
            return (
                "must be a four-digit year such as 1930 (two-digit years are then read as "
                "1930 to 2029), or null to refuse two-digit years"
            )
    elif name == "length":
        if value is not None and (not _is_int(value) or not 1 <= value <= 64):  # type: ignore[operator]
            return "must be a number of digits between 1 and 64, or null for any length"
    elif name == "codes":
        if not isinstance(value, Mapping) or set(value) != set(SEX_CATEGORIES):
            return 'must be an object with exactly the keys "male", "female" and "other"'
        codes = list(value.values())
        if not all(isinstance(c, str) and c and c == c.strip() for c in codes):
            return "codes must be non-empty strings without surrounding spaces"
        if len(set(codes)) != len(codes):
            return "the three codes must differ"
    return None


def _date_format_problem(date_format: object) -> str | None:
    if not isinstance(date_format, str) or "%" not in date_format:
        return "the feature's date format must be a strftime format such as %Y-%m-%d"
    for day in _ROUND_TRIP_DATES:
        try:
            written = format_date(day, date_format)
            back = _dt.datetime.strptime(written, date_format).date()
        except ValueError:
            back = None
        if back != day:
            return (
                f'the feature\'s date format "{date_format}" cannot be read back to the same '
                "day; it needs a day, a month and a four-digit year (e.g. %Y-%m-%d)"
            )
    return None


def _problems(
    feature: object, kind: object, options: Mapping[str, Any], date_format: object
) -> list[str]:
    path = f"x-htlink.features.{feature}.normalize"
    if not isinstance(feature, str) or not feature:
        return [f"{path}: the feature name must be a non-empty string"]
    if kind not in RULE_KINDS:
        shown = f'"{kind}"' if isinstance(kind, str) else "of the wrong type"
        return [f"{path}.kind: unknown kind {shown}; known kinds: {_listed(RULE_KINDS)}"]
    assert isinstance(kind, str)
    problems = []
    known = KIND_OPTIONS[kind]
    for name, value in options.items():
        if name not in known:
            allowed = f"known options: {_listed(list(known))}" if known else "it takes no options"
            problems.append(f'{path}.{name}: unknown option "{name}" for kind "{kind}"; {allowed}')
            continue
        problem = _option_problem(name, value)
        if problem:
            problems.append(f"{path}.{name}: {problem}")
    if kind == "date":
        if date_format is None:
            problems.append(f'{path}: kind "date" needs the feature to have format type "date"')
        else:
            problem = _date_format_problem(date_format)
            if problem:
                problems.append(f"{path}: {problem}")
    elif date_format is not None:
        problems.append(
            f'{path}.kind: a feature with format type "date" must use kind "date", not "{kind}"'
        )
    return problems


@dataclass(frozen=True)
class NormalizationRule:
    """How the values of one schema feature are normalized.

    ``kind`` is one of :data:`RULE_KINDS`.  The other fields are the options
    of the kinds; a field only matters to the kinds named in its comment and
    must keep its default for every other kind.  Construction validates the
    rule and raises :class:`~htlink.errors.SchemaError`.
    """

    feature: str
    kind: str
    date_format: str | None = None  # date: the schema feature's strftime format (required)
    keep: str = "all"  # given_name: "all" | "first"
    particles: str = "join"  # surname: "join" | "drop" | "keep"
    compound: str = "space"  # surname: "space" | "join" | "first"
    min_year: int = 1900  # date: earlier dates are invalid ("too_early")
    two_digit_year_pivot: int | None = None  # date: e.g. 1930 reads 03/04/29 as 2029
    codes: SexCodes = field(default_factory=SexCodes)  # sex: output codes (or a mapping)
    iso5218: bool = False  # sex: read 1/2/0/9 as ISO 5218 codes
    restore_leading_zero: bool = True  # us_zip: 2134 -> 02134
    country: str = "US"  # phone: numbering plan ("US" only)
    length: int | None = None  # digits: required number of digits

    def __post_init__(self) -> None:
        if isinstance(self.codes, Mapping):  # accept the schema's JSON object too
            problem = _option_problem("codes", self.codes)
            if problem:
                raise SchemaError([f"x-htlink.features.{self.feature}.normalize.codes: {problem}"])
            object.__setattr__(self, "codes", SexCodes(**self.codes))
        elif not isinstance(self.codes, SexCodes):
            raise SchemaError(
                [f"x-htlink.features.{self.feature}.normalize.codes: must be a SexCodes object"]
            )
        options: dict[str, Any] = {}
        for name in KIND_OPTIONS.get(self.kind, {}):
            options[name] = self._option(name)
        for name, default in _OPTION_DEFAULTS.items():
            if name not in options and getattr(self, name) != default:
                options[name] = self._option(name)  # reported as not applying to this kind
        problems = _problems(self.feature, self.kind, options, self.date_format)
        if problems:
            raise SchemaError(problems)

    def _option(self, name: str) -> Any:
        value = getattr(self, name)
        if name == "codes":
            return {c: value.code(c) for c in SEX_CATEGORIES}
        return value

    @property
    def options(self) -> dict[str, Any]:
        """The options of this rule's kind with their values (JSON-ready)."""
        return {name: self._option(name) for name in KIND_OPTIONS[self.kind]}

    def to_spec(self) -> dict[str, Any]:
        """The schema's ``normalize`` object for this rule (inverse of :func:`parse_rule`)."""
        return {"kind": self.kind, **self.options}


_OPTION_DEFAULTS: dict[str, Any] = {
    f.name: f.default_factory() if f.default_factory is not MISSING else f.default
    for f in fields(NormalizationRule)
    if f.name not in ("feature", "kind", "date_format")
}


def parse_rule(
    feature: str, spec: Mapping[str, Any], *, date_format: str | None = None
) -> NormalizationRule:
    """The rule for ``feature`` from its schema ``normalize`` object.

    ``spec`` is ``schema["x-htlink"]["features"][feature]["normalize"]``, e.g.
    ``{"kind": "surname", "particles": "join"}``; options left out take their
    defaults.  ``date_format`` is the feature's strftime format when its
    format type is ``date`` (a ``date`` rule needs it and writes dates in it).
    Raises :class:`~htlink.errors.SchemaError` listing every problem.
    """
    path = f"x-htlink.features.{feature}.normalize"
    if not isinstance(spec, Mapping):
        raise SchemaError([f'{path}: must be an object such as {{"kind": "text"}}'])
    if "kind" not in spec:
        raise SchemaError([f"{path}.kind: required; known kinds: {_listed(RULE_KINDS)}"])
    kind = spec["kind"]
    options = {k: v for k, v in spec.items() if k != "kind"}
    problems = _problems(feature, kind, options, date_format)
    if problems:
        raise SchemaError(problems)
    return NormalizationRule(feature=feature, kind=kind, date_format=date_format, **options)


@dataclass(frozen=True)
class AgencyOptions:
    """How one agency writes its data; not part of the shared schema.

    ``date_order`` (``"MDY"``, ``"DMY"`` or ``"YMD"``) says how to read dates
    whose day and month are both numbers, such as 03/04/1990; it is required
    only when such dates occur.  ``today`` is the day after which dates are in
    the future (default: the real today; set it in tests).
    """

    date_order: str | None = None
    today: _dt.date | None = None

    def __post_init__(self) -> None:
        order = self.date_order
        if isinstance(order, str) and order.strip().upper() in DATE_ORDERS:
            object.__setattr__(self, "date_order", order.strip().upper())
        elif order is not None:
            raise HtlinkError(
                "The date order must be MDY, DMY or YMD.",
                "Use MDY when dates are written month first (03/04/1990 is March 4), "
                "DMY when day first (3 April), YMD when year first.",
            )
        if isinstance(self.today, _dt.datetime):
            object.__setattr__(self, "today", self.today.date())
        elif self.today is not None and not isinstance(self.today, _dt.date):
            raise HtlinkError("AgencyOptions.today must be a datetime.date or None.")
