"""The release policy (YAML): what is released, and the rules it must pass.

Every problem in a policy file is listed at once (``PolicyError.problems``), so
a release officer fixes a policy in one pass.  ``docs/release-officer-guide.md``
explains each key; the shipped policies are in ``configs/release/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from htlink.errors import HtlinkError
from htlink.release.hierarchies import NONE_HIERARCHY, Hierarchy, build_hierarchy

TAKES = ("first", "min", "max", "mode", "count", "any")
#: Column names that are identifiers: refused in payloads unless coarsened.
IDENTIFIER_PATTERNS = (
    r"name", r"first", r"last", r"surname", r"given", r"middle", r"aka", r"alias",
    r"dob", r"birth", r"date", r"address", r"street", r"addr", r"city", r"zip", r"postal",
    r"postcode", r"phone", r"mobile", r"fax", r"e-?mail", r"ssn", r"social.?security",
    r"mrn", r"medical.?record", r"license", r"passport", r"ip.?addr", r"url",
    r"account", r"\bid\b", r"_id$", r"^id", r"id$", r"case.?n", r"record.?id",
)  # fmt: skip


class PolicyError(HtlinkError):
    """The release policy is not valid; ``problems`` lists each offending key."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        where = f" ({source})" if source else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"The release policy{where} is not valid:\n{lines}",
            "Fix the keys listed above; docs/release-officer-guide.md explains each one.",
        )
        self.problems = problems


@dataclass
class Attribute:
    """One column of the person-level table, made from payload columns."""

    name: str
    sources: list[tuple[str, str]]  # (agency, column), in order of preference
    take: str = "first"


@dataclass
class TableDim:
    column: str
    hierarchy: Hierarchy
    levels: list[int]  # leaf level first, then coarser subtotal levels


@dataclass
class TableSpec:
    name: str
    dimensions: list[TableDim]
    measure: str | None = None  # None: counts of people; else the attribute summed


@dataclass
class SuppressionRules:
    threshold_min: int = 1
    threshold_max: int = 10
    zeros_suppressed: bool = False
    dominance_n: int | None = None
    dominance_k: float | None = None
    protection_width: float = 1.0
    protection_percent: float = 0.0
    max_rounds: int = 60


@dataclass
class Policy:
    name: str
    description: str
    attributes: list[Attribute]
    presence_flags: bool
    hierarchies: dict[str, Hierarchy]
    microdata: bool
    k: int
    l_diversity: int | None
    sensitive: list[str]
    quasi_identifiers: dict[str, Hierarchy]
    extract_columns: list[str]
    max_suppression: float
    max_exact_nodes: int
    tables: list[TableSpec]
    suppression: SuppressionRules
    identifier_patterns: list[str]
    raw: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    def attribute_names(self, agencies: list[str]) -> list[str]:
        names = [a.name for a in self.attributes]
        if self.presence_flags:
            names += [f"in_{a}" for a in agencies]
        return names


