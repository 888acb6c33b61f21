"""LSH blocking at scale: 1,000,000 x 1,000,000 CLKs (and 100,000 x 100,000) on this machine.

Run with htlink's own Python, from the repository root::

    .venv/bin/python benchmarks/bench_blocking.py                      # 1,000,000 and 100,000
    .venv/bin/python benchmarks/bench_blocking.py --rows 100000        # one size only
    .venv/bin/python benchmarks/bench_blocking.py --rows 20000 --results /tmp/b.json  # smoke

Steps, for each ``--rows R``:

1. **Data** (not timed): real htlink encodings of a synthetic population.
   ``htlink synth --people P --seed S`` (P = 1.05 R, so that the healthcare agency has at
   least R records) writes three agencies' extracts with the scenario's errors, repeat
   visits and overlaps; ``htlink encode`` encodes each with ``configs/schemas/person-v1.json``
   (1024-bit CLKs of given name, surname, date of birth, sex, ZIP and phone) and the
   mapping file synth wrote.  Side A is the first R encodings of the healthcare
   submission, side B the first R of the prosecution and social-services submissions
   together (submissions are shuffled, so "first R" is a random subset).  The encodings
   are cached in ``--workdir`` (default ``$TMPDIR/htlink-bench-blocking``) and reused.
2. **Linkage** (timed), in a fresh process so that its peak memory is its own:
   read both sides' CLKs from Parquet, then ``lsh_pairs(A, B, threshold)`` with automatic
   parameters (planning included in the time).  Reports wall time, the planner's choice,
   candidate pairs compared, reduction ratio, skipped oversized buckets, pairs found and
   the process's peak resident memory (``VmHWM`` from ``/proc/self/status``, which covers
   reading the data too).
3. **Pair completeness** (not timed): ``--sample-rows`` (2,000) random rows of A are
   compared exhaustively with all of B by ``dice_pairs`` at the same threshold; the
   completeness is the share of those exhaustive pairs that the blocked run also returned
   for those rows.  The blocked pairs of the sample rows must be a subset of the
   exhaustive ones with identical scores (else exit status 3).

The figures go to ``benchmarks/results/blocking.json``; the exit status is 1 unless every
run is under ``--max-seconds`` (600), ``--max-memory-gib`` (8) and at least
``--min-completeness`` (0.99).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench_common import display_path, git_state, load_average, machine_info, utc_now, write_secret
from febrl_data import BENCH_DIR, REPO_ROOT

DEFAULT_RESULTS = BENCH_DIR / "results" / "blocking.json"
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "htlink-bench-blocking"
SCHEMA = REPO_ROOT / "configs" / "schemas" / "person-v1.json"
AGENCIES_A = ("healthcare",)
AGENCIES_B = ("prosecution", "social_services")
PEOPLE_PER_ROW = 1.05


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[1_000_000, 100_000], help="rows per side"
    )
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--target-recall", type=float, default=0.99)
    parser.add_argument("--sample-rows", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1, help="synth seed and LSH seed")
    parser.add_argument("--workers", type=int, default=None, help="threads (default: all CPUs)")
    parser.add_argument("--max-bucket", type=int, default=None)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--max-memory-gib", type=float, default=8.0)
    parser.add_argument("--min-completeness", type=float, default=0.99)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ----------------------------------------------------------------------------- data


def htlink_command() -> list[str]:
    """``htlink`` of the Python running this script."""
    exe = Path(sys.executable).with_name("htlink")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "htlink"]


def make_data(workdir: Path, rows: int, seed: int) -> tuple[Path, dict[str, Any]]:
    """Synthesize and encode a population for ``rows`` per side (cached); its folder."""
    people = math.ceil(rows * PEOPLE_PER_ROW)
    folder = workdir / f"people-{people}-seed-{seed}"
    done = folder / "encoded.json"
    if done.exists():
        return folder, json.loads(done.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {"people": people, "seed": seed}
    started = time.perf_counter()
    subprocess.run(
        [*htlink_command(), "synth", "--people", str(people), "--seed", str(seed),
         "--out", str(folder / "synth"), "--force", "--quiet"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    info["synth_seconds"] = round(time.perf_counter() - started, 1)
    secret = write_secret(folder)
    started = time.perf_counter()
    for agency in (*AGENCIES_A, *AGENCIES_B):
        subprocess.run(
            [*htlink_command(), "encode", "--schema", str(SCHEMA), "--secret", str(secret),
             "--input", str(folder / "synth" / f"{agency}.csv"),
             "--map-file", str(folder / "synth" / "mappings" / f"{agency}.yaml"),
             "--agency", agency, "--out", str(folder / f"enc-{agency}"),
             "--workers", str(os.cpu_count() or 1), "--force", "--quiet"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    info["encode_seconds"] = round(time.perf_counter() - started, 1)
    summary = json.loads((folder / "synth" / "summary.json").read_text())
    info["records"] = summary.get("records")
    done.write_text(json.dumps(info, indent=1))
    return folder, info


# ----------------------------------------------------------------------------- worker


def peak_rss_bytes() -> int:
    """This process's high-water mark of resident memory (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return -1


