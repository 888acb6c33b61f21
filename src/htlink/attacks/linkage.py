"""Linkage quality of a configuration: F1 at the automatic threshold and at its best one.

Hardening moves similarity scores (balancing raises them, BLIP lowers them), so
comparing configurations at one fixed threshold, or at whatever
``--threshold auto`` picks, partly measures the threshold chooser rather than
the encoding.  The bench therefore reports both:

* **auto** -- the threshold :func:`htlink.match.threshold.choose_threshold`
  chooses (what ``htlink match --threshold auto`` does), linked with
  :func:`htlink.match.engine.link_submissions` and scored with
  :func:`htlink.evaluate.evaluate_linkage`, exactly as a user would get it;
* **best** -- the highest pairwise F1 of the *clustered* links over a grid of
  thresholds (step ``0.01`` from ``auto - 0.30`` to ``auto + 0.10``): every
  pair of records scoring at least the lowest threshold is found once
  (exhaustively, across and within agencies, as the engine compares them; the
  grid starts above the score one random pair in 1,000 reaches), and
  for each threshold the pairs scoring at least it are clustered by the
  engine's own :func:`htlink.match.solving.cluster_links` (average-linkage
  floor = the threshold, as in the engine).  This is an oracle figure -- it uses
  the truth to pick the threshold -- and says what the encoding allows, not
  what a user picks.

F1 is pairwise over all true pairs (within and across agencies), as
``htlink evaluate`` reports it under "all".
"""

from __future__ import annotations

import math
import secrets
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from htlink.attacks.bits import unpack
from htlink.attacks.configs import Encoded
from htlink.attacks.data import World

#: The sweep grid around the automatic threshold (``auto + offset``).
SWEEP_BELOW = 0.30
SWEEP_ABOVE = 0.10
SWEEP_STEP = 0.01
#: Thresholds are kept above this quantile of random-pair scores.
RANDOM_PAIR_QUANTILE = 0.999


def _agency_rows(world: World) -> list[tuple[str, np.ndarray]]:
    agency = world.records["agency"].to_numpy()
    return [(a, np.flatnonzero(agency == a)) for a in world.agencies]


def auto_threshold_quality(world: World, encoded: Encoded, fingerprint: str) -> dict[str, Any]:
    """Link the agencies' encodings at the automatic threshold and score against the truth."""
    from htlink.encode.submission import Submission
    from htlink.evaluate.evaluation import evaluate_linkage
    from htlink.evaluate.truth import load_truth
    from htlink.match.engine import link_submissions
    from htlink.match.similarities import as_words
    from htlink.match.threshold import choose_threshold

    records = world.records
    subs = [
        Submission(
            manifest={
                "agency": agency,
                "schema_fingerprint": fingerprint,
                "bit_length": encoded.length,
            },
            row_tokens=records["record_id"].to_numpy()[rows].tolist(),
            clks=np.ascontiguousarray(encoded.clks[rows]),
        )
        for agency, rows in _agency_rows(world)
    ]
    choice = choose_threshold([as_words(s.clks) for s in subs])
    result = link_submissions(subs, choice.threshold, project_key=secrets.token_bytes(32))
    links = pd.concat(
        [
            pd.DataFrame(
                {"agency": agency, "record_id": frame["row_token"], "pseudonym": frame["pseudonym"]}
            )
            for agency, frame in result.links.items()
        ],
        ignore_index=True,
    )
    evaluation = evaluate_linkage(load_truth(world.folder / "truth.csv"), links)
    assert evaluation.pairwise is not None
    every, cross = evaluation.pairwise["all"], evaluation.pairwise["cross_agency"]
    return {
        "threshold": choice.threshold,
        "precision": round(every.precision, 5),
        "recall": round(every.recall, 5),
        "f1": round(every.f1, 5),
        "cross_agency_f1": round(cross.f1, 5),
    }


