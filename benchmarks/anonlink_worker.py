"""Time anonlink 0.15.3 candidate generation and greedy solving.  Runs ONLY in the peers' venv.

``bench_match.py`` starts this script with the peers' Python (anonlink is never imported
into htlink's virtualenv)::

    /work/peers/bin/python benchmarks/anonlink_worker.py --clks clks.npy --split 5000 \\
        --task candidates:0.8 --task e2e:0.8 --task e2e:0.7 [--dump-dir DIR]

``clks.npy`` holds the CLKs of both data sets, one row of bytes per record (the first
``--split`` rows are data set A, the rest B), exactly as htlink's encoder made them.  They
are turned into ``bitarray`` objects -- the form anonlink and clkhash use -- before any
clock starts.  Then, after one untimed warm-up on 200 x 200 records, each task is timed:

* ``candidates:T``: ``anonlink.candidate_generation.find_candidate_pairs([A, B],
  anonlink.similarities.dice_coefficient_accelerated, T)``;
* ``e2e:T``: the same call followed by ``anonlink.solving.greedy_solve(candidates)``; the
  two phases are timed separately and together;
* ``kernel:T`` (for information): only the similarity function that ``find_candidate_pairs``
  calls, ``dice_coefficient_accelerated((A, B), T)`` -- anonlink's C++ kernel and the sort
  of its results, without the Python-level merging of candidate tuples.

Prints one JSON line: every task's seconds and candidate count, plus the versions.  With
``--dump-dir`` (the first repeat) it also writes, untimed, for each task a digest of the
candidate set (SHA-256 of the sorted pair keys ``i * len(B) + j``, and of the scores in that
order) and, for ``e2e`` tasks, the matched pairs (``anonlink-e2e-T.npy``, rows ``(i, j)``),
so the caller can check that htlink found the same candidates and compare the matchings.

Only the standard library, numpy, bitarray and anonlink are used here.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clks", type=Path, required=True, help="CLKs (.npy, uint8 rows).")
    parser.add_argument("--split", type=int, required=True, help="Rows of data set A.")
    parser.add_argument(
        "--task",
        action="append",
        required=True,
        help="candidates:T, e2e:T or kernel:T (repeatable).",
    )
    parser.add_argument("--dump-dir", type=Path, help="Write digests and matchings here.")
    return parser.parse_args(argv)


def parse_task(text: str) -> tuple[str, float]:
    """``"e2e:0.7"`` -> ``("e2e", 0.7)``."""
    kind, _, threshold = text.partition(":")
    if kind not in ("candidates", "e2e", "kernel") or not threshold:
        raise SystemExit(f"bad --task {text!r}: use candidates:T, e2e:T or kernel:T")
    return kind, float(threshold)


def candidate_digest(
    rec_i: np.ndarray, rec_j: np.ndarray, sims: np.ndarray, n_b: int
) -> dict[str, Any]:
    """Order-independent fingerprint of a candidate set: SHA-256 of the sorted pair keys."""
    keys = rec_i.astype(np.uint64) * np.uint64(n_b) + rec_j.astype(np.uint64)
    order = np.argsort(keys, kind="stable")
    return {
        "pairs_sha256": hashlib.sha256(keys[order].tobytes()).hexdigest(),
        "scores_sha256": hashlib.sha256(sims.astype(np.float64)[order].tobytes()).hexdigest(),
    }


def main(argv: list[str] | None = None) -> int:
    """Convert the CLKs, warm up, time each task, report JSON on stdout."""
    args = parse_args(argv)
    tasks = [parse_task(t) for t in args.task]
    import anonlink
    from bitarray import bitarray

    def to_bitarray(row: np.ndarray) -> bitarray:
        ba = bitarray()
        ba.frombytes(row.tobytes())
        return ba

    clks = np.load(args.clks)
    a_set = [to_bitarray(r) for r in clks[: args.split]]
    b_set = [to_bitarray(r) for r in clks[args.split :]]
    similarity = anonlink.similarities.dice_coefficient_accelerated
    find = anonlink.candidate_generation.find_candidate_pairs
    solve = anonlink.solving.greedy_solve

    # warm-up: load the native extensions, touch the code paths once
    solve(find([a_set[:200], b_set[:200]], similarity, 0.8))

    results: list[dict[str, Any]] = []
    for kind, threshold in tasks:
        gc.collect()
        entry: dict[str, Any] = {"task": kind, "threshold": threshold}
        groups = None
        if kind == "kernel":
            start = time.perf_counter()
            sims, (rec_i, rec_j) = similarity((a_set, b_set), threshold)
            found = end = time.perf_counter()
        else:
            start = time.perf_counter()
            candidates = find([a_set, b_set], similarity, threshold)
            found = time.perf_counter()
            groups = solve(candidates) if kind == "e2e" else None
            end = time.perf_counter()
            sims, _, (rec_i, rec_j) = candidates
            del candidates
        entry.update(seconds=end - start, candidate_seconds=found - start, candidates=len(sims))
        if groups is not None:
            entry["solve_seconds"] = end - found
            entry["groups"] = len(groups)
        if args.dump_dir is not None:
            entry.update(
                candidate_digest(
                    np.frombuffer(rec_i, dtype=np.uint32),
                    np.frombuffer(rec_j, dtype=np.uint32),
                    np.frombuffer(sims, dtype=np.float64),
                    len(b_set),
                )
            )
            if groups is not None:
                pairs = np.array(
                    sorted(anonlink.solving.pairs_from_groups(groups)), dtype=np.int64
                ).reshape(-1, 2)
                np.save(args.dump_dir / f"anonlink-e2e-{threshold:g}.npy", pairs)
        results.append(entry)
        del groups, sims, rec_i, rec_j

    print(
        json.dumps(
            {
                "tasks": results,
                "anonlink": version("anonlink"),
                "bitarray": version("bitarray"),
                "numpy": version("numpy"),
                "python": platform.python_version(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