def read_clks(folder: Path, agencies: tuple[str, ...], rows: int) -> Any:
    """The first ``rows`` CLKs of the agencies' submissions, as ``(rows, words)`` uint64."""
    import numpy as np
    import pyarrow.parquet as pq

    from htlink.match.similarities import as_words

    parts = []
    for agency in agencies:
        table = pq.read_table(folder / f"enc-{agency}" / "submission" / "encodings.parquet")
        column = table.column("clk").combine_chunks()
        width = column.type.byte_width
        data = np.frombuffer(column.buffers()[1], np.uint8)
        parts.append(data[column.offset * width : (column.offset + len(column)) * width])
        del table, column
    clks = np.concatenate(parts).reshape(-1, width)[:rows]
    if len(clks) < rows:
        sys.exit(f"only {len(clks)} CLKs for {agencies}, {rows} wanted")
    return as_words(clks)


def exhaustive_sample(a_words: Any, b_words: Any, rows: Any, threshold: float, workers: int):
    """``dice_pairs`` of the sampled rows of A against all of B, split across threads."""
    import numpy as np

    from htlink.match.similarities import dice_pairs

    chunks = np.array_split(rows, max(1, 4 * workers))

    def run(chunk: Any) -> tuple[Any, Any, Any]:
        i, j, s, _ = dice_pairs(a_words[chunk], b_words, threshold)
        return chunk[i], j, s

    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(run, chunks))
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def worker(args: argparse.Namespace) -> int:
    """One linkage, in its own process; prints a JSON result line."""
    import numpy as np

    from htlink.match.blocking import lsh_pairs

    spec = json.loads(args.worker.read_text())
    folder, rows = Path(spec["folder"]), spec["rows"]
    workers = args.workers or len(os.sched_getaffinity(0))
    started = time.perf_counter()
    a_words = read_clks(folder, AGENCIES_A, rows)
    b_words = read_clks(folder, AGENCIES_B, rows)
    load_seconds = time.perf_counter() - started
    load_before = load_average()
    kwargs: dict[str, Any] = {"seed": args.seed, "target_recall": args.target_recall}
    if args.max_bucket is not None:
        kwargs["max_bucket"] = args.max_bucket
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.perf_counter()
        i, j, s, stats = lsh_pairs(a_words, b_words, args.threshold, workers=workers, **kwargs)
        link_seconds = time.perf_counter() - started
    peak_link = peak_rss_bytes()
    load_after = load_average()

    rng = np.random.default_rng(args.seed)
    sample = np.sort(rng.choice(rows, min(args.sample_rows, rows), replace=False))
    started = time.perf_counter()
    ei, ej, es = exhaustive_sample(a_words, b_words, sample, args.threshold, workers)
    exhaustive_seconds = time.perf_counter() - started
    width = b_words.shape[0]
    exhaustive = dict(zip((ei * width + ej).tolist(), es.tolist(), strict=True))
    in_sample = np.isin(i, sample)
    blocked = dict(
        zip((i[in_sample] * width + j[in_sample]).tolist(), s[in_sample].tolist(), strict=True)
    )
    found = sum(1 for code in exhaustive if code in blocked)
    not_exhaustive = sum(1 for code in blocked if code not in exhaustive)
    wrong_scores = sum(1 for code, score in blocked.items() if exhaustive.get(code, score) != score)
    bins = [args.threshold, 0.85, 0.9, 0.95, 1.0001]
    by_score = []
    for lo, hi in itertools.pairwise(bins):
        codes = [c for c, sc in exhaustive.items() if lo <= sc < hi]
        kept = sum(1 for c in codes if c in blocked)
        by_score.append(
            {"scores": f"[{lo:.2f}, {min(hi, 1.0):.2f}]", "exhaustive_pairs": len(codes),
             "blocked_found": kept, "completeness": kept / len(codes) if codes else None}
        )  # fmt: skip

    result = {
        "rows_a": int(a_words.shape[0]),
        "rows_b": int(b_words.shape[0]),
        "threshold": args.threshold,
        "workers": workers,
        "load_seconds": round(load_seconds, 2),
        "link_seconds": round(link_seconds, 2),
        "planning_seconds": round(stats.plan.get("planning_seconds", 0.0), 2),
        "peak_rss_bytes": peak_link,
        "peak_rss_gib": round(peak_link / 2**30, 3),
        "pairs_found": int(stats.pairs),
        "candidate_pairs": int(stats.candidate_pairs),
        "total_pairs": int(stats.total_pairs),
        "reduction_ratio": stats.reduction_ratio,
        "stats": stats.as_dict(),
        "warnings": [str(w.message) for w in caught],
        "completeness_sample_rows": len(sample),
        "exhaustive_pairs_in_sample": len(exhaustive),
        "blocked_pairs_in_sample": len(blocked),
        "pair_completeness": found / len(exhaustive) if exhaustive else 1.0,
        "completeness_by_score": by_score,
        "blocked_not_in_exhaustive": not_exhaustive,
        "blocked_wrong_scores": wrong_scores,
        "exhaustive_sample_seconds": round(exhaustive_seconds, 2),
        "exhaustive_seconds_estimated_full": round(exhaustive_seconds * rows / len(sample), 1),
        "load_average_before": load_before,
        "load_average_after": load_after,
    }
    print(json.dumps(result))
    return 0


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker is not None:
        return worker(args)
    runs: list[dict[str, Any]] = []
    status = 0
    for rows in args.rows:
        folder, data_info = make_data(args.workdir, rows, args.seed)
        spec = args.workdir / f"spec-{rows}.json"
        spec.write_text(json.dumps({"folder": str(folder), "rows": rows}))
        command = [sys.executable, __file__, "--worker", str(spec), "--seed", str(args.seed),
                   "--threshold", str(args.threshold), "--target-recall", str(args.target_recall),
                   "--sample-rows", str(args.sample_rows)]  # fmt: skip
        if args.workers:
            command += ["--workers", str(args.workers)]
        if args.max_bucket is not None:
            command += ["--max-bucket", str(args.max_bucket)]
        print(f"{rows:,} x {rows:,}: linking ...", flush=True)
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            return 2
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["data"] = data_info
        runs.append(result)
        plan = result["stats"]["plan"]
        print(
            f"  {result['link_seconds']:.1f} s (planning {result['planning_seconds']:.1f} s), "
            f"peak {result['peak_rss_gib']:.2f} GiB, {plan['bands']} bands x "
            f"{plan['rows_per_band']} bits (pool {plan['pool_size']} bits), "
            f"{result['candidate_pairs']:,} candidates, reduction ratio "
            f"{result['reduction_ratio']:.6f}, {result['pairs_found']:,} pairs, "
            f"pair completeness {result['pair_completeness']:.4f} "
            f"({result['exhaustive_pairs_in_sample']:,} exhaustive pairs of "
            f"{result['completeness_sample_rows']:,} sample rows)",
            flush=True,
        )
        if result["blocked_not_in_exhaustive"] or result["blocked_wrong_scores"]:
            print("  blocked pairs differ from exhaustive ones!", file=sys.stderr)
            status = 3
        ok = (
            result["link_seconds"] <= args.max_seconds
            and result["peak_rss_bytes"] <= args.max_memory_gib * 2**30
            and result["pair_completeness"] >= args.min_completeness
        )
        result["meets_targets"] = ok
        if not ok and status == 0:
            status = 1
    output = {
        "benchmark": "bench_blocking",
        "measured": utc_now(),
        "command": " ".join(["benchmarks/bench_blocking.py", *(argv or sys.argv[1:])]),
        "targets": {
            "max_seconds": args.max_seconds,
            "max_memory_gib": args.max_memory_gib,
            "min_completeness": args.min_completeness,
        },
        "machine": machine_info(),
        "git": git_state(),
        "runs": runs,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(output, indent=1) + "\n")
    print(f"Results written to {display_path(args.results)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
