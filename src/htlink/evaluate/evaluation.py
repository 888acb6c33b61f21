"""One evaluation of a linkage against the truth: what ``htlink evaluate`` computes.

:func:`evaluate_files` is the command line's library function (paths in, an
:class:`Evaluation` out); :func:`evaluate_linkage` does the same on frames
already in memory.  :mod:`htlink.evaluate.report` writes the result out.

Which records are evaluated: those of the agencies the links (and pairs) are
for.  Truth agencies no input mentions are left out -- and named in the notes
-- rather than counted as "never linked".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from htlink.errors import InputDataError
from htlink.evaluate._csv import header_names
from htlink.evaluate.links import (
    TokenSource,
    agency_from_path,
    combine_links,
    load_links,
    load_row_tokens,
    predicted_labels,
)
from htlink.evaluate.metrics import (
    SCOPES,
    BlockingMetrics,
    ClusterMetrics,
    PairCounts,
    agency_pair_metrics,
    blocking_metrics,
    cluster_metrics,
    split_by_scope,
    true_pair_count,
)
from htlink.evaluate.pairs import load_pairs, locate_pairs
from htlink.evaluate.sweep import SweepResult, threshold_sweep
from htlink.evaluate.truth import Truth, load_truth

#: Version of the metrics.json layout.
METRICS_FORMAT = 1


@dataclass
class Evaluation:
    """Every measure of one evaluation; ``None`` where its input was not given.

    ``pairwise`` has the keys ``all``, ``cross_agency`` and ``within_agency``;
    ``agency_pairs`` is keyed by sorted agency pairs, ``(A, A)`` meaning
    duplicates within A.  ``threshold`` is the chosen threshold, if any.
    """

    agencies: list[str]
    records_by_agency: dict[str, int]
    not_evaluated: list[str] = field(default_factory=list)
    linked_records: int | None = None
    pairwise: dict[str, PairCounts] | None = None
    agency_pairs: dict[tuple[str, str], PairCounts] | None = None
    clusters: ClusterMetrics | None = None
    sweep: SweepResult | None = None
    blocking: BlockingMetrics | None = None
    threshold: float | None = None
    notes: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def records(self) -> int:
        """Records evaluated (all agencies)."""
        return sum(self.records_by_agency.values())

    def headline(self) -> list[tuple[str, str, str]]:
        """The key figures as (name, value, what it means), for a table or cards."""
        rows: list[tuple[str, str, str]] = [
            (
                "records evaluated",
                f"{self.records:,}",
                f"in {len(self.agencies)} agencies: {', '.join(self.agencies)}",
            )
        ]
        if self.pairwise is not None and self.clusters is not None:
            every, cross = self.pairwise["all"], self.pairwise["cross_agency"]
            within = self.pairwise["within_agency"]
            c = self.clusters
            rows += [
                ("pairwise precision", f"{every.precision:.4f}",
                 f"{every.true_positives:,} of {every.predicted_pairs:,} linked pairs are "
                 "the same person"),
                ("pairwise recall", f"{every.recall:.4f}",
                 f"{every.true_positives:,} of {every.true_pairs:,} true pairs were linked"),
                ("pairwise F1", f"{every.f1:.4f}", "harmonic mean of precision and recall"),
            ]  # fmt: skip
            if cross.true_pairs and within.true_pairs:  # both kinds to find: show them apart
                rows += [
                    ("cross-agency recall", f"{cross.recall:.4f}",
                     f"{cross.true_positives:,} of {cross.true_pairs:,} pairs across agencies"),
                    ("within-agency recall", f"{within.recall:.4f}",
                     f"{within.true_positives:,} of {within.true_pairs:,} duplicate pairs "
                     "within agencies"),
                ]  # fmt: skip
            rows += [
                ("people exactly reunited", f"{c.multi_record_reunited_share:.2%}",
                 f"{c.multi_record_reunited:,} of {c.multi_record_people:,} people with two "
                 "or more records are one cluster, alone"),
                ("cluster F1", f"{c.cluster_f1:.4f}",
                 "share of clusters that are exactly one whole person, both ways"),
                ("split / over-merged people", f"{c.split_people:,} / {c.over_merged_people:,}",
                 "people spread over several clusters / sharing a cluster with someone else"),
            ]  # fmt: skip
        if self.sweep is not None:
            s = self.sweep
            best = s.best
            rows.append(
                ("best-F1 threshold", f"{s.best_threshold:.4g}",
                 f"precision {best.precision:.4f}, recall {best.recall:.4f}, F1 {best.f1:.4f}")
            )  # fmt: skip
            if self.threshold is not None:
                at = s.at(self.threshold)
                rows.append(
                    ("chosen threshold", f"{self.threshold:.4g}",
                     f"precision {at.precision:.4f}, recall {at.recall:.4f}, F1 {at.f1:.4f}")
                )  # fmt: skip
        if self.blocking is not None:
            b = self.blocking
            rows += [
                ("pair completeness", f"{b.pair_completeness:.4f}",
                 f"{b.true_candidate_pairs:,} of {b.true_pairs:,} true pairs were compared"),
                ("reduction ratio", f"{b.reduction_ratio:.6f}",
                 f"{b.candidate_pairs:,} of {b.comparison_space:,} possible pairs compared"),
            ]  # fmt: skip
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Everything, as the content of ``metrics.json``."""
        return {
            "format": METRICS_FORMAT,
            "inputs": self.inputs,
            "agencies": self.agencies,
            "records": {
                "total": self.records,
                "by_agency": self.records_by_agency,
                "linked": self.linked_records,
            },
            "not_evaluated_agencies": self.not_evaluated,
            "pairwise": (
                {k: v.to_dict() for k, v in self.pairwise.items()} if self.pairwise else None
            ),
            "agency_pairs": (
                [
                    {"agency_a": a, "agency_b": b, "within": a == b, **c.to_dict()}
                    for (a, b), c in self.agency_pairs.items()
                ]
                if self.agency_pairs is not None
                else None
            ),
            "clusters": self.clusters.to_dict() if self.clusters else None,
            "threshold": self.threshold,
            "sweep": self.sweep.to_dict(self.threshold) if self.sweep else None,
            "blocking": self.blocking.to_dict() if self.blocking else None,
            "notes": self.notes,
        }