def random_pair_quantile(
    encoded: Encoded, q: float = RANDOM_PAIR_QUANTILE, pairs: int = 20_000, seed: int = 0
) -> float:
    """The ``q`` quantile of the Dice score of random pairs of records (nearly all non-matches)."""
    rng = np.random.default_rng(seed)
    n = len(encoded.clks)
    i, j = rng.integers(0, n, pairs), rng.integers(0, n, pairs)
    keep = i != j
    a = unpack(encoded.clks[i[keep]], encoded.length).astype(np.int32)
    b = unpack(encoded.clks[j[keep]], encoded.length).astype(np.int32)
    total = a.sum(axis=1) + b.sum(axis=1)
    scores = np.where(total > 0, 2 * (a * b).sum(axis=1) / np.maximum(total, 1), 0.0)
    return float(np.quantile(scores, q))


def sweep_thresholds(center: float, floor: float = 0.0) -> np.ndarray:
    """The grid of thresholds swept around ``center`` (within ``(floor, 1]``).

    Thresholds at or below ``floor`` (the score that 1 in 1,000 random pairs
    reaches) would link a large share of all pairs: they are never the best, and
    finding every pair above them is quadratic work.
    """
    # in whole steps, so thresholds are round numbers (0.01 steps: 0.71, 0.72, ...)
    lo = max(1, math.ceil((center - SWEEP_BELOW) / SWEEP_STEP - 1e-9))
    lo = max(lo, math.floor(floor / SWEEP_STEP + 1e-9) + 1)
    hi = min(round(1 / SWEEP_STEP), math.floor((center + SWEEP_ABOVE) / SWEEP_STEP + 1e-9))
    grid = np.round(np.arange(lo, hi + 1) * SWEEP_STEP, 6)
    return grid[grid > floor]


def clustered_f1_curve(
    world: World, encoded: Encoded, thresholds: np.ndarray
) -> list[dict[str, float]]:
    """Pairwise precision, recall and F1 of the engine's clustering at each threshold."""
    from htlink.evaluate.metrics import pairwise_metrics
    from htlink.match.scaleout import candidate_pairs
    from htlink.match.similarities import as_words
    from htlink.match.solving import cluster_links

    parts = _agency_rows(world)
    order = np.concatenate([rows for _, rows in parts])
    words = [as_words(np.ascontiguousarray(encoded.clks[rows])) for _, rows in parts]
    sizes = [len(w) for w in words]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    source_of = np.repeat(np.arange(len(parts)), sizes)
    lowest = float(np.min(thresholds))
    us, vs, ss = [], [], []
    jobs = [*combinations(range(len(parts)), 2), *((a, a) for a in range(len(parts)))]
    for a, b in jobs:
        i, j, s, _ = candidate_pairs(
            words[a], None if a == b else words[b], lowest, within=a == b, ordered=False
        )
        us.append(i + offsets[a])
        vs.append(j + offsets[b])
        ss.append(s)
    u, v, s = np.concatenate(us), np.concatenate(vs), np.concatenate(ss)
    all_words = np.concatenate(words)
    persons = world.records["person_id"].to_numpy()[order]
    no_dedup = np.zeros(len(parts), dtype=bool)
    curve = []
    for t in thresholds:
        keep = s >= t
        roots, *_ = cluster_links(
            source_of, no_dedup, u[keep], v[keep], s[keep], words=all_words,
            min_average=float(t),
        )  # fmt: skip
        counts = pairwise_metrics(persons, roots)
        curve.append(
            {
                "threshold": float(t),
                "precision": round(counts.precision, 5),
                "recall": round(counts.recall, 5),
                "f1": round(counts.f1, 5),
            }
        )
    return curve


def linkage_quality(
    world: World, encoded: Encoded, fingerprint: str, sweep: bool = True
) -> dict[str, Any]:
    """F1 at the automatic threshold (top level) and, with ``sweep``, at the best one."""
    out = auto_threshold_quality(world, encoded, fingerprint)
    if sweep:
        grid = sweep_thresholds(out["threshold"], floor=random_pair_quantile(encoded))
        if len(grid) == 0:  # every threshold near auto links 1 in 1,000 random pairs
            out["best"], out["curve"] = None, []
            return out
        curve = clustered_f1_curve(world, encoded, grid)
        best = max(curve, key=lambda p: (p["f1"], p["threshold"]))
        out["best"] = {
            **best,
            "at_grid_edge": best["threshold"] in (float(grid[0]), float(grid[-1])),
        }
        out["curve"] = curve
    return out