def _int(value: Any, where: str, problems: list[str], *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        problems.append(f"{where} must be a whole number of at least {minimum}.")
        return minimum
    return value


def _num(value: Any, where: str, problems: list[str], lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        problems.append(f"{where} must be a number from {lo} to {hi}.")
        return lo
    return float(value)


def _known(keys: set[str], allowed: set[str], where: str, problems: list[str]) -> None:
    for k in sorted(keys - allowed):
        problems.append(f"{where}: unknown key {k!r} (allowed: {', '.join(sorted(allowed))}).")


def _attributes(raw: Any, problems: list[str]) -> list[Attribute]:
    attrs: list[Attribute] = []
    if not isinstance(raw, dict) or not raw:
        problems.append("people.attributes must map attribute names to {from: AGENCY.COLUMN}.")
        return attrs
    for name, spec in raw.items():
        where = f"people.attributes.{name}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(name)):
            problems.append(f"{where}: attribute names are letters, digits and _.")
        if isinstance(spec, str):
            spec = {"from": spec}
        if not isinstance(spec, dict):
            problems.append(f"{where} must be {{from: AGENCY.COLUMN, take: first}}.")
            continue
        _known(set(spec), {"from", "take"}, where, problems)
        sources_raw = spec.get("from")
        sources_list = sources_raw if isinstance(sources_raw, list) else [sources_raw]
        sources: list[tuple[str, str]] = []
        for s in sources_list:
            if not isinstance(s, str) or "." not in s:
                problems.append(f"{where}.from: {s!r} must be AGENCY.COLUMN.")
                continue
            agency, column = s.split(".", 1)
            sources.append((agency, column))
        take = spec.get("take", "first")
        if take not in TAKES:
            problems.append(f"{where}.take must be one of {', '.join(TAKES)}.")
        attrs.append(Attribute(name=str(name), sources=sources, take=str(take)))
    return attrs


def _hier_ref(
    name: Any, hierarchies: dict[str, Hierarchy], where: str, problems: list[str]
) -> Hierarchy:
    if name in (None, "none"):
        return NONE_HIERARCHY
    if name not in hierarchies:
        problems.append(f"{where}: hierarchy {name!r} is not declared under hierarchies.")
        return NONE_HIERARCHY
    return hierarchies[name]


def _tables(raw: Any, hierarchies: dict[str, Hierarchy], problems: list[str]) -> list[TableSpec]:
    tables: list[TableSpec] = []
    if raw is None:
        return tables
    if not isinstance(raw, list):
        problems.append("tables must be a list of {name, dimensions}.")
        return tables
    seen: set[str] = set()
    for i, spec in enumerate(raw):
        where = f"tables[{i}]"
        if not isinstance(spec, dict):
            problems.append(f"{where} must be {{name, dimensions}}.")
            continue
        _known(set(spec), {"name", "dimensions", "measure"}, where, problems)
        name = str(spec.get("name", ""))
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            problems.append(f"{where}.name must be letters, digits, - and _ (a file name).")
        elif name in seen:
            problems.append(f"{where}.name {name!r} is used twice.")
        seen.add(name)
        dims_raw = spec.get("dimensions")
        if not isinstance(dims_raw, list) or not dims_raw:
            problems.append(f"{where}.dimensions must be a non-empty list.")
            continue
        dims: list[TableDim] = []
        for j, d in enumerate(dims_raw):
            dwhere = f"{where}.dimensions[{j}]"
            if isinstance(d, str):
                d = {"column": d}
            if not isinstance(d, dict) or "column" not in d:
                problems.append(f"{dwhere} must be a column name or {{column, hierarchy, levels}}.")
                continue
            _known(set(d), {"column", "hierarchy", "levels"}, dwhere, problems)
            h = _hier_ref(d.get("hierarchy"), hierarchies, dwhere, problems)
            levels_raw = d.get("levels", [0])
            levels: list[int] = []
            for lv in levels_raw if isinstance(levels_raw, list) else [levels_raw]:
                try:
                    idx = h.level_index(lv)
                except KeyError:
                    problems.append(f"{dwhere}.levels: {lv!r} is not a level of {h.name}.")
                    continue
                if not 0 <= idx < h.height:
                    problems.append(f"{dwhere}.levels: {lv!r} is not a level of {h.name}.")
                    continue
                levels.append(idx)
            if levels != sorted(set(levels)):
                problems.append(f"{dwhere}.levels must go from fine to coarse, each once.")
            dims.append(TableDim(column=str(d["column"]), hierarchy=h, levels=levels or [0]))
        if len({d.column for d in dims}) != len(dims):
            problems.append(f"{where}.dimensions name a column twice.")
        measure = spec.get("measure", "count")
        if isinstance(measure, dict) and set(measure) == {"sum"}:
            measure_name: str | None = str(measure["sum"])
        elif measure == "count":
            measure_name = None
        else:
            problems.append(f"{where}.measure must be count or {{sum: ATTRIBUTE}}.")
            measure_name = None
        tables.append(TableSpec(name=name, dimensions=dims, measure=measure_name))
    return tables


def _suppression(raw: Any, problems: list[str]) -> SuppressionRules:
    rules = SuppressionRules()
    if raw is None:
        return rules
    if not isinstance(raw, dict):
        problems.append("suppression must be a mapping.")
        return rules
    _known(
        set(raw), {"threshold", "dominance", "protection", "max_rounds"}, "suppression", problems
    )
    t = raw.get("threshold", {})
    if isinstance(t, dict):
        _known(set(t), {"min", "max", "zeros"}, "suppression.threshold", problems)
        rules.threshold_min = _int(t.get("min", 1), "suppression.threshold.min", problems)
        rules.threshold_max = _int(t.get("max", 10), "suppression.threshold.max", problems)
        if rules.threshold_min > rules.threshold_max:
            problems.append("suppression.threshold.min must not exceed max.")
        zeros = t.get("zeros", "allowed")
        if zeros not in ("allowed", "suppressed"):
            problems.append("suppression.threshold.zeros must be allowed or suppressed.")
        rules.zeros_suppressed = zeros == "suppressed"
    else:
        problems.append("suppression.threshold must be {min, max, zeros}.")
    d = raw.get("dominance")
    if d is not None:
        if isinstance(d, dict):
            rules.dominance_n = _int(d.get("n"), "suppression.dominance.n", problems, minimum=1)
            rules.dominance_k = _num(d.get("k"), "suppression.dominance.k", problems, 1, 100)
        else:
            problems.append("suppression.dominance must be {n, k} (e.g. n: 1, k: 85).")
    p = raw.get("protection", {})
    if isinstance(p, dict):
        _known(set(p), {"width", "percent"}, "suppression.protection", problems)
        rules.protection_width = _num(
            p.get("width", 1), "suppression.protection.width", problems, 0, 1e12
        )
        rules.protection_percent = _num(
            p.get("percent", 0), "suppression.protection.percent", problems, 0, 1000
        )
        if rules.protection_width <= 0 and rules.protection_percent <= 0:
            problems.append("suppression.protection needs a width or a percent above 0.")
    else:
        problems.append("suppression.protection must be {width, percent}.")
    rules.max_rounds = _int(
        raw.get("max_rounds", 60), "suppression.max_rounds", problems, minimum=1
    )
    return rules


def parse_policy(raw: Any, source: str | None = None) -> Policy:
    """Validate a parsed policy document; raise :class:`PolicyError` listing every problem."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise PolicyError(["the file must hold a YAML mapping."], source)
    _known(
        set(raw),
        {"version", "name", "description", "people", "hierarchies", "microdata", "tables",
         "suppression", "payload"},
        "policy", problems,
    )  # fmt: skip
    if raw.get("version") != 1:
        problems.append("version must be 1.")
    name = str(raw.get("name", ""))
    if not name:
        problems.append("name is required.")
    people = raw.get("people") or {}
    if not isinstance(people, dict):
        problems.append("people must be a mapping with attributes.")
        people = {}
    _known(set(people), {"attributes", "presence_flags"}, "people", problems)
    attributes = _attributes(people.get("attributes"), problems)
    presence = bool(people.get("presence_flags", True))

    hierarchies: dict[str, Hierarchy] = {}
    h_raw = raw.get("hierarchies") or {}
    if not isinstance(h_raw, dict):
        problems.append("hierarchies must map names to {type: ...}.")
        h_raw = {}
    for h_name, h_spec in h_raw.items():
        if not isinstance(h_spec, dict):
            problems.append(f"hierarchies.{h_name} must be a mapping with a type.")
            continue
        h, h_problems = build_hierarchy(str(h_name), h_spec)
        problems.extend(h_problems)
        if h is not None:
            hierarchies[str(h_name)] = h

    m = raw.get("microdata") or {"enabled": False}
    if not isinstance(m, dict):
        problems.append("microdata must be a mapping (enabled: false for aggregates only).")
        m = {"enabled": False}
    _known(
        set(m),
        {"enabled", "k", "l_diversity", "sensitive", "quasi_identifiers", "columns",
         "max_suppression", "max_exact_nodes"},
        "microdata", problems,
    )  # fmt: skip
    enabled = bool(m.get("enabled", True))
    k = _int(m.get("k", 5), "microdata.k", problems, minimum=2) if enabled else 0
    l_div = m.get("l_diversity")
    if l_div is not None:
        l_div = _int(l_div, "microdata.l_diversity", problems, minimum=2)
    sensitive = [str(s) for s in m.get("sensitive", []) or []]
    if l_div is not None and not sensitive:
        problems.append("microdata.l_diversity needs microdata.sensitive columns.")
    qis: dict[str, Hierarchy] = {}
    q_raw = m.get("quasi_identifiers", {}) or {}
    if not isinstance(q_raw, dict):
        problems.append("microdata.quasi_identifiers must map attributes to hierarchies.")
        q_raw = {}
    for q, h_name in q_raw.items():
        qis[str(q)] = _hier_ref(h_name, hierarchies, f"microdata.quasi_identifiers.{q}", problems)
    if enabled and not qis:
        problems.append("microdata.quasi_identifiers must name at least one attribute.")
    columns = [str(c) for c in m.get("columns", []) or []]
    for c in columns:
        if c not in qis and c not in sensitive:
            problems.append(
                f"microdata.columns: {c!r} is neither a quasi-identifier nor sensitive; every "
                "released column must be one or the other."
            )
    if enabled and not columns:
        columns = [*qis, *[s for s in sensitive if s not in qis]]
    for s in sensitive:
        if s in qis:
            problems.append(f"microdata.sensitive: {s!r} is also a quasi-identifier.")
    max_supp = (
        _num(m.get("max_suppression", 0.05), "microdata.max_suppression", problems, 0, 1)
        if enabled
        else 0.0
    )
    max_exact = _int(
        m.get("max_exact_nodes", 2000), "microdata.max_exact_nodes", problems, minimum=1
    )

    tables = _tables(raw.get("tables"), hierarchies, problems)
    if not enabled and not tables:
        problems.append("the policy releases nothing: no microdata and no tables.")
    suppression = _suppression(raw.get("suppression"), problems)

    known = {a.name for a in attributes}
    flag_ok = presence
    for where, names in (
        ("microdata.quasi_identifiers", list(qis)),
        ("microdata.sensitive", sensitive),
        *[(f"tables.{t.name}.dimensions", [d.column for d in t.dimensions]) for t in tables],
        *[(f"tables.{t.name}.measure", [t.measure]) for t in tables if t.measure],
    ):
        for n in names:
            if n not in known and not (flag_ok and n.startswith("in_")):
                problems.append(f"{where}: {n!r} is not an attribute under people.attributes.")
    pay = raw.get("payload") or {}
    patterns = list(IDENTIFIER_PATTERNS)
    if isinstance(pay, dict):
        _known(set(pay), {"identifier_patterns"}, "payload", problems)
        extra = pay.get("identifier_patterns", []) or []
        for p in extra:
            try:
                re.compile(str(p))
            except re.error:
                problems.append(f"payload.identifier_patterns: {p!r} is not a regular expression.")
            else:
                patterns.append(str(p))
    else:
        problems.append("payload must be a mapping.")
    if problems:
        raise PolicyError(problems, source)
    return Policy(
        name=name,
        description=str(raw.get("description", "")).strip(),
        attributes=attributes,
        presence_flags=presence,
        hierarchies=hierarchies,
        microdata=enabled,
        k=k,
        l_diversity=l_div,
        sensitive=sensitive,
        quasi_identifiers=qis,
        extract_columns=columns,
        max_suppression=max_supp,
        max_exact_nodes=max_exact,
        tables=tables,
        suppression=suppression,
        identifier_patterns=patterns,
        raw=raw,
        source=source,
    )


def load_policy(path: str | Path) -> Policy:
    p = Path(path)
    if not p.is_file():
        raise HtlinkError(
            f"The release policy {p} does not exist.",
            "Pass one of configs/release/*.yaml or your own copy of one.",
        )
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise PolicyError([f"the file is not valid YAML{where}."], str(p)) from None
    return parse_policy(raw, str(p))


def is_identifier_column(column: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """Whether a column name looks like a direct identifier (name, DOB, address, phone, ids)."""
    folded = column.strip().lower()
    return any(re.search(p, folded) for p in patterns)
