"""Time htlink's matching engine on two data sets of CLKs (one fresh process per run).

Started by ``bench_match.py`` with htlink's own Python::

    .venv/bin/python benchmarks/htlink_match_worker.py --clks clks.npy --split 5000 \\
        --task candidates:0.8 --task e2e:0.8 --task e2e:0.7 --task engine:0.7 [--dump-dir DIR]

``clks.npy`` holds the CLKs of both data sets as an ``(n, bytes)`` uint8 array -- the form
a :class:`~htlink.encode.submission.Submission` carries -- the first ``--split`` rows being
data set A.  After one untimed warm-up on 200 x 200 records (numba loads its cached
machine code), each task is timed:

* ``candidates:T``: ``as_words`` on both sets and ``dice_pairs(a_words, b_words, T)``;
* ``e2e:T``: the same, then ``cluster_links`` (the clustering of ``cluster_records``,
  returning the accepted links as record pairs) with both sources de-duplicated (greedy
  one-to-one), given the records' words and ``min_average = T`` exactly as
  :func:`~htlink.match.engine.link_submissions` calls it; the phases are timed apart too;
* ``engine:T``: ``link_submissions`` itself on two in-memory submissions (``agency-a``,
  ``agency-b``, both ``deduplicated``): candidates, clustering, pseudonyms, the per-agency
  link tables and the summary -- what ``htlink match`` runs, minus reading and writing files.

Prints one JSON line with every task's seconds and counts.  With ``--dump-dir`` it also
writes, untimed, the candidate-set digests (as ``anonlink_worker.py`` does) and the matched
pairs (``htlink-e2e-T.npy``, ``htlink-engine-T.npy``, rows ``(i, j)``).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from htlink.encode.submission import Submission
from htlink.match.engine import link_submissions
from htlink.match.similarities import as_words, dice_pairs
from htlink.match.solving import cluster_links

AGENCIES = ("agency-a", "agency-b")
#: A fixed pseudonym key: the benchmark data is public, the key protects nothing.
PROJECT_KEY = hashlib.sha256(b"htlink matching benchmark - public project key").digest()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clks", type=Path, required=True, help="CLKs (.npy, uint8 rows).")
    parser.add_argument("--split", type=int, required=True, help="Rows of data set A.")
    parser.add_argument(
        "--task",
        action="append",
        required=True,
        help="candidates:T, e2e:T or engine:T (repeatable).",
    )
    parser.add_argument("--dump-dir", type=Path, help="Write digests and matchings here.")
    return parser.parse_args(argv)


def parse_task(text: str) -> tuple[str, float]:
    """``"e2e:0.7"`` -> ``("e2e", 0.7)``."""
    kind, _, threshold = text.partition(":")
    if kind not in ("candidates", "e2e", "engine") or not threshold:
        raise SystemExit(f"bad --task {text!r}: use candidates:T, e2e:T or engine:T")
    return kind, float(threshold)


def candidate_digest(i: np.ndarray, j: np.ndarray, scores: np.ndarray, n_b: int) -> dict[str, Any]:
    """Order-independent fingerprint of a candidate set: SHA-256 of the sorted pair keys."""
    keys = i.astype(np.uint64) * np.uint64(n_b) + j.astype(np.uint64)
    order = np.argsort(keys, kind="stable")
    return {
        "pairs_sha256": hashlib.sha256(keys[order].tobytes()).hexdigest(),
        "scores_sha256": hashlib.sha256(scores.astype(np.float64)[order].tobytes()).hexdigest(),
    }


def pairs_from_labels(labels: np.ndarray, n_a: int) -> np.ndarray:
    """Rows ``(i, j)``: A record i and B record j share a label (clusters of one A + one B)."""
    labels = np.asarray(labels)
    a_labels, b_labels = labels[:n_a], labels[n_a:]
    a_of = {label: i for i, label in enumerate(a_labels.tolist())}
    pairs = [(a_of[label], j) for j, label in enumerate(b_labels.tolist()) if label in a_of]
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def run_e2e(
    clks_a: np.ndarray, clks_b: np.ndarray, threshold: float
) -> tuple[float, float, tuple[np.ndarray, ...], np.ndarray]:
    """Candidates then greedy one-to-one clustering; (candidate s, solve s, pairs, roots)."""
    start = time.perf_counter()
    a_words, b_words = as_words(clks_a), as_words(clks_b)
    i, j, scores, _ = dice_pairs(a_words, b_words, threshold)
    found = time.perf_counter()
    n_a, n_b = len(a_words), len(b_words)
    source_of = np.repeat(np.arange(2), [n_a, n_b])
    roots, _, _, _ = cluster_links(
        source_of,
        np.array([True, True]),
        i,
        j + n_a,
        scores,
        words=np.concatenate([a_words, b_words]),
        min_average=threshold,
    )
    end = time.perf_counter()
    return found - start, end - found, (i, j, scores), roots


def submissions(clks_a: np.ndarray, clks_b: np.ndarray) -> list[Submission]:
    """Two in-memory submissions with the row tokens' index as their token."""
    subs = []
    for agency, clks in zip(AGENCIES, (clks_a, clks_b), strict=True):
        manifest = {
            "agency": agency,
            "schema_fingerprint": "sha256:benchmark",
            "record_count": len(clks),
            "bit_length": clks.shape[1] * 8,
        }
        tokens = [f"{k:032x}" for k in range(len(clks))]
        subs.append(Submission(manifest=manifest, row_tokens=tokens, clks=clks))
    return subs


