"""Scenario files: what the synthetic world looks like, read and checked.

A scenario is YAML (see ``synthetic/default.yaml`` and docs/synthetic-data.md).
Keys a file leaves out take the built-in defaults of
:data:`~htlink.synthetic.defaults.DEFAULT_SCENARIO`; rate tables
(``corruption``, ``missing``) are merged key by key, distributions (shares
that add up to 1) are replaced as a whole, and an ``agencies`` section lists
exactly the agencies the world has.  Every problem in a file is reported at
once, each with the path of the offending key.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from htlink.errors import HtlinkError
from htlink.synthetic.defaults import (
    AGENCY_KINDS,
    COMMON_AGENCY_KEYS,
    CORRUPTION_KINDS,
    DEFAULT_SCENARIO,
    HEALTHCARE_REASONS,
    KIND_KEYS,
    LOCALES,
    MISSING_FIELDS,
    NOT_APPLICABLE,
    REPORT_TYPES,
    ROLES,
)

#: Keys whose value is a distribution: a file's value replaces the default whole.
DISTRIBUTION_KEYS = frozenset(
    {"locales", "agencies_per_person", "agency_weights", "records_per_person", "reasons",
     "report_types", "case_size", "roles", "age_bands", "moves"}
)
MAX_PEOPLE = 5_000_000
MAX_MOVES = 3


class ScenarioError(HtlinkError):
    """A scenario file cannot be read, or some of its keys are not valid."""

    def __init__(
        self, problems: list[str], source: str | None = None, *, file_problem: bool = False
    ) -> None:
        where = f" {source}" if source else ""
        if file_problem:
            message = f"The scenario file{where} {problems[0]}."
            hint = (
                "Check the --scenario path; synthetic/default.yaml is the default scenario "
                "and docs/synthetic-data.md describes every key."
            )
        else:
            lines = "\n".join(f"  - {p}" for p in problems)
            message = f"The scenario{where} is not valid:\n{lines}"
            hint = (
                "Fix the keys listed above; docs/synthetic-data.md describes every key and "
                "synthetic/default.yaml shows a complete scenario."
            )
        super().__init__(message, hint)
        self.problems = problems


@dataclass(frozen=True)
class PopulationSpec:
    """Who lives in the synthetic world (``population:`` in a scenario)."""

    people: int
    locales: dict[str, float]
    female_share: float
    age_bands: tuple[tuple[float, float, float], ...]
    middle_name_share: float
    alias_share: float
    married_share: float
    hyphenated_share: float
    moves: tuple[float, ...]
    phone_share: float
    phone_change_share: float


@dataclass(frozen=True)
class MembershipSpec:
    """How many agencies know each person, and which ones."""

    agencies_per_person: dict[int, float]
    agency_weights: dict[str, float]


@dataclass(frozen=True)
class AgencySpec:
    """One agency's extract: who is in it, how many records, how dirty."""

    kind: str
    window: tuple[dt.date, dt.date]
    age_at_record: tuple[float, float]
    records_per_person: dict[int, float]
    diacritics: float
    native_script: float
    corruption: dict[str, float]
    missing: dict[str, float]
    options: dict[str, Any] = field(default_factory=dict)

    def rate(self, kind: str) -> float:
        """The corruption rate of ``kind`` (0 when the agency does not set it)."""
        return self.corruption.get(kind, 0.0)

    def missing_rate(self, field_name: str) -> float:
        """The share of records with ``field_name`` missing."""
        return self.missing.get(field_name, 0.0)


@dataclass(frozen=True)
class Scenario:
    """A checked scenario; :meth:`to_dict` gives it back as plain data."""

    name: str
    reference_date: dt.date
    population: PopulationSpec
    membership: MembershipSpec
    agencies: dict[str, AgencySpec]
    resolved: dict[str, Any]

    def with_people(self, people: int) -> Scenario:
        """The same scenario with a different population size."""
        data = copy.deepcopy(self.resolved)
        data["population"]["people"] = people
        return _build(data, source=None)

    def to_dict(self) -> dict[str, Any]:
        """The scenario with every key resolved, as JSON-ready data."""
        return _jsonable(self.resolved)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# ---------------------------------------------------------------- checking


