"""How an agency's own columns feed the schema's features.

No two agencies name their columns alike, so each agency says, once, which of
its columns holds each feature -- on the command line (``--map given_name=FIRST``)
or in a YAML file::

    id_column: patient_id          # the agency's own record id (kept at the agency)
    date_order: MDY                # how to read ambiguous dates such as 03/04/1990
    consent_column: consent_share  # optional: rows without consent are kept out entirely
    columns:
      given_name: first_name
      surname: last_name
      dob: birth_date
    absent: [phone]                # features this agency does not hold at all

An agency that keeps the whole name in one column maps both name features to
it and says how the name is written::

    columns:
      given_name: {column: child_name, part: given, name_format: last_comma_first}
      surname:    {column: child_name, part: surname, name_format: last_comma_first}

``last_comma_first`` reads "Garcia Lopez, Maria Elena" (surname before the
comma); ``first_last`` reads "MARIA GARCIA LOPEZ" (the first word is the given
name, the rest the surname).  A value that does not fit the format becomes
missing and is counted (reason ``name_format_mismatch``), never guessed.

Every hashed feature must be mapped or declared absent: nothing is dropped by
accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from htlink.errors import InputDataError
from htlink.schema.model import LinkageSchema

DATE_ORDERS = ("MDY", "DMY", "YMD")
NAME_PARTS = ("given", "surname")
NAME_FORMATS = ("last_comma_first", "first_last")


@dataclass(frozen=True)
class ColumnSpec:
    """Where a feature's values come from: a column, or one part of a full-name column."""

    column: str
    part: str | None = None  # "given" | "surname"
    name_format: str | None = None  # "last_comma_first" | "first_last"


@dataclass
class ColumnMapping:
    columns: dict[str, ColumnSpec] = field(default_factory=dict)  # feature -> source
    absent: set[str] = field(default_factory=set)
    id_column: str | None = None
    consent_column: str | None = None
    date_order: str | None = None

    def merged(self, other: ColumnMapping) -> ColumnMapping:
        """``other`` (the command line) overrides this (the file)."""
        return ColumnMapping(
            columns={**self.columns, **other.columns},
            absent=(self.absent | other.absent) - set(other.columns),
            id_column=other.id_column or self.id_column,
            consent_column=other.consent_column or self.consent_column,
            date_order=other.date_order or self.date_order,
        )


def parse_map_options(items: list[str]) -> dict[str, ColumnSpec]:
    """``FEATURE=COLUMN`` strings from the command line."""
    out: dict[str, ColumnSpec] = {}
    for item in items:
        feature, sep, column = item.partition("=")
        if not sep or not feature.strip() or not column.strip():
            raise InputDataError(
                f"--map {item!r} is not of the form FEATURE=COLUMN.",
                "For example: --map given_name=FirstName (repeat --map once per feature).",
            )
        out[feature.strip()] = ColumnSpec(column.strip())
    return out


def _column_spec(feature: str, entry: Any, source: Path) -> ColumnSpec:
    if isinstance(entry, str):
        return ColumnSpec(entry)
    if not isinstance(entry, dict) or not isinstance(entry.get("column"), str):
        raise InputDataError(
            f"In {source}, columns.{feature} must be a column name or "
            "{column: NAME, part: given|surname, name_format: last_comma_first|first_last}."
        )
    unknown = sorted(set(entry) - {"column", "part", "name_format"})
    if unknown:
        raise InputDataError(
            f"In {source}, columns.{feature} has unknown keys: {', '.join(unknown)}."
        )
    part, fmt = entry.get("part"), entry.get("name_format")
    if (part is None) != (fmt is None):
        raise InputDataError(
            f"In {source}, columns.{feature} needs both part and name_format, or neither."
        )
    if part is not None and part not in NAME_PARTS:
        raise InputDataError(f"In {source}, columns.{feature}.part must be given or surname.")
    if fmt is not None and fmt not in NAME_FORMATS:
        raise InputDataError(
            f"In {source}, columns.{feature}.name_format must be last_comma_first or first_last."
        )
    return ColumnSpec(entry["column"], part, fmt)