def main(argv: list[str] | None = None) -> int:
    """Warm up, time each task, report JSON on stdout."""
    args = parse_args(argv)
    tasks = [parse_task(t) for t in args.task]
    clks = np.load(args.clks)
    clks_a = np.ascontiguousarray(clks[: args.split])
    clks_b = np.ascontiguousarray(clks[args.split :])
    n_a, n_b = len(clks_a), len(clks_b)
    subs = submissions(clks_a, clks_b)

    # warm-up: numba loads (or compiles) the kernels; the engine's imports are done
    run_e2e(clks_a[:200], clks_b[:200], 0.8)
    link_submissions(
        submissions(clks_a[:200], clks_b[:200]), 0.8, PROJECT_KEY, deduplicated=set(AGENCIES)
    )

    results: list[dict[str, Any]] = []
    for kind, threshold in tasks:
        gc.collect()
        entry: dict[str, Any] = {"task": kind, "threshold": threshold}
        pairs: np.ndarray | None = None
        if kind == "candidates":
            start = time.perf_counter()
            a_words, b_words = as_words(clks_a), as_words(clks_b)
            i, j, scores, compared = dice_pairs(a_words, b_words, threshold)
            entry["seconds"] = entry["candidate_seconds"] = time.perf_counter() - start
            entry["candidates"] = len(scores)
            entry["compared"] = int(compared)
            if args.dump_dir is not None:
                entry.update(candidate_digest(i, j, scores, n_b))
        elif kind == "e2e":
            cand_s, solve_s, (i, j, scores), roots = run_e2e(clks_a, clks_b, threshold)
            entry.update(
                seconds=cand_s + solve_s,
                candidate_seconds=cand_s,
                solve_seconds=solve_s,
                candidates=len(scores),
            )
            if args.dump_dir is not None:
                entry.update(candidate_digest(i, j, scores, n_b))
                pairs = pairs_from_labels(roots, n_a)
        else:
            start = time.perf_counter()
            result = link_submissions(subs, threshold, PROJECT_KEY, deduplicated=set(AGENCIES))
            entry["seconds"] = time.perf_counter() - start
            entry["candidates"] = int(result.summary["pairs"]["agency-a~agency-b"]["candidates"])
            if args.dump_dir is not None:
                labels = np.concatenate(
                    [result.links[a]["pseudonym"].to_numpy(dtype=object) for a in AGENCIES]
                )
                pairs = pairs_from_labels(labels, n_a)
        if pairs is not None:
            entry["matches"] = len(pairs)
            assert args.dump_dir is not None
            np.save(args.dump_dir / f"htlink-{kind}-{threshold:g}.npy", pairs)
        results.append(entry)

    print(json.dumps({"tasks": results, "numba": version("numba")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