def _universe(
    truth: Truth,
    links: pd.DataFrame | None,
    pairs: pd.DataFrame | None,
    agencies: Iterable[str] | None,
) -> list[str]:
    named: set[str] = set(agencies or ())
    if links is not None:
        named |= set(pd.unique(links["agency"]))
    if pairs is not None:
        named |= set(pd.unique(pairs["agency_a"])) | set(pd.unique(pairs["agency_b"]))
    if not named:
        return list(truth.agencies)
    unknown = sorted(named - set(truth.agencies))
    if unknown:
        raise InputDataError(
            f"The links or pairs name agency {', '.join(unknown)}, which the truth file does "
            "not have.",
            "Agency names must be spelled as in truth.csv; a links file without an agency "
            "column is named AGENCY.links.csv.",
        )
    return sorted(named)


def evaluate_linkage(
    truth: Truth,
    links: pd.DataFrame | None = None,
    pairs: pd.DataFrame | None = None,
    *,
    agencies: Iterable[str] | None = None,
    threshold: float | None = None,
    scope: str = "auto",
    thresholds: Sequence[float] | None = None,
    bins: int = 50,
) -> Evaluation:
    """Evaluate links (``agency, record_id, pseudonym``) and/or scored pairs against the truth.

    ``agencies`` adds agencies to evaluate beyond those the links and pairs
    mention (e.g. one whose links file is empty).  ``scope`` is the set of true
    pairs the sweep and blocking measures count: ``"all"``, ``"cross"`` (pairs
    across agencies only) or ``"auto"`` (``"cross"`` unless the pairs include a
    pair within one agency or there is a single agency).
    """
    if links is None and pairs is None:
        raise InputDataError(
            "Nothing to evaluate: give links, scored pairs or both.",
            "Pass the links files the hub returned, and/or --pairs with scored pairs.",
        )
    if scope not in (*SCOPES, "auto"):
        raise InputDataError(
            f"--scope {scope} is not known.", "Use all, cross or auto (the default)."
        )
    if threshold is not None and pairs is None:
        raise InputDataError(
            "A threshold was given without scored pairs.",
            "The threshold is marked on the sweep of --pairs; pass a pairs file too.",
        )
    universe = _universe(truth, links, pairs, agencies)
    sub = truth.restrict(universe)
    result = Evaluation(agencies=universe, records_by_agency=sub.sizes())
    result.not_evaluated = sorted(set(truth.agencies) - set(universe))
    if result.not_evaluated:
        result.notes.append(
            f"The truth also has agency {', '.join(result.not_evaluated)}; no links or pairs "
            "name it, so its records are left out of every measure."
        )
    persons, agency_of = sub.person_labels, sub.agency_labels
    if links is not None:
        labels = predicted_labels(sub, links)
        by_pair = agency_pair_metrics(persons, labels, agency_of)
        result.agency_pairs = by_pair
        result.pairwise = split_by_scope(by_pair)
        result.clusters = cluster_metrics(persons, labels, agency_of)
        result.linked_records = int((links["pseudonym"] != "").sum())
    if pairs is not None:
        located = locate_pairs(sub, pairs)
        if located.duplicates_dropped:
            result.notes.append(
                f"{located.duplicates_dropped:,} pairs were listed more than once; each "
                "counts once, with its highest similarity."
            )
        if scope == "auto":
            scope = "all" if located.same_agency.any() or len(universe) == 1 else "cross"
        if scope == "cross" and located.same_agency.any():
            result.notes.append(
                f"{int(located.same_agency.sum()):,} scored pairs within one agency are "
                "outside the cross-agency scope and were left out of the sweep."
            )
            located = located.subset(~located.same_agency)
        total = true_pair_count(persons, agency_of, scope)
        result.sweep = threshold_sweep(
            located.similarity,
            located.is_match,
            total,
            thresholds=thresholds,
            bins=bins,
            scope=scope,
        )
        result.blocking = blocking_metrics(
            located.first, located.second, persons, agency_of, scope=scope
        )
        result.threshold = threshold
    return result


