"""Generalization hierarchies: how a quasi-identifier is coarsened, level by level.

Level 0 is the most detailed released form (already top-coded where the policy
says so), each further level is coarser, and the last level is always ``*``
(the value withheld).  Missing values stay ``(missing)`` until ``*``.

Kinds (``type`` in the policy):

* ``interval``: numbers (ages, years).  ``bands: [5, 10, 20]`` gives the levels
  exact -> 5-wide -> 10-wide -> 20-wide -> ``*``; ``top_code: 90`` groups 90
  and over as ``90+`` at every level (HIPAA Safe Harbor: ages over 89),
  ``bottom_code`` does the same below.
* ``date``: ISO dates; ``levels`` is a subset of ``[day, month, quarter, year]``.
* ``zip``: ZIP codes; ``levels`` from ``zip5``, ``zip3`` and groupings
  (``{name: county, groups: {...}}`` mapping ZIP3 -> group); with
  ``low_population_zip3`` (a list, or ``hipaa`` for the shipped Census list)
  those 3-digit ZIPs become ``000``.
* ``groups``: custom groupings, each level a mapping ``group: [members]`` of the
  previous level's values; values no group names go to ``other`` (default
  ``Other``).
* ``none``: the value or ``*``.

Information loss of a generalized value (the loss metric, after Iyengar 2002):
``(distinct original values it covers - 1) / (distinct values of the attribute - 1)``;
0 for the exact value and 1 for ``*``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

MISSING = "(missing)"
STAR = "*"
DATE_LEVELS = ("day", "month", "quarter", "year")


def hipaa_low_population_zip3() -> frozenset[str]:
    """The 3-digit ZIPs with 20,000 people or fewer (HHS, 2010 Census); data file shipped."""
    text = resources.files("htlink.release").joinpath("data/hipaa_low_population_zip3.txt")
    codes = set()
    for line in text.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            codes.add(line)
    return frozenset(codes)


@dataclass
class Hierarchy:
    """A generalization hierarchy: ``levels[i]`` is the name of level i (last is ``*``)."""

    name: str
    kind: str
    levels: list[str]
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def height(self) -> int:
        """The index of the ``*`` level."""
        return len(self.levels) - 1

    def generalize(self, values: pd.Series, level: int) -> pd.Series:
        """The values at ``level`` (strings; missing -> ``(missing)``)."""
        if not 0 <= level <= self.height:
            raise ValueError(f"level {level} out of range for hierarchy {self.name}")
        if level == self.height:
            return pd.Series(STAR, index=values.index, dtype=object)
        return _GENERALIZERS[self.kind](self, values, level)

    def level_index(self, level: int | str) -> int:
        if isinstance(level, int):
            return level
        if level in self.levels:
            return self.levels.index(level)
        raise KeyError(level)


def _as_number(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce")


def _interval(h: Hierarchy, values: pd.Series, level: int) -> pd.Series:
    num = _as_number(values)
    bands: list[int] = h.spec.get("bands", [])
    top = h.spec.get("top_code")
    bottom = h.spec.get("bottom_code")
    out = pd.Series(MISSING, index=values.index, dtype=object)
    ok = num.notna()
    v = np.floor(num[ok].to_numpy(dtype=float)).astype(np.int64)
    if level == 0:
        labels = v.astype(str).astype(object)
    else:
        width = int(bands[level - 1])
        lo = (v // width) * width
        hi = lo + width - 1
        if top is not None:
            hi = np.minimum(hi, int(top) - 1)
        if bottom is not None:
            lo = np.maximum(lo, int(bottom))
        labels = np.char.add(np.char.add(lo.astype(str), "-"), hi.astype(str)).astype(object)
    if top is not None:
        labels = np.where(v >= int(top), f"{int(top)}+", labels)
    if bottom is not None:
        labels = np.where(v < int(bottom), f"<{int(bottom)}", labels)
    out[ok] = labels
    return out


def _date(h: Hierarchy, values: pd.Series, level: int) -> pd.Series:
    text = values.astype("string")
    dates = pd.to_datetime(text, errors="coerce", format="ISO8601")
    # a bare year ("2019") is a date known to the year only
    year_only = text.str.fullmatch(r"\d{4}").fillna(False).to_numpy(dtype=bool)
    out = pd.Series(MISSING, index=values.index, dtype=object)
    name = h.levels[level]
    ok = dates.notna().to_numpy()
    d = dates[ok]
    if name == "day":
        labels = d.dt.strftime("%Y-%m-%d")
    elif name == "month":
        labels = d.dt.strftime("%Y-%m")
    elif name == "quarter":
        labels = d.dt.year.astype(str) + "-Q" + d.dt.quarter.astype(str)
    else:
        labels = d.dt.year.astype(str)
    out[ok] = labels.to_numpy(dtype=object)
    if year_only.any() and name == "year":
        out[year_only] = text[year_only].to_numpy(dtype=object)
    return out


def _zip(h: Hierarchy, values: pd.Series, level: int) -> pd.Series:
    text = values.astype("string").str.strip()
    digits = text.str.extract(r"^(\d{3,5})", expand=False)
    digits = digits.where(digits.str.len() != 4, "0" + digits)  # a lost leading zero
    out = pd.Series(MISSING, index=values.index, dtype=object)
    ok = digits.notna().to_numpy()
    zips = digits[ok].astype(str)
    zip3 = zips.str[:3]
    low = h.spec.get("_low_zip3", frozenset())
    zip3 = zip3.where(~zip3.isin(low), "000")
    steps = h.levels[: level + 1]
    current = zips.where(~zips.str[:3].isin(low), "00000") if steps[0] == "zip5" else zip3
    for step_name in steps[1:]:
        if step_name == "zip3":
            current = zip3
        else:
            groups = h.spec["_groups"][step_name]
            current = current.map(groups).fillna(h.spec.get("other", "Other"))
    out[ok] = current.to_numpy(dtype=object)
    return out


def _groups(h: Hierarchy, values: pd.Series, level: int) -> pd.Series:
    text = values.astype("string").str.strip()
    recode: Mapping[str, str] = h.spec.get("recode", {})
    current = text.map(lambda v: recode.get(v, v) if v is not pd.NA else v)
    other = h.spec.get("other", "Other")
    for i in range(level):
        mapping = h.spec["_groups"][h.levels[i + 1]]
        current = current.map(lambda v, m=mapping: m.get(v, other) if isinstance(v, str) else v)
    out = current.astype(object).where(current.notna(), MISSING)
    return out.astype(object)


def _none(h: Hierarchy, values: pd.Series, level: int) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.astype(object).where(text.notna(), MISSING)


_GENERALIZERS = {
    "interval": _interval,
    "date": _date,
    "zip": _zip,
    "groups": _groups,
    "none": _none,
}
KINDS = tuple(_GENERALIZERS)


def _invert(groups: Mapping[str, Any]) -> dict[str, str]:
    """``{group: [members]}`` -> ``{member: group}``."""
    inverse: dict[str, str] = {}
    for group, members in groups.items():
        for m in members if isinstance(members, list) else [members]:
            inverse[str(m)] = str(group)
    return inverse


def build_hierarchy(name: str, spec: Mapping[str, Any]) -> tuple[Hierarchy | None, list[str]]:
    """A hierarchy from its policy entry, or the list of problems with that entry."""
    problems: list[str] = []
    where = f"hierarchies.{name}"
    kind = spec.get("type")
    if kind not in KINDS:
        return None, [f"{where}.type must be one of {', '.join(KINDS)} (got {kind!r})."]
    data = dict(spec)
    levels: list[str]
    if kind == "interval":
        bands = spec.get("bands", [])
        if not isinstance(bands, list) or not all(isinstance(b, int) and b > 0 for b in bands):
            problems.append(f"{where}.bands must be a list of positive whole numbers.")
            bands = []
        elif bands != sorted(bands) or any(b2 % b1 for b1, b2 in itertools.pairwise(bands)):
            problems.append(
                f"{where}.bands must grow and each must be a multiple of the one before "
                "(e.g. [5, 10, 20]) so that bands nest."
            )
        for key in ("top_code", "bottom_code"):
            if key in spec and not isinstance(spec[key], int):
                problems.append(f"{where}.{key} must be a whole number.")
        levels = ["exact", *[f"{b}-wide" for b in bands], STAR]
    elif kind == "date":
        wanted = spec.get("levels", list(DATE_LEVELS))
        if not isinstance(wanted, list) or not wanted or any(w not in DATE_LEVELS for w in wanted):
            problems.append(f"{where}.levels must be a list from {list(DATE_LEVELS)}.")
            wanted = ["year"]
        elif wanted != sorted(wanted, key=DATE_LEVELS.index):
            problems.append(f"{where}.levels must go from fine to coarse (day, month, ...).")
        levels = [*wanted, STAR]
    elif kind == "zip":
        wanted = spec.get("levels", ["zip5", "zip3"])
        names: list[str] = []
        groups: dict[str, dict[str, str]] = {}
        if not isinstance(wanted, list) or not wanted:
            problems.append(f"{where}.levels must be a list, e.g. [zip5, zip3].")
            wanted = ["zip3"]
        for i, w in enumerate(wanted):
            if w in ("zip5", "zip3"):
                if (w == "zip5" and i != 0) or (w == "zip3" and i > 1):
                    problems.append(f"{where}.levels: {w} must come first (zip5, zip3, groups).")
                names.append(w)
            elif isinstance(w, dict) and isinstance(w.get("groups"), dict) and "name" in w:
                groups[str(w["name"])] = _invert(w["groups"])
                names.append(str(w["name"]))
            else:
                problems.append(
                    f"{where}.levels[{i}] must be zip5, zip3 or {{name: ..., groups: {{...}}}}."
                )
        low = spec.get("low_population_zip3", [])
        if low == "hipaa":
            data["_low_zip3"] = hipaa_low_population_zip3()
        elif isinstance(low, list) and all(re.fullmatch(r"\d{3}", str(z)) for z in low):
            data["_low_zip3"] = frozenset(str(z) for z in low)
        else:
            problems.append(f"{where}.low_population_zip3 must be 'hipaa' or a list of ZIP3s.")
        data["_groups"] = groups
        levels = [*names, STAR]
    elif kind == "groups":
        wanted = spec.get("levels", [])
        groups = {}
        names = ["value"]
        if not isinstance(wanted, list):
            problems.append(f"{where}.levels must be a list of {{name: ..., groups: {{...}}}}.")
            wanted = []
        for i, w in enumerate(wanted):
            if isinstance(w, dict) and isinstance(w.get("groups"), dict) and "name" in w:
                groups[str(w["name"])] = _invert(w["groups"])
                names.append(str(w["name"]))
            else:
                problems.append(f"{where}.levels[{i}] must be {{name: ..., groups: {{...}}}}.")
        if "recode" in spec and not isinstance(spec["recode"], dict):
            problems.append(f"{where}.recode must map values to values.")
        data["_groups"] = groups
        levels = [*names, STAR]
    else:
        levels = ["value", STAR]
    if problems:
        return None, problems
    return Hierarchy(name=name, kind=str(kind), levels=levels, spec=data), []


NONE_HIERARCHY = Hierarchy(name="(none)", kind="none", levels=["value", STAR])


@dataclass
class EncodedLevels:
    """One quasi-identifier at every level: integer codes, labels and per-record loss."""

    codes: list[np.ndarray]
    labels: list[np.ndarray]
    loss: list[np.ndarray]

    @property
    def height(self) -> int:
        return len(self.codes) - 1


def encode_levels(values: pd.Series, hierarchy: Hierarchy) -> EncodedLevels:
    """Generalize ``values`` to every level once; the search then works on integer codes."""
    base_codes, base_uniques = pd.factorize(hierarchy.generalize(values, 0), sort=True)
    n_domain = max(len(base_uniques), 1)
    codes, labels, loss = [], [], []
    for level in range(hierarchy.height + 1):
        gen = hierarchy.generalize(values, level) if level else pd.Series(base_uniques[base_codes])
        c, u = pd.factorize(gen, sort=True)
        codes.append(c.astype(np.int64))
        labels.append(np.asarray(u, dtype=object))
        # distinct level-0 values under each generalized value
        pairs = np.unique(np.stack([c, base_codes]), axis=1)
        covered = np.bincount(pairs[0], minlength=len(u))
        loss.append(np.zeros(len(values)) if n_domain == 1 else (covered[c] - 1) / (n_domain - 1))
    loss[-1] = np.ones(len(values))
    return EncodedLevels(codes=codes, labels=labels, loss=loss)
