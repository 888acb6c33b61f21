"""``htlink payload export`` as a library call (agency side).

The agency joins its own file to its links through its private row-token map::

    DATA.csv row --(record id)--> row-tokens.csv --(row token)--> LINKS.csv --> pseudonym

and writes the chosen attribute columns, keyed by pseudonym, encrypted to the
release officer (:mod:`htlink.release.payload`).  Identifier columns (names,
dates, addresses, ZIP codes, phone numbers, record numbers: see
:data:`htlink.release.policy.IDENTIFIER_PATTERNS`, plus a policy's own
patterns) are refused unless exported in a coarsened form::

    --coarsen DOB=year          DOB_year        (also month, quarter)
    --coarsen DOB=age@VisitDate DOB_age         whole years from DOB to VisitDate
    --coarsen ZIP=zip3          ZIP_zip3

Records the links file does not cover (e.g. kept out for lack of consent when
encoding) are not exported; the result says how many.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from htlink.errors import HtlinkError, InputDataError
from htlink.normalize.dates import parse_date
from htlink.release.keys import key_id, load_release_public_key
from htlink.release.payload import write_payload
from htlink.release.policy import IDENTIFIER_PATTERNS, is_identifier_column

DATE_FORMS = ("year", "quarter", "month")
FORMS = (*DATE_FORMS, "zip3", "age@COLUMN")


@dataclass
class ExportRequest:
    links: Path
    tokens: Path
    input: Path
    columns: list[str]
    release_key: Path
    out: Path
    coarsen: dict[str, str] = field(default_factory=dict)
    agency: str | None = None
    id_column: str | None = None
    date_order: str | None = None
    identifier_patterns: list[str] = field(default_factory=lambda: list(IDENTIFIER_PATTERNS))
    overwrite: bool = False


@dataclass
class ExportResult:
    out: Path
    agency: str
    rows: int
    people: int
    records_unlinked: int
    columns: list[str]
    recipient_key_id: str


def parse_coarsen(options: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for opt in options:
        column, sep, form = opt.partition("=")
        form = form.strip()
        if (
            not sep
            or not column.strip()
            or not (form in ("year", "quarter", "month", "zip3") or re.fullmatch(r"age@.+", form))
        ):
            raise HtlinkError(
                f"--coarsen {opt!r} is not COLUMN=FORM.",
                f"FORM is one of {', '.join(FORMS)}; e.g. --coarsen DOB=year.",
            )
        out[column.strip()] = form
    return out


def _read_csv(path: Path, what: str, needed: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise InputDataError(f"The {what} {path} does not exist.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError):
        raise InputDataError(f"The {what} {path} is not a readable CSV file.") from None
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputDataError(
            f"The {what} {path.name} lacks the columns {', '.join(missing)}.",
            f"Pass the {what} htlink wrote ({', '.join(needed)}).",
        )
    return frame


def _read_input(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputDataError(f"The input file {path} does not exist.")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path).astype("string").astype(object)
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (ValueError, UnicodeDecodeError, OSError):
        raise InputDataError(
            f"The input file {path} cannot be read as CSV or Parquet.",
            "Pass the same extract you encoded (UTF-8 CSV or Parquet).",
        ) from None


def _dates(values: pd.Series, order: str | None, column: str) -> list[date | None]:
    try:
        return [parse_date(v, order) for v in values.tolist()]
    except HtlinkError as exc:
        raise InputDataError(f"Column {column}: {exc.message}", exc.hint) from None


def _coarsened(frame: pd.DataFrame, column: str, form: str, order: str | None) -> pd.Series:
    if form == "zip3":
        digits = frame[column].astype("string").str.extract(r"^\s*(\d{3,5})", expand=False)
        digits = digits.where(digits.str.len() != 4, "0" + digits)
        return digits.str[:3].astype(object)
    dates = _dates(frame[column], order, column)
    if form.startswith("age@"):
        other = form[4:]
        if other not in frame.columns:
            raise InputDataError(
                f"--coarsen {column}={form}: the input has no column {other!r}.",
                "Name the date the age is measured at, e.g. DOB=age@VisitDate.",
            )
        at = _dates(frame[other], order, other)
        ages = []
        for born, when in zip(dates, at, strict=True):
            if born is None or when is None or when < born:
                ages.append(None)
            else:
                ages.append(
                    str(when.year - born.year - ((when.month, when.day) < (born.month, born.day)))
                )
        return pd.Series(ages, index=frame.index, dtype=object)
    out = []
    for d in dates:
        if d is None:
            out.append(None)
        elif form == "year":
            out.append(f"{d.year:04d}")
        elif form == "month":
            out.append(f"{d.year:04d}-{d.month:02d}")
        else:
            out.append(f"{d.year:04d}-Q{(d.month - 1) // 3 + 1}")
    return pd.Series(out, index=frame.index, dtype=object)


def export_payload(req: ExportRequest) -> ExportResult:
    """Build and encrypt the payload; raise :class:`HtlinkError` (writing nothing) on bad input."""
    if req.out.exists() and not req.overwrite:
        raise HtlinkError(
            f"{req.out} already exists.", "Choose another --out file, or pass --force."
        )
    recipient = load_release_public_key(req.release_key)
    agency = req.agency or (
        req.links.name[: -len(".links.csv")] if req.links.name.endswith(".links.csv") else None
    )
    if not agency:
        raise HtlinkError(
            "Cannot tell the agency from the links file name.",
            "Pass --agency NAME (the name you encoded with).",
        )
    tokens = _read_csv(req.tokens, "row-token map", ["row_token", "record_id"])
    links = _read_csv(req.links, "links file", ["row_token", "pseudonym"])
    known = set(tokens["row_token"])
    unknown = int((~links["row_token"].isin(known)).sum())
    if unknown:
        raise InputDataError(
            f"{unknown} of {len(links)} rows of {req.links.name} have a row token that "
            f"{req.tokens.name} does not hold"
            + (
                " (none match: another agency's links, or another encode run)."
                if unknown == len(links)
                else "."
            ),
            "Pass your own <agency>.links.csv from the hub and the row-tokens.csv of the "
            "encode run you submitted.",
        )
    data = _read_input(req.input)
    problems = []
    wanted = list(dict.fromkeys(req.columns))
    if not wanted:
        problems.append("no --columns given")
    for col in [*wanted, *req.coarsen]:
        if col not in data.columns:
            problems.append(f"the input has no column {col!r}")
    for col in req.coarsen:
        if col not in wanted:
            problems.append(f"--coarsen {col}: add {col} to --columns too")
    for col in wanted:
        if (
            col in data.columns
            and col not in req.coarsen
            and is_identifier_column(col, req.identifier_patterns)
        ):
            problems.append(
                f"{col!r} looks like an identifier (name, date, address, ZIP, phone or record "
                "number) and is refused unless coarsened, e.g. --coarsen "
                f"{col}=year for a date or {col}=zip3 for a ZIP code"
            )
    if req.id_column and req.id_column not in data.columns:
        problems.append(f"the input has no id column {req.id_column!r}")
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise InputDataError(
            f"The payload cannot be exported:\n{lines}",
            "Fix --columns/--coarsen; only attribute columns (and coarsened identifiers) may "
            "leave the agency.",
        )
    if req.id_column:
        ids = data[req.id_column].fillna("").astype(str)
    else:
        ids = pd.Series([str(i + 1) for i in range(len(data))], index=data.index)
    if ids.duplicated().any():
        raise InputDataError(
            f"The id column {req.id_column} has {int(ids.duplicated().sum())} repeated values, "
            "so rows cannot be matched to row tokens one to one.",
            "Use the --id-column you encoded with (a unique record id).",
        )
    token_of = tokens.drop_duplicates("record_id").set_index("record_id")["row_token"]
    pseudonym_of = links.drop_duplicates("row_token").set_index("row_token")["pseudonym"]
    pseudonyms = ids.map(token_of).map(pseudonym_of)
    linked = pseudonyms.notna() & (pseudonyms != "")
    out = pd.DataFrame({"pseudonym": pseudonyms[linked].astype(str)})
    names = []
    for col in wanted:
        if col in req.coarsen:
            form = req.coarsen[col]
            name = f"{col}_{'age' if form.startswith('age@') else form}"
            out[name] = _coarsened(data, col, form, req.date_order)[linked]
        else:
            name = col
            out[name] = data.loc[linked, col]
        names.append(name)
    out = out.sort_values("pseudonym", kind="stable").reset_index(drop=True)
    write_payload(
        req.out,
        out,
        {"agency": agency, "created": pd.Timestamp.now("UTC").isoformat(timespec="seconds")},
        recipient,
    )
    return ExportResult(
        out=req.out,
        agency=agency,
        rows=len(out),
        people=int(out["pseudonym"].nunique()),
        records_unlinked=int((~linked).sum()),
        columns=names,
        recipient_key_id=key_id(recipient),
    )