def _fmt(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


class _Checker:
    """Collects every problem of a scenario with the path of its key."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def section(
        self,
        value: Any,
        path: str,
        allowed: tuple[str, ...] | frozenset[str],
        fallback: dict | None = None,
    ) -> dict:
        """A mapping with only ``allowed`` keys (else ``fallback``, so checking goes on)."""
        if not isinstance(value, dict):
            self.fail(path or "the scenario", "must be a mapping (key: value lines)")
            return fallback or {}
        unknown = sorted(str(k) for k in value if k not in allowed)
        for key in unknown:
            self.fail(
                f"{path}.{key}" if path else key,
                f"unknown key; allowed here: {', '.join(sorted(allowed))}",
            )
        return value

    def number(
        self, value: Any, path: str, low: float, high: float, *, integer: bool = False
    ) -> float:
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type or not math.isfinite(value):
            kind = "a whole number" if integer else "a number"
            self.fail(path, f"must be {kind} between {_fmt(low)} and {_fmt(high)}")
            return low
        if not low <= value <= high:
            self.fail(path, f"must be between {_fmt(low)} and {_fmt(high)} (it is {_fmt(value)})")
            return low
        return value

    def rate(self, value: Any, path: str) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or not 0.0 <= value <= 1.0:
            shown = f" (it is {value:g})" if ok else ""
            self.fail(path, f"must be a rate between 0 and 1{shown}")
            return 0.0
        return float(value)

    def shares(
        self, value: Any, path: str, keys: tuple[Any, ...] | None, *, int_keys: bool = False
    ) -> dict[Any, float]:
        """A distribution: non-negative shares adding up to 1."""
        if not isinstance(value, dict) or not value:
            self.fail(path, "must be a non-empty mapping of choice: share")
            return {}
        out: dict[Any, float] = {}
        for key, share in value.items():
            if int_keys:
                if isinstance(key, bool) or not isinstance(key, int) or key < 1:
                    self.fail(f"{path}.{key}", "keys must be whole numbers of 1 or more")
                    continue
            elif keys is not None and key not in keys:
                self.fail(f"{path}.{key}", f"unknown choice; choose from {', '.join(keys)}")
                continue
            out[key] = self.rate(share, f"{path}.{key}")
        total = sum(out.values())
        if out and abs(total - 1.0) > 1e-6:
            self.fail(path, f"shares must add up to 1 (they add up to {total:.6g})")
        return out

    def share_list(self, value: Any, path: str, max_len: int) -> tuple[float, ...]:
        if not isinstance(value, list) or not 1 <= len(value) <= max_len:
            self.fail(path, f"must be a list of 1 to {max_len} shares")
            return (1.0,)
        shares = tuple(self.rate(v, f"{path}[{i}]") for i, v in enumerate(value))
        if abs(sum(shares) - 1.0) > 1e-6:
            self.fail(path, f"shares must add up to 1 (they add up to {sum(shares):.6g})")
        return shares

    def date(self, value: Any, path: str) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(path, "must be a date written YYYY-MM-DD")
        return dt.date(2000, 1, 1)

    def pair(self, value: Any, path: str) -> tuple[Any, Any] | None:
        if not isinstance(value, list) or len(value) != 2:
            self.fail(path, "must be a list of two values [from, to]")
            return None
        return value[0], value[1]


def _population(c: _Checker, raw: Any) -> PopulationSpec:
    path = "population"
    d = c.section(raw, path, tuple(DEFAULT_SCENARIO["population"]), DEFAULT_SCENARIO[path])
    people = int(c.number(d.get("people"), f"{path}.people", 1, MAX_PEOPLE, integer=True))
    locales = c.shares(d.get("locales"), f"{path}.locales", LOCALES)
    bands: list[tuple[float, float, float]] = []
    raw_bands = d.get("age_bands")
    if not isinstance(raw_bands, list) or not raw_bands:
        c.fail(f"{path}.age_bands", "must be a list of [from_age, to_age, share]")
    else:
        for i, band in enumerate(raw_bands):
            where = f"{path}.age_bands[{i}]"
            if not isinstance(band, list) or len(band) != 3:
                c.fail(where, "must be [from_age, to_age, share]")
                continue
            low = c.number(band[0], where + "[0]", 0, 110)
            high = c.number(band[1], where + "[1]", 0, 110)
            if high <= low:
                c.fail(where, "to_age must be greater than from_age")
            bands.append((float(low), float(high), c.rate(band[2], where + "[2]")))
        if bands and abs(sum(b[2] for b in bands) - 1.0) > 1e-6:
            c.fail(f"{path}.age_bands", "the shares (third values) must add up to 1")
    rates = {
        key: c.rate(d.get(key), f"{path}.{key}")
        for key in ("female_share", "middle_name_share", "alias_share", "married_share",
                    "hyphenated_share", "phone_share", "phone_change_share")
    }
    moves = c.share_list(d.get("moves"), f"{path}.moves", MAX_MOVES + 1)
    return PopulationSpec(
        people=people, locales=locales, age_bands=tuple(bands), moves=moves, **rates
    )


def _agency(c: _Checker, kind: str, raw: Any, reference: dt.date) -> AgencySpec:
    path = f"agencies.{kind}"
    d = c.section(
        raw, path, COMMON_AGENCY_KEYS + KIND_KEYS[kind], DEFAULT_SCENARIO["agencies"][kind]
    )
    window = (reference, reference)
    if (pair := c.pair(d.get("window"), f"{path}.window")) is not None:
        window = (c.date(pair[0], f"{path}.window[0]"), c.date(pair[1], f"{path}.window[1]"))
        if window[1] <= window[0]:
            c.fail(f"{path}.window", "the end must come after the start")
        if window[1] > reference:
            c.fail(f"{path}.window", "the end must not be after reference_date")
    ages = (0.0, 100.0)
    if (pair := c.pair(d.get("age_at_record"), f"{path}.age_at_record")) is not None:
        ages = (
            float(c.number(pair[0], f"{path}.age_at_record[0]", 0, 110)),
            float(c.number(pair[1], f"{path}.age_at_record[1]", 0, 120)),
        )
        if ages[1] <= ages[0]:
            c.fail(f"{path}.age_at_record", "the maximum age must be above the minimum")
    counts = c.shares(d.get("records_per_person"), f"{path}.records_per_person", None,
                      int_keys=True)
    corruption: dict[str, float] = {}
    raw_corruption = c.section(d.get("corruption", {}), f"{path}.corruption",
                               tuple(CORRUPTION_KINDS))
    for key, value in raw_corruption.items():
        if key not in CORRUPTION_KINDS:
            continue
        if key in NOT_APPLICABLE[kind]:
            c.fail(f"{path}.corruption.{key}", f"{kind} records have no field this applies to")
            continue
        corruption[key] = c.rate(value, f"{path}.corruption.{key}")
    missing: dict[str, float] = {}
    raw_missing = c.section(d.get("missing", {}), f"{path}.missing", MISSING_FIELDS[kind])
    for key, value in raw_missing.items():
        if key in MISSING_FIELDS[kind]:
            missing[key] = c.rate(value, f"{path}.missing.{key}")
    options: dict[str, Any] = {}
    for key in KIND_KEYS[kind]:
        where = f"{path}.{key}"
        value = d.get(key)
        if key in ("new_local_id", "zip_plus4", "aka_listed"):
            options[key] = c.rate(value, where)
        elif key == "reasons":
            options[key] = c.shares(value, where, HEALTHCARE_REASONS)
        elif key == "report_types":
            options[key] = c.shares(value, where, REPORT_TYPES)
        elif key == "roles":
            options[key] = c.shares(value, where, ROLES)
        elif key == "case_size":
            options[key] = c.shares(value, where, None, int_keys=True)
    return AgencySpec(
        kind=kind,
        window=window,
        age_at_record=ages,
        records_per_person=counts,
        diacritics=c.rate(d.get("diacritics"), f"{path}.diacritics"),
        native_script=c.rate(d.get("native_script"), f"{path}.native_script"),
        corruption=corruption,
        missing=missing,
        options=options,
    )


def _merge(base: Any, override: Any, key: str | None = None) -> Any:
    if key in DISTRIBUTION_KEYS or not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    out = copy.deepcopy(base)
    for k, v in override.items():
        out[k] = _merge(base[k], v, str(k)) if k in base else copy.deepcopy(v)
    return out


def resolve(data: dict[str, Any]) -> dict[str, Any]:
    """A scenario file's data with every left-out key taken from the defaults."""
    out = {k: v for k, v in _merge(DEFAULT_SCENARIO, data).items() if k != "agencies"}
    agencies = data.get("agencies", DEFAULT_SCENARIO["agencies"])
    if isinstance(agencies, dict):
        out["agencies"] = {
            kind: _merge(DEFAULT_SCENARIO["agencies"][kind], spec or {})
            if kind in AGENCY_KINDS
            else spec
            for kind, spec in agencies.items()
        }
        weights_given = isinstance(data.get("membership"), dict) and (
            "agency_weights" in data["membership"]
        )
        membership = out.get("membership")
        if not weights_given and isinstance(membership, dict):
            weights = membership.get("agency_weights")
            if isinstance(weights, dict):
                membership["agency_weights"] = {
                    k: v for k, v in weights.items() if k in out["agencies"]
                }
                total = sum(membership["agency_weights"].values())
                if total > 0:
                    membership["agency_weights"] = {
                        k: v / total for k, v in membership["agency_weights"].items()
                    }
    else:
        out["agencies"] = agencies
    return out


def _build(data: dict[str, Any], source: str | None) -> Scenario:
    c = _Checker()
    top = c.section(data, "", ("name", "reference_date", "population", "membership", "agencies"))
    name = top.get("name")
    if not isinstance(name, str) or not name.strip():
        c.fail("name", "must be a non-empty text")
        name = "scenario"
    reference = c.date(top.get("reference_date"), "reference_date")
    population = _population(c, top.get("population"))
    agencies: dict[str, AgencySpec] = {}
    raw_agencies = c.section(top.get("agencies"), "agencies", AGENCY_KINDS)
    if isinstance(top.get("agencies"), dict) and not raw_agencies:
        c.fail("agencies", "list at least one agency")
    for kind in AGENCY_KINDS:
        if kind in raw_agencies:
            agencies[kind] = _agency(c, kind, raw_agencies[kind], reference)
    m = c.section(
        top.get("membership"), "membership", ("agencies_per_person", "agency_weights"),
        DEFAULT_SCENARIO["membership"],
    )
    per_person = c.shares(m.get("agencies_per_person"), "membership.agencies_per_person", None,
                          int_keys=True)
    too_many = [k for k in per_person if k > len(agencies)]
    if agencies and too_many:
        c.fail(
            "membership.agencies_per_person",
            f"{max(too_many)} agencies per person, but the scenario has only {len(agencies)}",
        )
    weights: dict[Any, float] = {}
    if agencies:
        weights = c.shares(m.get("agency_weights"), "membership.agency_weights", tuple(agencies))
    for kind in agencies:
        if weights and weights.get(kind, 0.0) <= 0.0:
            c.fail(f"membership.agency_weights.{kind}", "every agency needs a weight above 0")
    if c.problems:
        raise ScenarioError(c.problems, source)
    resolved = copy.deepcopy(data)
    resolved["reference_date"] = reference.isoformat()
    return Scenario(
        name=name,
        reference_date=reference,
        population=population,
        membership=MembershipSpec(agencies_per_person=per_person, agency_weights=weights),
        agencies=agencies,
        resolved=resolved,
    )


def scenario_from_dict(data: dict[str, Any], source: str | None = None) -> Scenario:
    """Check a scenario given as data (left-out keys take the defaults)."""
    if not isinstance(data, dict):
        raise ScenarioError(["the scenario must be a mapping (key: value lines)"], source)
    return _build(resolve(data), source)


def default_scenario() -> Scenario:
    """The built-in default scenario (the same as ``synthetic/default.yaml``)."""
    return scenario_from_dict({}, "(built-in default)")


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario YAML file; raises :class:`ScenarioError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(["does not exist"], str(p), file_problem=True) from None
    except IsADirectoryError:
        raise ScenarioError(["is a folder, not a file"], str(p), file_problem=True) from None
    except (OSError, UnicodeDecodeError):
        raise ScenarioError(
            ["cannot be read as UTF-8 text"], str(p), file_problem=True
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ScenarioError([f"is not valid YAML{where}"], str(p), file_problem=True) from None
    if data is None:
        data = {}
    return scenario_from_dict(data, str(p))
