"""Payloads merged into one row per person, and pseudonyms replaced by release IDs.

Each attribute of the policy (``people.attributes``) is made from one or more
``AGENCY.COLUMN`` sources and a rule for people with several records:

* ``first``: the first non-missing value, sources in the order listed
  (within a source, in payload order);
* ``min`` / ``max``: numerically when every value is a number, else as text;
* ``mode``: the most frequent value (ties: the smallest);
* ``count``: the number of records with a value;
* ``any``: ``1`` when the person has a value in any source, else ``0``.

With ``presence_flags`` (default) every agency adds ``in_AGENCY`` (1/0): in
which sources the person appears.  The release IDs are random per release
(16 hex digits), so two releases of the same data cannot be joined on them;
the pseudonyms never leave this module.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from htlink.errors import HtlinkError
from htlink.release.payload import Payload
from htlink.release.policy import Attribute, Policy


class MergeError(HtlinkError):
    """Payloads and policy do not fit together."""


def check_sources(policy: Policy, payloads: list[Payload]) -> None:
    """Every ``AGENCY.COLUMN`` the policy names must be in a payload; list all that are not."""
    agencies = [p.agency for p in payloads]
    dupes = sorted({a for a in agencies if agencies.count(a) > 1})
    if dupes:
        raise MergeError(
            f"Two payloads come from the same agency ({', '.join(dupes)}).",
            "Pass one payload per agency (the latest export).",
        )
    columns = {p.agency: set(p.frame.columns) - {"pseudonym"} for p in payloads}
    problems = []
    for attr in policy.attributes:
        for agency, column in attr.sources:
            if agency not in columns:
                problems.append(
                    f"people.attributes.{attr.name}: no payload from agency {agency!r} "
                    f"(payloads: {', '.join(sorted(columns)) or 'none'})"
                )
            elif column not in columns[agency]:
                have = ", ".join(sorted(columns[agency]))
                problems.append(
                    f"people.attributes.{attr.name}: {agency}'s payload has no column "
                    f"{column!r} (it has: {have})"
                )
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise MergeError(
            f"The policy names columns the payloads do not hold:\n{lines}",
            "Fix the policy's people.attributes, or ask the agency to export those columns "
            "(htlink payload export --columns ...).",
        )


def check_known_pseudonyms(payloads: list[Payload], links: list[Path]) -> None:
    """Every payload pseudonym must appear in one of the hub's links files."""
    known: set[str] = set()
    for path in links:
        if not path.is_file():
            raise MergeError(f"The links file {path} does not exist.")
        frame = pd.read_csv(path, dtype=str, usecols=lambda c: c == "pseudonym")
        if "pseudonym" not in frame.columns:
            raise MergeError(
                f"{path.name} has no pseudonym column.",
                "Pass the <agency>.links.csv files written by `htlink match`.",
            )
        known.update(frame["pseudonym"].dropna())
    for p in payloads:
        unknown = int((~p.frame["pseudonym"].isin(known)).sum())
        if unknown:
            raise MergeError(
                f"The payload from {p.agency} has {unknown} rows whose pseudonym no links file "
                "knows (stale links, or another project's).",
                "Ask the agency to export again from the current links files of this project.",
            )


def _numeric(values: pd.Series) -> pd.Series | None:
    num = pd.to_numeric(values, errors="coerce")
    return num if num.notna().sum() == values.notna().sum() else None


def _take(long: pd.DataFrame, take: str) -> pd.Series:
    """Aggregate (pseudonym, value) rows per pseudonym."""
    values = long.dropna(subset=["value"])
    grouped = values.groupby("pseudonym", sort=False)["value"]
    if take == "count":
        return grouped.size().astype(str)
    if take == "any":
        return grouped.size().gt(0).map({True: "1", False: "0"})
    if take in ("min", "max"):
        num = _numeric(values["value"])
        if num is not None:
            agg = num.groupby(values["pseudonym"], sort=False).agg(take)
            return agg.map(lambda x: str(int(x)) if float(x).is_integer() else repr(float(x)))
        return grouped.agg(take)
    if take == "mode":
        counts = values.groupby(["pseudonym", "value"], sort=True).size().reset_index(name="n")
        counts = counts.sort_values(["pseudonym", "n", "value"], ascending=[True, False, True])
        return counts.drop_duplicates("pseudonym").set_index("pseudonym")["value"]
    raise ValueError(take)


def build_attribute(attr: Attribute, frames: dict[str, pd.DataFrame]) -> pd.Series:
    parts = [
        frames[agency][["pseudonym", column]].rename(columns={column: "value"})
        for agency, column in attr.sources
    ]
    if attr.take == "first":
        out: pd.Series | None = None
        for part in parts:
            firsts = part.dropna(subset=["value"]).groupby("pseudonym", sort=False)["value"].first()
            out = firsts if out is None else out.combine_first(firsts)
        return out if out is not None else pd.Series(dtype=object)
    return _take(pd.concat(parts, ignore_index=True), attr.take)


def merge_people(policy: Policy, payloads: list[Payload]) -> pd.DataFrame:
    """One row per person, indexed by pseudonym, one column per attribute (strings)."""
    check_sources(policy, payloads)
    frames = {p.agency: p.frame for p in payloads}
    pseudonyms = pd.Index(
        pd.unique(np.concatenate([p.frame["pseudonym"].dropna().to_numpy() for p in payloads]))
    )
    people = pd.DataFrame(index=pseudonyms)
    for attr in policy.attributes:
        people[attr.name] = build_attribute(attr, frames).reindex(pseudonyms)
    if policy.presence_flags:
        for p in payloads:
            present = pseudonyms.isin(p.frame["pseudonym"])
            people[f"in_{p.agency}"] = np.where(present, "1", "0")
    return people


def assign_release_ids(people: pd.DataFrame) -> pd.DataFrame:
    """Replace the pseudonym index by fresh random release IDs, rows sorted by them."""
    n = len(people)
    ids: set[str] = set()
    while len(ids) < n:
        ids.update(secrets.token_hex(8) for _ in range(n - len(ids)))
    out = people.reset_index(drop=True)
    out.insert(0, "release_id", sorted(ids, key=lambda _: secrets.randbits(64)))
    return out.sort_values("release_id").reset_index(drop=True)