def evaluate_files(
    truth: Path | str,
    links: Sequence[Path | str] = (),
    *,
    tokens: Mapping[str, TokenSource] | None = None,
    pairs: Path | str | None = None,
    threshold: float | None = None,
    scope: str = "auto",
) -> Evaluation:
    """``htlink evaluate``: read the truth, links files and pairs file, and evaluate.

    ``tokens`` maps agency names to their row-token maps (``row-tokens.csv``),
    needed for files that give row tokens instead of record ids.
    """
    truth_table = load_truth(truth)
    names = sorted((tokens or {}).keys())
    # read each row-token map once, however many files refer to it
    tokens = {
        agency: source if isinstance(source, pd.DataFrame) else load_row_tokens(source, agency)
        for agency, source in (tokens or {}).items()
    }
    frames, named = [], set()
    for path in links:
        frame = load_links(path, tokens)
        frames.append(frame)
        if len(frame):
            named |= set(pd.unique(frame["agency"]))
        elif "agency" not in header_names(Path(path), "links"):
            named.add(agency_from_path(path))  # an agency none of whose records was linked
    link_table = combine_links(frames, [str(p) for p in links]) if links else None
    pair_table = load_pairs(pairs, tokens) if pairs is not None else None
    result = evaluate_linkage(
        truth_table,
        link_table,
        pair_table,
        agencies=named,
        threshold=threshold,
        scope=scope,
    )
    result.inputs = {
        "truth": str(truth),
        "links": [str(p) for p in links],
        "pairs": str(pairs) if pairs is not None else None,
        "row_token_maps": names,
    }
    if link_table is not None and not np.isnan(link_table["confidence"]).all():
        result.inputs["links_with_confidence"] = int(link_table["confidence"].notna().sum())
    return result