def load_mapping_file(path: str | Path) -> ColumnMapping:
    p = Path(path)
    try:
        data: Any = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputDataError(f"The mapping file {p} does not exist.") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" at line {line + 1}" if line is not None else ""
        raise InputDataError(f"The mapping file {p} is not valid YAML{where}.") from None
    if not isinstance(data, dict):
        raise InputDataError(f"The mapping file {p} must be a YAML mapping (key: value lines).")
    allowed = {"columns", "absent", "id_column", "consent_column", "date_order"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InputDataError(
            f"The mapping file {p} has unknown keys: {', '.join(unknown)}.",
            f"Allowed keys: {', '.join(sorted(allowed))}.",
        )
    columns = data.get("columns") or {}
    if not isinstance(columns, dict) or not all(isinstance(k, str) for k in columns):
        raise InputDataError(f"In {p}, 'columns' must map feature names to column names.")
    absent = data.get("absent") or []
    if not isinstance(absent, list) or not all(isinstance(a, str) for a in absent):
        raise InputDataError(f"In {p}, 'absent' must be a list of feature names.")
    return ColumnMapping(
        columns={f: _column_spec(f, entry, p) for f, entry in columns.items()},
        absent=set(absent),
        id_column=data.get("id_column"),
        consent_column=data.get("consent_column"),
        date_order=data.get("date_order"),
    )


def check_mapping(mapping: ColumnMapping, schema: LinkageSchema, header: list[str]) -> None:
    """Refuse a mapping that leaves a feature unaccounted for or names a missing column."""
    hashed = [f.identifier for f in schema.hashed_features]
    unknown = sorted(set(mapping.columns) - {f.identifier for f in schema.features})
    if unknown:
        raise InputDataError(
            f"--map names features the schema does not have: {', '.join(unknown)}.",
            f"The schema's features are: {', '.join(hashed)}.",
        )
    both = sorted(set(mapping.columns) & mapping.absent)
    if both:
        raise InputDataError(f"Features both mapped and declared absent: {', '.join(both)}.")
    unmapped = [f for f in hashed if f not in mapping.columns and f not in mapping.absent]
    if unmapped:
        raise InputDataError(
            f"No column is mapped to the feature{'s' if len(unmapped) > 1 else ''} "
            f"{', '.join(unmapped)}.",
            "Add --map FEATURE=COLUMN for each (or list it under 'columns' in the mapping "
            "file); if your agency does not hold that feature at all, declare it with "
            "--absent FEATURE.",
        )
    needed = {f: spec.column for f, spec in mapping.columns.items()}
    if mapping.id_column:
        needed["(id column)"] = mapping.id_column
    if mapping.consent_column:
        needed["(consent column)"] = mapping.consent_column
    missing = [(f, c) for f, c in needed.items() if c not in header]
    if missing:
        listing = ", ".join(f"{c!r} (for {f})" for f, c in missing)
        raise InputDataError(
            f"The input has no column {listing}.",
            f"The input's columns are: {', '.join(header)}. Fix the --map / --id-column "
            "options or the mapping file.",
        )
    for feature, spec in mapping.columns.items():
        if spec.part is not None and schema.feature(feature).hashing is None:
            raise InputDataError(f"The feature {feature} is ignored by the schema; do not map it.")
    if mapping.date_order is not None and mapping.date_order not in DATE_ORDERS:
        raise InputDataError(
            f"date order {mapping.date_order!r} is not one of {', '.join(DATE_ORDERS)}.",
            "MDY reads 03/04/1990 as March 4th (US); DMY reads it as 3 April.",
        )


def split_full_names(
    values: list[str | None], part: str, name_format: str
) -> tuple[list[str | None], int]:
    """One part of full names written in ``name_format``; and how many did not fit it."""
    out: list[str | None] = []
    mismatched = 0
    for value in values:
        text = (value or "").strip()
        if not text:
            out.append(None)
            continue
        if name_format == "last_comma_first":
            surname, comma, given = text.partition(",")
            if not comma or not surname.strip() or not given.strip():
                out.append(None)
                mismatched += 1
                continue
            out.append(given.strip() if part == "given" else surname.strip())
        else:
            words = text.split()
            if len(words) < 2:
                out.append(None)
                mismatched += 1
                continue
            out.append(words[0] if part == "given" else " ".join(words[1:]))
    return out, mismatched
