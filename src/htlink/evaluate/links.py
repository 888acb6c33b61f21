"""The hub's links, turned into one predicted cluster per record.

The hub gives each agency a links file for its own row tokens:
``row_token,pseudonym,confidence``.  Only the agency can turn row tokens into
its record ids, through the private row-token map ``row-tokens.csv``
(``row_token,record_id,clkhash_index``, written by ``htlink encode``).  A links
file may instead carry ``record_id`` directly, and an ``agency`` column;
without one, the agency is the file name before ``.links.csv``.

Records with the same pseudonym -- in one agency or across agencies -- are
one predicted person.  Records absent from the links, or with an empty
pseudonym, were not linked: each is a cluster of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from htlink.errors import InputDataError
from htlink.evaluate._csv import line_numbers, read_string_table, require_nonempty
from htlink.evaluate.truth import Truth

LINKS_SUFFIX = ".links.csv"
LINK_COLUMNS = ("agency", "record_id", "pseudonym", "confidence")

#: A row-token map: a path to ``row-tokens.csv`` or a frame already read.
TokenSource = Path | str | pd.DataFrame

_TOKENS_HINT = (
    "Use the row-tokens.csv that the same `htlink encode` run wrote for the submission "
    "the hub linked (OUT/private/row-tokens.csv)."
)


def agency_from_path(path: Path | str) -> str:
    """The agency a links file is for: ``county-hospital.links.csv`` -> ``county-hospital``."""
    name = Path(path).name
    if name.lower().endswith(LINKS_SUFFIX):
        return name[: -len(LINKS_SUFFIX)]
    return Path(name).stem


def load_row_tokens(path: Path | str, agency: str | None = None) -> pd.DataFrame:
    """An agency's private row-token map: columns ``row_token, record_id`` (str)."""
    what = f"row-token map{f' for {agency}' if agency else ''}"
    frame = read_string_table(path, what=what, required=("row_token", "record_id"))
    require_nonempty(frame, ("row_token", "record_id"), Path(path), what)
    dup = frame.duplicated("row_token").to_numpy()
    if dup.any():
        raise InputDataError(
            f"{int(dup.sum())} row tokens appear twice in the {what} file {path} "
            f"(first repeat at {line_numbers(dup)}).",
            "A row-token map lists each token once. " + _TOKENS_HINT,
        )
    return frame.loc[:, ["row_token", "record_id"]]


def _token_map(source: TokenSource, agency: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        missing = {"row_token", "record_id"} - set(source.columns)
        if missing:
            raise InputDataError(
                f"The row-token map for {agency} has no column {', '.join(sorted(missing))}.",
                _TOKENS_HINT,
            )
        return source.loc[:, ["row_token", "record_id"]].astype(str)
    return load_row_tokens(source, agency)


def resolve_tokens(
    agency: pd.Series,
    tokens: pd.Series,
    maps: Mapping[str, TokenSource] | None,
    *,
    source: str,
) -> pd.Series:
    """Record ids for row tokens, through each agency's row-token map.

    Raises :class:`~htlink.errors.InputDataError` naming the agency (and the
    number of tokens) when a map is missing or does not know a token.
    """
    maps = dict(maps or {})
    agencies = agency.to_numpy(dtype=object)
    values = tokens.to_numpy(dtype=object)
    record_ids = np.full(len(values), "", dtype=object)
    for name in pd.unique(agencies):
        rows = agencies == name
        if name not in maps:
            raise InputDataError(
                f"{source} gives row tokens for agency {name}, but no row-token map was "
                f"given for {name}.",
                f"Add --tokens {name}=PATH/TO/row-tokens.csv (from {name}'s encode run).",
            )
        table = _token_map(maps[name], str(name))
        found = pd.Index(table["row_token"].to_numpy(dtype=object)).get_indexer(values[rows])
        unknown = found < 0
        if unknown.any():
            raise InputDataError(
                f"{int(unknown.sum())} row tokens of agency {name} in {source} are not in "
                f"its row-token map (first at {line_numbers(_expand(rows, unknown))}).",
                _TOKENS_HINT,
            )
        record_ids[rows] = table["record_id"].to_numpy(dtype=object)[found]
    return pd.Series(record_ids, index=tokens.index, dtype=object)


def _expand(rows: np.ndarray, sub: np.ndarray) -> np.ndarray:
    full = np.zeros(len(rows), dtype=bool)
    full[np.flatnonzero(rows)[sub]] = True
    return full


def load_links(path: Path | str, tokens: Mapping[str, TokenSource] | None = None) -> pd.DataFrame:
    """One links file as ``agency, record_id, pseudonym, confidence``.

    ``tokens`` maps agency names to row-token maps; it is needed only when the
    file gives row tokens instead of record ids.  ``confidence`` is NaN where
    the file has none; an empty pseudonym means "not linked".
    """
    path = Path(path)
    frame = read_string_table(
        path,
        what="links",
        required=(("record_id", "row_token"), "pseudonym"),
        optional=("agency", "confidence"),
    )
    if "agency" in frame.columns:
        require_nonempty(frame, ("agency",), path, "links")
        agency = frame["agency"]
    else:
        agency = pd.Series(agency_from_path(path), index=frame.index, dtype=object)
    if "record_id" in frame.columns:
        require_nonempty(frame, ("record_id",), path, "links")
        record_id = frame["record_id"]
    else:
        require_nonempty(frame, ("row_token",), path, "links")
        record_id = resolve_tokens(agency, frame["row_token"], tokens, source=f"links file {path}")
    if "confidence" in frame.columns:
        text = frame["confidence"]
        confidence = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = ((text != "") & ~confidence.between(0.0, 1.0)).to_numpy()
        if bad.any():
            raise InputDataError(
                f"{int(bad.sum())} rows of the links file {path} have a confidence that is "
                f"not a number between 0 and 1 (first at {line_numbers(bad)}).",
                "confidence must be a number from 0 to 1 (or empty).",
            )
    else:
        confidence = pd.Series(np.nan, index=frame.index)
    return pd.DataFrame(
        {
            "agency": agency.to_numpy(dtype=object),
            "record_id": record_id.to_numpy(dtype=object),
            "pseudonym": frame["pseudonym"].to_numpy(dtype=object),
            "confidence": confidence.to_numpy(dtype=float),
        }
    )


def combine_links(
    frames: Sequence[pd.DataFrame], sources: Sequence[str] | None = None
) -> pd.DataFrame:
    """Several links frames as one; a record listed twice is refused."""
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LINK_COLUMNS})
    combined = pd.concat([f.loc[:, list(LINK_COLUMNS)] for f in frames], ignore_index=True)
    dup = combined.duplicated(["agency", "record_id"]).to_numpy()
    if dup.any():
        agencies = sorted(set(combined.loc[dup, "agency"]))
        where = f" ({', '.join(sources)})" if sources else ""
        raise InputDataError(
            f"{int(dup.sum())} records of agency {', '.join(agencies)} are listed more than "
            f"once in the links{where}.",
            "Each record (row token) may appear once; pass each agency's links file once.",
        )
    return combined


