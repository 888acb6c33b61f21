"""Link submissions from two or more agencies into people.

:func:`link_submissions` is what ``htlink match`` and (later) the hub run:
check the submissions belong together, find every cross-agency pair (and,
for sources that are not de-duplicated, every within-agency pair) whose Dice
score reaches the threshold, cluster them by the rule in
:mod:`htlink.match.solving`, and give every record its cluster's project
pseudonym.  The result per agency holds that agency's rows only; the summary
holds aggregates only (counts, cluster sizes, a histogram, the blocking plans)
-- what an operator may see.

Blocking (``blocking=``), decided for each agency pair and each agency's own
de-duplication separately:

* ``"none"``: every pair within the popcount bound is compared (exact).
* ``"lsh"``: LSH on the CLK bits (:mod:`htlink.match.blocking`), planned for pair
  completeness 0.99; only pairs that share a band key are compared.
* ``"auto"`` (default): exhaustive when the pair has at most
  :data:`AUTO_EXHAUSTIVE_MAX_COMPARISONS` possible comparisons (50 million: about
  a second of one core, less than planning LSH would take), otherwise the LSH
  planner decides -- it keeps exhaustive comparison when that is estimated to be
  cheaper (low thresholds, dense encodings), so ``auto`` is exact up to that size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from htlink.encode.submission import Submission
from htlink.errors import HtlinkError
from htlink.match.pseudonyms import cluster_pseudonyms
from htlink.match.scaleout import (
    candidate_pairs,
    lsh_candidate_pairs,
    scheduler_client,
)
from htlink.match.similarities import as_words, dice_pairs, dice_pairs_within, score_histogram
from htlink.match.solving import cluster_links

HISTOGRAM_BINS = 20
#: ``blocking=`` values: ``auto``, ``lsh`` or ``none`` (see the module docstring).
BLOCKING_MODES = ("auto", "lsh", "none")
#: ``auto`` compares exhaustively at or below this many possible pairs (N x M, or
#: n (n - 1) / 2 within one agency) and asks the LSH planner above it.
AUTO_EXHAUSTIVE_MAX_COMPARISONS = 50_000_000
#: Share of ``progress`` given to each stage: planning, candidates, clustering, links.
_STAGE_SHARES = {"planning": 0.05, "candidates": 0.80, "clustering": 0.10, "links": 0.05}

Progress = Callable[[str, float], None]


class IncompatibleSubmissionsError(HtlinkError):
    """Submissions that cannot be linked together."""


@dataclass
class LinkResult:
    threshold: float
    links: dict[str, pd.DataFrame]  # agency -> row_token, pseudonym, confidence
    summary: dict[str, Any] = field(default_factory=dict)


def check_compatible(submissions: list[Submission]) -> None:
    """Refuse submissions made with different schemas or bit lengths, or from one agency twice."""
    if len(submissions) < 2:
        raise IncompatibleSubmissionsError(
            "Linking needs submissions from at least two agencies.",
            "Pass two or more submission folders.",
        )
    agencies = [s.manifest["agency"] for s in submissions]
    dupes = sorted({a for a in agencies if agencies.count(a) > 1})
    if dupes:
        raise IncompatibleSubmissionsError(
            f"More than one submission from {', '.join(dupes)}.",
            "Pass one submission per agency (the latest one).",
        )
    fingerprints = {s.manifest["schema_fingerprint"] for s in submissions}
    if len(fingerprints) > 1:
        listing = ", ".join(
            f"{s.manifest['agency']}: {s.manifest['schema_fingerprint'][:19]}…" for s in submissions
        )
        raise IncompatibleSubmissionsError(
            f"The submissions were encoded with different linkage schemas ({listing}).",
            "Every agency must encode with the same schema file; compare the fingerprints "
            "printed by `htlink schema check` and re-encode with the project's schema.",
        )
    lengths = {int(s.manifest["bit_length"]) for s in submissions}
    if len(lengths) > 1:
        raise IncompatibleSubmissionsError(
            f"The submissions have different encoding lengths ({sorted(lengths)} bits).",
            "Re-encode with the project's schema.",
        )


@dataclass
class _Job:
    """One comparison: agencies ``a`` and ``b`` (``a == b``: within one agency)."""

    key: str
    a: int
    b: int
    possible: int  # pairs an exhaustive run would consider
    method: str = "exhaustive"
    plan: Any = None
    weight: float = 1.0


class _Progress:
    """Maps each stage's own fraction onto one non-decreasing fraction of the whole run."""

    def __init__(self, callback: Progress | None) -> None:
        self.callback = callback
        self.last = 0.0
        self.starts: dict[str, float] = {}
        total = 0.0
        for stage, share in _STAGE_SHARES.items():
            self.starts[stage] = total
            total += share

    def __call__(self, stage: str, fraction: float) -> None:
        if self.callback is None:
            return
        overall = self.starts[stage] + _STAGE_SHARES[stage] * min(max(fraction, 0.0), 1.0)
        self.last = max(self.last, min(overall, 1.0))
        self.callback(stage, self.last)


