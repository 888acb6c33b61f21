"""``summary.json``: what a synthetic world contains, in counts only.

Counts per agency, the overlap of people across agencies, how many records
each person has per agency, every corruption that actually changed a value,
the exact-match recall, the seed and the full scenario.  Nothing about any
single person.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from htlink.synthetic.agencies import AgencyTable
from htlink.synthetic.recall import RecallResult
from htlink.synthetic.scenario import Scenario

SUMMARY_VERSION = 1


def overlap(kinds: list[str], member: np.ndarray) -> dict[str, Any]:
    """People per number of agencies, per agency and per pair of agencies."""
    per_person = member.sum(axis=1)
    out: dict[str, Any] = {
        "people_in_exactly": {
            str(k): int((per_person == k).sum()) for k in range(1, len(kinds) + 1)
        },
        "people_per_agency": {k: int(member[:, j].sum()) for j, k in enumerate(kinds)},
        "people_per_pair": {
            f"{kinds[a]}+{kinds[b]}": int((member[:, a] & member[:, b]).sum())
            for a, b in combinations(range(len(kinds)), 2)
        },
    }
    if len(kinds) >= 3:
        out["people_in_all"] = int(member.all(axis=1).sum())
    return out


def duplicates(table: AgencyTable) -> dict[str, Any]:
    """How many people have 1, 2, ... records in one agency."""
    _, counts = np.unique(table.person, return_counts=True)
    values, people = np.unique(counts, return_counts=True)
    return {
        "people": len(counts),
        "records": len(table.person),
        "records_per_person": {
            str(v): int(p) for v, p in zip(values.tolist(), people.tolist(), strict=True)
        },
        "mean_records_per_person": round(float(counts.mean()), 4) if len(counts) else 0.0,
    }


def build_summary(
    scenario: Scenario,
    seed: int,
    kinds: list[str],
    member: np.ndarray,
    tables: list[AgencyTable],
    recall: RecallResult,
) -> dict[str, Any]:
    """The summary document (JSON-ready, in a fixed key order)."""
    return {
        "summary_version": SUMMARY_VERSION,
        "scenario_name": scenario.name,
        "seed": seed,
        "people": int(member.any(axis=1).sum()),
        "records": {t.kind: len(t.frame) for t in tables},
        "total_records": sum(len(t.frame) for t in tables),
        "files": {
            t.kind: {
                "file": f"{t.kind}.csv",
                "id_column": t.id_column,
                "mapping": f"mappings/{t.kind}.yaml",
                "columns": list(t.frame.columns),
            }
            for t in tables
        },
        "overlap": overlap(kinds, member),
        "duplicates": {t.kind: duplicates(t) for t in tables},
        "corruption": {
            t.kind: {k: int(t.corruption[k]) for k in sorted(t.corruption)} for t in tables
        },
        "exact_match_recall": recall.to_dict(),
        "scenario": scenario.to_dict(),
    }