def predicted_labels(truth: Truth, links: pd.DataFrame) -> np.ndarray:
    """The predicted cluster of every truth record (aligned with ``truth.table``).

    Records with the same non-empty pseudonym share a label; every other record
    gets a label of its own.  A link naming an agency or record the truth does
    not have is refused.
    """
    positions = check_known(truth, links, "the links")
    linked = (links["pseudonym"] != "").to_numpy()
    positions = positions[linked]
    codes, uniques = pd.factorize(links["pseudonym"].to_numpy(dtype=object)[linked])
    n = len(truth)
    labels = np.arange(len(uniques), len(uniques) + n, dtype=np.int64)  # singletons
    labels[positions] = codes
    return labels


def check_known(truth: Truth, links: pd.DataFrame, source: str) -> np.ndarray:
    """The truth positions of (agency, record_id) rows; refuses rows the truth lacks."""
    unknown_agencies = sorted(set(pd.unique(links["agency"])) - set(truth.agencies))
    if unknown_agencies:
        raise InputDataError(
            f"{source} name agency {', '.join(unknown_agencies)}, which the truth file does "
            "not have.",
            "Agency names must be spelled as in truth.csv; a links file without an agency "
            "column is named AGENCY.links.csv.",
        )
    positions = truth.positions(links["agency"], links["record_id"])
    missing = positions < 0
    if missing.any():
        counts = links.loc[missing, "agency"].value_counts()
        detail = ", ".join(f"{int(c)} of {a}" for a, c in counts.items())
        raise InputDataError(
            f"{source} name records that are not in the truth file ({detail}).",
            "The truth must list every record the agencies submitted; check that the links "
            "and row-token maps come from the same data set as truth.csv.",
        )
    return positions


def parse_token_specs(specs: Sequence[str]) -> dict[str, Path]:
    """``["A=path/to/row-tokens.csv", ...]`` (the ``--tokens`` option) as a dict."""
    maps: dict[str, Path] = {}
    for spec in specs:
        agency, sep, path = spec.partition("=")
        agency, path = agency.strip(), path.strip()
        if not sep or not agency or not path:
            raise InputDataError(
                "A --tokens option is not of the form AGENCY=PATH.",
                "Write e.g. --tokens county-hospital=out/private/row-tokens.csv, once per agency.",
            )
        if agency in maps:
            raise InputDataError(
                f"--tokens names agency {agency} twice.", "Give one row-token map per agency."
            )
        maps[agency] = Path(path)
    return maps