def link_submissions(
    submissions: list[Submission],
    threshold: float,
    project_key: bytes,
    deduplicated: set[str] | None = None,
    min_average: float | None = None,
    scheduler: Any = None,
    blocking: str = "auto",
    progress: Progress | None = None,
) -> LinkResult:
    """Cluster the records of ``submissions`` into people and assign pseudonyms.

    ``min_average`` is the average-linkage floor for merging clusters (see
    :mod:`htlink.match.solving`); by default the threshold itself.  With
    ``scheduler`` (a Dask address or client) the comparisons run on that cluster,
    with identical results.  ``blocking`` is ``"auto"``, ``"lsh"`` or ``"none"``
    (see the module docstring); the summary says, per agency pair, which was used,
    its plan and how many comparisons were made.

    ``progress(stage, fraction)``, if given, is called with the stage (``planning``,
    ``candidates``, ``clustering``, ``links``) and the share of the whole run done so
    far (non-decreasing, 1.0 at the end): at the start and end of every stage, after
    every agency pair and after every chunk of comparisons.  An exception it raises
    stops the run (on a cluster, pending tasks are cancelled) and propagates
    unchanged: that is how a caller cancels a run.
    """
    check_compatible(submissions)
    if not 0.0 < threshold <= 1.0:
        raise HtlinkError(f"The threshold must be in (0, 1]; got {threshold}.")
    if blocking not in BLOCKING_MODES:
        raise HtlinkError(
            f"Unknown blocking {blocking!r}.",
            f"Use one of: {', '.join(BLOCKING_MODES)}.",
        )
    deduplicated = deduplicated or set()
    agencies = [s.manifest["agency"] for s in submissions]
    unknown = sorted(deduplicated - set(agencies))
    if unknown:
        raise HtlinkError(
            f"--deduplicated names agencies without a submission: {', '.join(unknown)}."
        )
    report = _Progress(progress)
    report("planning", 0.0)
    words = [as_words(s.clks) for s in submissions]
    sizes = [len(w) for w in words]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    source_of = np.repeat(np.arange(len(submissions)), sizes)

    jobs = [
        _Job(f"{agencies[a]}~{agencies[b]}", a, b, sizes[a] * sizes[b])
        for a, b in combinations(range(len(submissions)), 2)
    ]
    jobs += [
        _Job(f"{agency}~{agency}", a, a, sizes[a] * (sizes[a] - 1) // 2)
        for a, agency in enumerate(agencies)
        if agency not in deduplicated
    ]
    for done, job in enumerate(jobs, start=1):
        _plan_job(job, words, threshold, blocking)
        report("planning", done / len(jobs))

    us, vs, ss = [], [], []
    pair_counts: dict[str, dict[str, Any]] = {}
    plans: dict[str, Any] = {}
    total_weight = sum(job.weight for job in jobs) or 1.0
    finished = 0.0
    report("candidates", 0.0)
    with scheduler_client(scheduler) as client:
        for job in jobs:

            def chunk_done(
                done: int, total: int, job: _Job = job, before: float = finished
            ) -> None:
                share = job.weight * (done / total if total else 1.0)
                report("candidates", (before + share) / total_weight)

            other = None if job.a == job.b else words[job.b]
            if job.method == "lsh":
                found = lsh_candidate_pairs(
                    words[job.a], other, threshold, job.plan, scheduler=client, progress=chunk_done
                )
                i, j, s, compared = found.pairs
                extra = found.stats
            else:
                i, j, s, compared = candidate_pairs(
                    words[job.a],
                    other,
                    threshold,
                    within=other is None,
                    scheduler=client,
                    ordered=False,
                    progress=chunk_done,
                )
                extra = {}
            us.append(i + offsets[job.a] if offsets[job.a] else i)
            vs.append(j + offsets[job.b] if offsets[job.b] else j)
            ss.append(s)
            pair_counts[job.key] = {
                "compared": int(compared),
                "candidates": len(s),
                "blocking": job.method,
            }
            plans[job.key] = {
                "method": job.method,
                "possible_pairs": job.possible,
                "compared": int(compared),
                **({"plan": job.plan.describe()} if job.plan is not None else {}),
                **{k: int(v) for k, v in extra.items() if k.startswith("skipped") or k == "tasks"},
            }
            finished += job.weight
            report("candidates", finished / total_weight)
    u, v, scores = _joined(us, np.int64), _joined(vs, np.int64), _joined(ss, np.float64)
    del us, vs, ss

    report("clustering", 0.0)
    flags = np.array([a in deduplicated for a in agencies])
    roots, confidence, accepted_lo, accepted_hi = cluster_links(
        source_of,
        flags,
        u,
        v,
        scores,
        words=np.concatenate(words),
        min_average=threshold if min_average is None else min_average,
    )
    del u, v
    report("clustering", 1.0)
    report("links", 0.0)
    tokens = [t for s in submissions for t in s.row_tokens]
    pseudonyms = cluster_pseudonyms(roots, source_of, tokens, agencies, project_key)

    links = {}
    for a, agency in enumerate(agencies):
        rows = slice(offsets[a], offsets[a + 1])
        links[agency] = pd.DataFrame(
            {
                "row_token": submissions[a].row_tokens,
                "pseudonym": pseudonyms[rows],
                "confidence": np.round(confidence[rows], 4),
            }
        )
    # a job's links join agencies a <= b, a's records numbered first: (low, high) = (a, b)
    n_agencies = len(agencies)
    per_pair = np.bincount(
        source_of[accepted_lo] * n_agencies + source_of[accepted_hi],
        minlength=n_agencies * n_agencies,
    )
    for job in jobs:
        pair_counts[job.key]["accepted_links"] = int(per_pair[job.a * n_agencies + job.b])
    _, cluster_sizes = np.unique(roots, return_counts=True)
    size_hist = np.bincount(cluster_sizes)
    hist, edges = score_histogram(scores, HISTOGRAM_BINS, threshold, 1.0)
    summary = {
        "threshold": threshold,
        "min_average": threshold if min_average is None else min_average,
        "agencies": {agency: sizes[a] for a, agency in enumerate(agencies)},
        "deduplicated": sorted(deduplicated),
        "pairs": pair_counts,
        "blocking": {
            "mode": blocking,
            "auto_exhaustive_max_comparisons": AUTO_EXHAUSTIVE_MAX_COMPARISONS,
            "pairs": plans,
        },
        "people": len(cluster_sizes),
        "cluster_sizes": {str(k): int(c) for k, c in enumerate(size_hist) if c},
        "similarity_histogram": {
            "edges": [round(float(e), 4) for e in edges],
            "counts": hist.tolist(),
        },
    }
    report("links", 1.0)
    return LinkResult(threshold=threshold, links=links, summary=summary)


def _joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """``np.concatenate(parts)``, without a copy when there is only one part."""
    if len(parts) == 1:
        return np.asarray(parts[0], dtype=dtype)
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def _plan_job(job: _Job, words: list[np.ndarray], threshold: float, blocking: str) -> None:
    """Decide how ``job`` finds its candidates; plan LSH where it is used."""
    from htlink.match.blocking import COST_EXHAUSTIVE_PAIR, plan_lsh

    job.method = "exhaustive"
    job.weight = max(1e-3, COST_EXHAUSTIVE_PAIR * job.possible)
    if blocking == "none" or job.possible == 0:
        return
    if blocking == "auto" and job.possible <= AUTO_EXHAUSTIVE_MAX_COMPARISONS:
        return
    plan = plan_lsh(
        words[job.a],
        None if job.a == job.b else words[job.b],
        threshold,
        allow_exhaustive=blocking == "auto",
    )
    job.plan = plan
    if plan.method == "lsh":
        job.method = "lsh"
        if np.isfinite(plan.estimated_seconds):
            job.weight = max(1e-3, float(plan.estimated_seconds))


def _pair_keys(agencies: list[str], deduplicated: set[str]) -> dict[str, tuple[int, int]]:
    keys = {
        f"{agencies[a]}~{agencies[b]}": (a, b) for a, b in combinations(range(len(agencies)), 2)
    }
    keys.update({f"{x}~{x}": (a, a) for a, x in enumerate(agencies) if x not in deduplicated})
    return keys


def scored_pairs(submissions: list[Submission], min_score: float) -> pd.DataFrame:
    """Every pair of records (across and within agencies) scoring ``min_score`` or more.

    Row-level and across agencies: for evaluating a linkage on synthetic data
    only.  The hub never produces this.
    """
    check_compatible(submissions)
    agencies = [s.manifest["agency"] for s in submissions]
    words = [as_words(s.clks) for s in submissions]
    frames = []
    for a, b in [
        *combinations(range(len(submissions)), 2),
        *((x, x) for x in range(len(submissions))),
    ]:
        if a == b:
            i, j, score, _ = dice_pairs_within(words[a], min_score)
        else:
            i, j, score, _ = dice_pairs(words[a], words[b], min_score)
        tokens_a = np.asarray(submissions[a].row_tokens, dtype=object)
        tokens_b = np.asarray(submissions[b].row_tokens, dtype=object)
        frames.append(
            pd.DataFrame(
                {
                    "agency_a": agencies[a],
                    "row_token_a": tokens_a[i],
                    "agency_b": agencies[b],
                    "row_token_b": tokens_b[j],
                    "similarity": np.round(score, 6),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
