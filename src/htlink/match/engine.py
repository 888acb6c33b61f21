"""Link submissions from two or more agencies into people.

:func:`link_submissions` is what ``htlink match`` and (later) the hub run:
check the submissions belong together, find every cross-agency pair (and,
for sources that are not de-duplicated, every within-agency pair) whose Dice
score reaches the threshold, cluster them by the rule in
:mod:`htlink.match.solving`, and give every record its cluster's project
pseudonym.  The result per agency holds that agency's rows only; the summary
holds aggregates only (counts, cluster sizes, a histogram) -- what an operator
may see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from htlink.encode.submission import Submission
from htlink.errors import HtlinkError
from htlink.match.pseudonyms import cluster_pseudonyms
from htlink.match.scaleout import candidate_pairs, scheduler_client
from htlink.match.similarities import as_words, dice_pairs, dice_pairs_within
from htlink.match.solving import cluster_records

HISTOGRAM_BINS = 20


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


def link_submissions(
    submissions: list[Submission],
    threshold: float,
    project_key: bytes,
    deduplicated: set[str] | None = None,
    min_average: float | None = None,
    scheduler: Any = None,
) -> LinkResult:
    """Cluster the records of ``submissions`` into people and assign pseudonyms.

    ``min_average`` is the average-linkage floor for merging clusters (see
    :mod:`htlink.match.solving`); by default the threshold itself.  With
    ``scheduler`` (a Dask address or client) the comparisons run on that cluster,
    with identical results.
    """
    check_compatible(submissions)
    if not 0.0 < threshold <= 1.0:
        raise HtlinkError(f"The threshold must be in (0, 1]; got {threshold}.")
    deduplicated = deduplicated or set()
    agencies = [s.manifest["agency"] for s in submissions]
    unknown = sorted(deduplicated - set(agencies))
    if unknown:
        raise HtlinkError(
            f"--deduplicated names agencies without a submission: {', '.join(unknown)}."
        )
    words = [as_words(s.clks) for s in submissions]
    sizes = [len(w) for w in words]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    source_of = np.repeat(np.arange(len(submissions)), sizes)

    us, vs, ss = [], [], []
    pair_counts: dict[str, dict[str, int]] = {}
    with scheduler_client(scheduler) as client:
        for a, b in combinations(range(len(submissions)), 2):
            i, j, s, compared = candidate_pairs(words[a], words[b], threshold, scheduler=client)
            us.append(i + offsets[a])
            vs.append(j + offsets[b])
            ss.append(s)
            pair_counts[f"{agencies[a]}~{agencies[b]}"] = {
                "compared": compared,
                "candidates": len(s),
            }
        for a, agency in enumerate(agencies):
            if agency in deduplicated:
                continue
            i, j, s, compared = candidate_pairs(
                words[a], None, threshold, within=True, scheduler=client
            )
            us.append(i + offsets[a])
            vs.append(j + offsets[a])
            ss.append(s)
            pair_counts[f"{agency}~{agency}"] = {"compared": compared, "candidates": len(s)}
    u = np.concatenate(us) if us else np.zeros(0, np.int64)
    v = np.concatenate(vs) if vs else np.zeros(0, np.int64)
    scores = np.concatenate(ss) if ss else np.zeros(0)

    flags = np.array([a in deduplicated for a in agencies])
    roots, confidence, accepted = cluster_records(
        source_of,
        flags,
        u,
        v,
        scores,
        words=np.concatenate(words),
        min_average=threshold if min_average is None else min_average,
    )
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
    for key, (a, b) in _pair_keys(agencies, deduplicated).items():
        on_pair = (
            accepted & (source_of[u] == a) & (source_of[v] == b) if len(u) else np.zeros(0, bool)
        )
        pair_counts[key]["accepted_links"] = int(on_pair.sum())
    _, cluster_sizes = np.unique(roots, return_counts=True)
    size_hist = np.bincount(cluster_sizes)
    hist, edges = np.histogram(scores, bins=HISTOGRAM_BINS, range=(threshold, 1.0))
    summary = {
        "threshold": threshold,
        "min_average": threshold if min_average is None else min_average,
        "agencies": {agency: sizes[a] for a, agency in enumerate(agencies)},
        "deduplicated": sorted(deduplicated),
        "pairs": pair_counts,
        "people": len(cluster_sizes),
        "cluster_sizes": {str(k): int(c) for k, c in enumerate(size_hist) if c},
        "similarity_histogram": {
            "edges": [round(float(e), 4) for e in edges],
            "counts": hist.tolist(),
        },
    }
    return LinkResult(threshold=threshold, links=links, summary=summary)


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
