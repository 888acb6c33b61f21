"""Linkage quality of htlink (encoded) against splink (unencoded) on the synthetic agencies.

Run with htlink's own Python, from the repository root (splink runs in a subprocess with the
peers' Python, ``benchmarks/.peers-venv``, which ``make bench-peers`` makes)::

    .venv/bin/python benchmarks/bench_splink.py
    .venv/bin/python benchmarks/bench_splink.py --people 2000 --results /tmp/s.json   # smoke run

1. **Data**: ``htlink synth --scenario synthetic/default.yaml --seed 1`` (the default
   three-agency scenario: 20,000 people, 39,880 records, ``truth.csv``).
2. **htlink**, as ``scripts/demo.sh`` does it: ``htlink encode`` of each agency with the
   shipped schema ``configs/schemas/person-v1.json`` and the mapping file synth wrote
   (``--map-file``), then ``htlink match --threshold auto --write-pairs 0.7`` and
   ``htlink evaluate`` against the truth.  The secret is a fixed public benchmark secret
   (so the run is reproducible); signing keys and quality reports are left out (they do not
   change the encodings).  A threshold sweep re-runs ``htlink match`` at fixed thresholds.
3. **splink** on the *unencoded* identifiers: the same six fields (given name, surname, date
   of birth, sex, ZIP, phone) read through the same mapping files and normalized by the same
   rules (``htlink.encode.pipeline.prepare_chunk``): the values ``htlink encode`` puts into
   the Bloom filters, in the clear.  ``splink_worker.py`` runs a standard splink 4 model
   (see its docstring): link_and_dedupe, Jaro-Winkler names with term-frequency
   adjustments, splink's date-of-birth comparison, exact sex / ZIP / phone, EM-trained m,
   u by random sampling; clusters at match probability 0.5 (``--splink-threshold``).
4. **The same scoring** for both: splink's clusters and scored pairs are written as links
   and pairs files and scored by the same ``htlink evaluate`` command; sweeps use the same
   ``htlink.evaluate.evaluate_linkage``.
5. **Where the pairs are lost**: every true pair (and every wrongly linked pair) is put in
   one class by how its clear values differ (identical, a spelling difference in one name,
   a name sharing a word, a day/month swap, ...); the counts and each tool's recall per
   class go to the results -- aggregates only, never a value.

Nothing is tuned on the truth, except in the columns labelled *oracle*: the best F1 over
each tool's own threshold grid (clustered) and over every distinct pair score (before
clustering), reported for both tools alike.

``--schemas`` adds linkage schemas to compare with the shipped one (e.g. the ones under
``benchmarks/schemas/person-*.json``); each is encoded and matched at ``--threshold auto``.

Exit status 1 if htlink's pairwise F1 at the auto threshold is more than ``--target-points``
(2) F1 points below splink's at its threshold.  Figures go to
``benchmarks/results/splink-quality.json``.
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
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench_common import display_path, git_state, load_average, machine_info, utc_now, write_secret
from febrl_data import BENCH_DIR, REPO_ROOT

AGENCIES = ("healthcare", "social_services", "prosecution")
FIELDS = ("given_name", "surname", "dob", "sex", "zip", "phone")
DEFAULT_SCHEMA = REPO_ROOT / "configs" / "schemas" / "person-v1.json"
DEFAULT_RESULTS = BENCH_DIR / "results" / "splink-quality.json"
DEFAULT_PEERS_PYTHON = BENCH_DIR / ".peers-venv" / "bin" / "python"
WORKER = BENCH_DIR / "splink_worker.py"
#: htlink's own threshold grid (clustered runs of ``htlink match``), for the oracle column.
HTLINK_GRID = (0.75, 0.8, 0.825, 0.85, 0.875, 0.9)
#: splink's own grid (match probability), for the oracle column.
SPLINK_GRID = (0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99, 0.999)
PAIRS_FLOOR = 0.7  # htlink match --write-pairs, as scripts/demo.sh
SPLINK_FLOOR = 0.01  # splink predict(threshold_match_probability=...)


# --------------------------------------------------------------------------- conversions


def splink_links(clusters: pd.DataFrame) -> pd.DataFrame:
    """splink's clusters (``source_dataset, unique_id, cluster_id``) as an evaluate links frame.

    Returns ``agency, record_id, pseudonym``; pseudonyms are numbers (``S1``, ``S2``, ...)
    in order of first appearance, so no record id leaks into them.
    """
    codes, _ = pd.factorize(clusters["cluster_id"].astype(str))
    return pd.DataFrame(
        {
            "agency": clusters["source_dataset"].astype(str).to_numpy(dtype=object),
            "record_id": clusters["unique_id"].astype(str).to_numpy(dtype=object),
            "pseudonym": np.array([f"S{c + 1}" for c in codes], dtype=object),
        }
    )


def splink_pairs(pairs: pd.DataFrame, score: str = "match_probability") -> pd.DataFrame:
    """splink's predictions as an evaluate pairs frame (``similarity`` = ``score``)."""
    return pd.DataFrame(
        {
            "agency_a": pairs["source_dataset_l"].astype(str).to_numpy(dtype=object),
            "record_a": pairs["unique_id_l"].astype(str).to_numpy(dtype=object),
            "agency_b": pairs["source_dataset_r"].astype(str).to_numpy(dtype=object),
            "record_b": pairs["unique_id_r"].astype(str).to_numpy(dtype=object),
            "similarity": pairs[score].astype(float).to_numpy(),
        }
    )


def write_links_files(links: pd.DataFrame, folder: Path) -> list[Path]:
    """One ``<agency>.links.csv`` (``record_id, pseudonym``) per agency, for ``htlink evaluate``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for agency in AGENCIES:
        path = folder / f"{agency}.links.csv"
        part = links[links["agency"] == agency]
        part[["record_id", "pseudonym"]].to_csv(path, index=False)
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- error classes


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def name_status(x: str | None, y: str | None) -> str:
    """How two normalized names differ: same, missing, spelling, shares a word, different."""
    if not x or not y:
        return "missing"
    if x == y:
        return "same"
    if set(x.split()) & set(y.split()):
        return "shares a word"  # a middle name written in, a second surname dropped, ...
    if levenshtein(x, y) <= 2:
        return "spelling"  # a typo, an OCR slip, a spelling by sound or transliteration
    return "different"  # a nickname, an alias, a married name, a longer respelling


def dob_status(x: str | None, y: str | None) -> str:
    """How two ISO dates of birth differ."""
    if not x or not y:
        return "missing"
    if x == y:
        return "same"
    (ya, ma, da), (yb, mb, db) = x.split("-"), y.split("-")
    if ya == yb and ma == db and da == mb:
        return "day/month swapped"
    if ya == yb and ("01-01" in (f"{ma}-{da}", f"{mb}-{db}")):
        return "January 1"
    if (ma, da) == (mb, db):
        return "year differs"
    if len(x) == len(y) and sum(c != d for c, d in zip(x, y, strict=True)) == 1:
        return "one digit"
    return "different"


def pair_class(a: dict[str, Any], b: dict[str, Any]) -> str:
    """One class per pair of records by how their given name, surname and dob differ."""
    g, s, d = (
        name_status(a["given_name"], b["given_name"]),
        name_status(a["surname"], b["surname"]),
        dob_status(a["dob"], b["dob"]),
    )
    if (
        a["given_name"]
        and a["surname"]
        and b["given_name"]
        and b["surname"]
        and a["given_name"] == b["surname"]
        and a["surname"] == b["given_name"]
        and a["given_name"] != a["surname"]
    ):
        return "given name and surname swapped"
    if "missing" in (g, s, d):
        return "a name or the date of birth missing"
    differing = [
        (f, st) for f, st in (("given name", g), ("surname", s), ("dob", d)) if st != "same"
    ]
    if not differing:
        return "given name, surname, dob identical"
    if len(differing) > 1:
        return "two or three of them differ"
    field, status = differing[0]
    return f"{field}: {status}"


def group_pairs(labels: np.ndarray, limit: int = 5_000_000) -> tuple[np.ndarray, np.ndarray] | None:
    """Every pair of positions with equal labels (None if there are more than ``limit``)."""
    codes, counts = np.unique(labels, return_inverse=True, return_counts=True)[1:]
    sizes = counts[counts > 1]
    if int((sizes * (sizes - 1) // 2).sum()) > limit:
        return None
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    first, second = [], []
    for group in np.flatnonzero(counts > 1):
        members = order[starts[group] : starts[group + 1]]
        i, j = np.triu_indices(len(members), k=1)
        first.append(members[i])
        second.append(members[j])
    if not first:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(first), np.concatenate(second)


def error_analysis(
    records: pd.DataFrame, person: np.ndarray, predicted: dict[str, np.ndarray]
) -> dict[str, Any]:
    """True pairs and false links by class, with each tool's recall per class (counts only).

    ``records`` holds the normalized fields (one row per record, ``None`` = missing),
    ``person`` the true person of each row and ``predicted`` each tool's cluster label.
    """
    rows = [
        {k: v if isinstance(v, str) and v else None for k, v in row.items()}
        for row in records[["given_name", "surname", "dob"]].to_dict("records")
    ]
    true_pairs = group_pairs(person, limit=10**8)
    assert true_pairs is not None
    ti, tj = true_pairs
    classes = np.array([pair_class(rows[i], rows[j]) for i, j in zip(ti, tj, strict=True)])
    table: dict[str, dict[str, Any]] = {}
    for name in sorted(set(classes), key=lambda c: -int((classes == c).sum())):
        table[name] = {"true_pairs": int((classes == name).sum())}
    false_links: dict[str, dict[str, int] | None] = {}
    for tool, labels in predicted.items():
        found = labels[ti] == labels[tj]
        for name, entry in table.items():
            mask = classes == name
            entry[f"{tool}_found"] = int(found[mask].sum())
            entry[f"{tool}_recall"] = round(float(found[mask].mean()), 4)
        linked = group_pairs(labels)
        if linked is None:
            false_links[tool] = None
            continue
        li, lj = linked
        wrong = person[li] != person[lj]
        counts = Counter(
            pair_class(rows[i], rows[j]) for i, j in zip(li[wrong], lj[wrong], strict=True)
        )
        false_links[tool] = dict(counts.most_common())
    return {"true_pairs_by_class": table, "false_links_by_class": false_links}


# --------------------------------------------------------------------------- steps


def run(cmd: list[str], log: Path) -> float:
    """Run a command, its output appended to ``log``; return its wall time."""
    started = time.perf_counter()
    with log.open("a") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"command failed (exit {proc.returncode}), see {log}: {' '.join(cmd)}")
    return time.perf_counter() - started


def htlink_cmd() -> str:
    found = Path(sys.executable).with_name("htlink")
    return str(found) if found.exists() else "htlink"


def prepare_clear(world: Path, schema_path: Path, out: Path) -> dict[str, Path]:
    """The six identifier fields of each agency, normalized exactly as ``htlink encode`` does."""
    from htlink.encode.mapping import load_mapping_file
    from htlink.encode.pipeline import prepare_chunk
    from htlink.schema import load_schema_file

    schema = load_schema_file(schema_path)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for agency in AGENCIES:
        mapping = load_mapping_file(world / "mappings" / f"{agency}.yaml")
        frame = pd.read_csv(world / f"{agency}.csv", dtype=str, keep_default_na=False)
        prepared = prepare_chunk(frame, schema, mapping, 0)
        clear = pd.DataFrame({"unique_id": prepared.ids})
        for name in FIELDS:
            clear[name] = prepared.columns[name]
        paths[agency] = out / f"{agency}.csv"
        clear.to_csv(paths[agency], index=False)
    return paths


def encode_all(
    schema: Path, secret: Path, world: Path, out: Path, log: Path, field_level: bool = False
) -> float:
    seconds = 0.0
    for agency in AGENCIES:
        seconds += run(
            [
                htlink_cmd(),
                "encode",
                "--schema",
                str(schema),
                "--secret",
                str(secret),
                "--input",
                str(world / f"{agency}.csv"),
                "--agency",
                agency,
                "--out",
                str(out / agency),
                "--map-file",
                str(world / "mappings" / f"{agency}.yaml"),
                "--quiet",
                "--force",
                *(["--field-level"] if field_level else []),
            ],
            log,
        )
    return seconds


def match(enc: Path, threshold: str, out: Path, log: Path, key: Path | None, pairs: bool) -> float:
    cmd = [htlink_cmd(), "match", *(str(enc / a / "submission") for a in AGENCIES)]
    cmd += ["--threshold", threshold, "--out", str(out)]
    if key is not None:
        cmd += ["--project-key", str(key)]
    if pairs:
        cmd += ["--write-pairs", str(PAIRS_FLOOR)]
    if out.exists():
        shutil.rmtree(out)
    return run(cmd, log)


def tokens_of(enc: Path) -> dict[str, Path]:
    return {a: enc / a / "private" / "row-tokens.csv" for a in AGENCIES}


def evaluate_cli(
    truth: Path,
    links: list[Path],
    tokens: dict[str, Path],
    pairs: Path,
    threshold: float,
    out: Path,
    log: Path,
) -> tuple[dict[str, Any], float]:
    cmd = [htlink_cmd(), "evaluate", "--truth", str(truth), "--links", *map(str, links)]
    for agency, path in tokens.items():
        cmd += ["--tokens", f"{agency}={path}"]
    cmd += ["--pairs", str(pairs), "--threshold", f"{threshold:g}", "--out", str(out), "--force"]
    seconds = run(cmd, log)
    return json.loads((out / "metrics.json").read_text()), seconds


def summary_of(metrics: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of one ``metrics.json`` (or ``Evaluation.to_dict()``)."""
    pw, cl = metrics["pairwise"], metrics["clusters"]
    out: dict[str, Any] = {
        "pairwise": pw["all"],
        "cross_agency": pw["cross_agency"],
        "within_agency": pw["within_agency"],
        "agency_pairs": {
            f"{r['agency_a']}~{r['agency_b']}": {
                k: r[k]
                for k in (
                    "true_pairs",
                    "true_positives",
                    "false_positives",
                    "precision",
                    "recall",
                    "f1",
                )
            }
            for r in metrics["agency_pairs"]
        },
        "clusters": {
            k: cl[k]
            for k in (
                "people",
                "predicted_clusters",
                "exactly_reunited",
                "multi_record_people",
                "multi_record_reunited",
                "multi_record_reunited_share",
                "split_people",
                "over_merged_people",
                "mixed_clusters",
                "cluster_precision",
                "cluster_recall",
                "cluster_f1",
            )
        },
    }
    if metrics.get("sweep"):
        sw = metrics["sweep"]
        out["pairs_sweep"] = {
            "scope": sw["scope"],
            "best": sw["best"],
            "chosen": sw["chosen"],
            "max_recall": sw["max_recall"],
        }
        out["blocking"] = metrics["blocking"]
    return out


def grid_entry(threshold: float, metrics: dict[str, Any]) -> dict[str, Any]:
    pw, cl = metrics["pairwise"]["all"], metrics["clusters"]
    return {
        "threshold": threshold,
        "precision": pw["precision"],
        "recall": pw["recall"],
        "f1": pw["f1"],
        "cluster_f1": cl["cluster_f1"],
        "multi_record_reunited_share": cl["multi_record_reunited_share"],
    }


def labels_for(truth_frame: pd.DataFrame, links: pd.DataFrame) -> np.ndarray:
    """One predicted cluster label per truth row (a record not linked is its own cluster)."""
    keyed = truth_frame[["agency", "record_id"]].merge(
        links[["agency", "record_id", "pseudonym"]], on=["agency", "record_id"], how="left"
    )
    pseud = keyed["pseudonym"].fillna("").astype(str).to_numpy(dtype=object)
    alone = pseud == ""
    pseud[alone] = np.array([f"~{i}" for i in np.flatnonzero(alone)], dtype=object)
    return pseud


# --------------------------------------------------------------------------- main


def htlink_run(
    schema: Path,
    name: str,
    work: Path,
    secret: Path,
    world: Path,
    truth: Path,
    log: Path,
    grid: tuple[float, ...],
) -> dict[str, Any]:
    """Encode, match at auto (and the grid), evaluate; the figures of one schema."""
    from htlink.evaluate import evaluate_files

    enc = work / f"enc-{name}"
    timings: dict[str, float] = {}
    timings["encode"] = encode_all(schema, secret, world, enc, log)
    links_dir = work / f"links-{name}-auto"
    timings["match_auto"] = match(enc, "auto", links_dir, log, None, pairs=True)
    auto = json.loads((links_dir / "summary.json").read_text())["threshold"]
    links = [links_dir / f"{a}.links.csv" for a in AGENCIES]
    metrics, timings["evaluate"] = evaluate_cli(
        truth, links, tokens_of(enc), links_dir / "pairs.csv", auto, work / f"eval-{name}", log
    )
    result = {"schema": display_path(schema), "auto_threshold": auto, **summary_of(metrics)}
    sweep = [{**grid_entry(auto, metrics), "auto": True}]
    for t in grid:
        if abs(t - auto) < 1e-9:
            continue
        out = work / f"links-{name}-{t:g}"
        match(enc, f"{t:g}", out, log, links_dir / "project.key", pairs=False)
        ev = evaluate_files(
            truth, [out / f"{a}.links.csv" for a in AGENCIES], tokens=tokens_of(enc)
        )
        sweep.append(grid_entry(t, ev.to_dict()))
        shutil.rmtree(out)
    result["grid"] = sorted(sweep, key=lambda e: e["threshold"])
    result["seconds"] = timings
    result["_links"] = links
    result["_tokens"] = tokens_of(enc)
    return result


def probabilistic_run(
    schema: Path, work: Path, secret: Path, world: Path, truth: Path, log: Path
) -> dict[str, Any]:
    """htlink's probabilistic mode (field-level encodings, Fellegi-Sunter EM) on one schema."""
    from htlink.evaluate import evaluate_files

    enc = work / "enc-probabilistic"
    timings = {"encode": encode_all(schema, secret, world, enc, log, field_level=True)}
    out = work / "links-probabilistic"
    cmd = [htlink_cmd(), "match", *(str(enc / a / "submission") for a in AGENCIES)]
    cmd += ["--method", "probabilistic", "--threshold", "auto", "--out", str(out)]
    timings["match"] = run(cmd, log)
    links = [out / f"{a}.links.csv" for a in AGENCIES]
    metrics = evaluate_files(truth, links, tokens=tokens_of(enc)).to_dict()
    return {"schema": display_path(schema), "method": "probabilistic", "probability": 0.5,
            **summary_of(metrics), "seconds": timings}  # fmt: skip


def best_of(grid: list[dict[str, Any]]) -> dict[str, Any]:
    return max(grid, key=lambda e: (e["f1"], e["threshold"]))


def fmt(x: float) -> str:
    return f"{x:.4f}"


def at(best: dict[str, Any]) -> str:
    return f"{fmt(best['f1'])} at {best['threshold']:.4g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--people", type=int, default=None, help="default: the scenario's 20,000")
    parser.add_argument(
        "--schemas",
        nargs="*",
        type=Path,
        default=[],
        help="further linkage schemas to compare (auto threshold and grid)",
    )
    parser.add_argument("--htlink-grid", nargs="*", type=float, default=list(HTLINK_GRID))
    parser.add_argument(
        "--variant-grid",
        nargs="*",
        type=float,
        default=[],
        help="thresholds for the --schemas (default: none, the auto threshold only)",
    )
    parser.add_argument("--splink-threshold", type=float, default=0.5)
    parser.add_argument("--splink-grid", nargs="*", type=float, default=list(SPLINK_GRID))
    parser.add_argument("--target-points", type=float, default=2.0)
    parser.add_argument(
        "--no-probabilistic",
        action="store_true",
        help="skip htlink's probabilistic mode (--field-level + --method probabilistic)",
    )
    parser.add_argument("--peers-python", type=Path, default=DEFAULT_PEERS_PYTHON)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    args = parser.parse_args(argv)

    if not args.peers_python.exists():
        raise SystemExit(
            f"{args.peers_python} not found: run `make bench-peers` (splink is in "
            "benchmarks/peers-requirements.txt)."
        )
    from htlink.evaluate import evaluate_linkage, load_truth

    started = time.perf_counter()
    load_start = load_average()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="htlink-bench-splink-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "commands.log"
    print(f"working in {work} (command output: {log})")

    world = work / "world"
    cmd = [
        htlink_cmd(),
        "synth",
        "--scenario",
        str(REPO_ROOT / "synthetic" / "default.yaml"),
        "--seed",
        str(args.seed),
        "--out",
        str(world),
        "--quiet",
        "--force",
    ]
    if args.people:
        cmd += ["--people", str(args.people)]
    synth_seconds = run(cmd, log)
    truth = world / "truth.csv"
    synth_summary = json.loads((world / "summary.json").read_text())
    secret = write_secret(work)

    # ---- htlink, the shipped schema and any others
    schemas = [DEFAULT_SCHEMA, *args.schemas]
    htlink_results = []
    for i, schema in enumerate(schemas):
        name = "shipped" if i == 0 else schema.stem
        print(f"htlink: {display_path(schema)} ...", flush=True)
        grid = tuple(args.htlink_grid if i == 0 else args.variant_grid)
        htlink_results.append(htlink_run(schema, name, work, secret, world, truth, log, grid))
    main_ht = htlink_results[0]
    prob = None
    if not args.no_probabilistic:
        print("htlink: probabilistic mode on the shipped schema ...", flush=True)
        prob = probabilistic_run(DEFAULT_SCHEMA, work, secret, world, truth, log)

    # ---- splink on the clear values
    print("splink: preparing the unencoded fields and running the worker ...", flush=True)
    clear = prepare_clear(world, DEFAULT_SCHEMA, work / "clear")
    thresholds = sorted({args.splink_threshold, *args.splink_grid})
    job = {
        "inputs": {a: str(p) for a, p in clear.items()},
        "out": str(work / "splink"),
        "thresholds": thresholds,
        "predict_floor": SPLINK_FLOOR,
        "seed": args.seed,
        "max_pairs": 5e6,
        "threads": 2,
    }
    job_path = work / "splink-job.json"
    job_path.write_text(json.dumps(job, indent=1))
    splink_seconds = run([str(args.peers_python), str(WORKER), str(job_path)], log)
    worker = json.loads((work / "splink" / "result.json").read_text())
    pairs_raw = pd.read_csv(
        work / "splink" / "pairs.csv", dtype={"unique_id_l": str, "unique_id_r": str}
    )
    pairs_frame = splink_pairs(pairs_raw)
    pairs_path = work / "splink-eval-input" / "pairs.csv"
    pairs_path.parent.mkdir(parents=True, exist_ok=True)
    pairs_frame.to_csv(pairs_path, index=False)

    truth_table = load_truth(truth)
    splink_grid, splink_links_main = [], None
    for t in thresholds:
        clusters = pd.read_csv(work / "splink" / worker["clusterings"][f"{t:g}"]["file"], dtype=str)
        links = splink_links(clusters)
        if abs(t - args.splink_threshold) < 1e-12:
            splink_links_main = links
        splink_grid.append(grid_entry(t, evaluate_linkage(truth_table, links).to_dict()))
    assert splink_links_main is not None
    links_paths = write_links_files(splink_links_main, work / "splink-eval-input")
    sp_metrics, _ = evaluate_cli(
        truth, links_paths, {}, pairs_path, args.splink_threshold, work / "eval-splink", log
    )
    main_sp = {"threshold": args.splink_threshold, **summary_of(sp_metrics), "grid": splink_grid}

    # ---- where the pairs are lost
    from htlink.evaluate.links import load_links

    truth_frame = pd.read_csv(truth, dtype=str, keep_default_na=False)
    records = pd.concat(
        [pd.read_csv(clear[a], dtype=str, keep_default_na=False).assign(agency=a) for a in AGENCIES]
    ).rename(columns={"unique_id": "record_id"})
    records = truth_frame.merge(records, on=["agency", "record_id"], how="left")
    predicted = {}
    for i, r in enumerate(htlink_results):
        ht_links = pd.concat([load_links(p, r["_tokens"]) for p in r["_links"]])
        tool = "htlink" if i == 0 else f"htlink {Path(r['schema']).stem}"
        predicted[tool] = labels_for(truth_frame, ht_links)
    predicted["splink"] = labels_for(truth_frame, splink_links_main)
    analysis = error_analysis(records, records["person_id"].to_numpy(dtype=object), predicted)

    # ---- report
    ht_f1 = main_ht["pairwise"]["f1"]
    sp_f1 = main_sp["pairwise"]["f1"]
    gap = round(100 * (sp_f1 - ht_f1), 2)
    met = gap <= args.target_points
    rows = [
        ("threshold", f"auto = {main_ht['auto_threshold']:g}", f"p = {args.splink_threshold:g}"),
        (
            "pairwise precision",
            fmt(main_ht["pairwise"]["precision"]),
            fmt(main_sp["pairwise"]["precision"]),
        ),
        ("pairwise recall", fmt(main_ht["pairwise"]["recall"]), fmt(main_sp["pairwise"]["recall"])),
        ("pairwise F1", fmt(ht_f1), fmt(sp_f1)),
        ("cross-agency F1", fmt(main_ht["cross_agency"]["f1"]), fmt(main_sp["cross_agency"]["f1"])),
        (
            "within-agency F1",
            fmt(main_ht["within_agency"]["f1"]),
            fmt(main_sp["within_agency"]["f1"]),
        ),
        (
            "cluster F1",
            fmt(main_ht["clusters"]["cluster_f1"]),
            fmt(main_sp["clusters"]["cluster_f1"]),
        ),
        (
            "people with 2+ records reunited",
            fmt(main_ht["clusters"]["multi_record_reunited_share"]),
            fmt(main_sp["clusters"]["multi_record_reunited_share"]),
        ),
        (
            "oracle: best F1 on own grid (clustered)",
            f"{fmt(best_of(main_ht['grid'])['f1'])} at {best_of(main_ht['grid'])['threshold']:g}",
            f"{fmt(best_of(splink_grid)['f1'])} at {best_of(splink_grid)['threshold']:g}",
        ),
        (
            "oracle: best pair-score F1 (unclustered)",
            at(main_ht["pairs_sweep"]["best"]),
            at(main_sp["pairs_sweep"]["best"]),
        ),
    ]
    print(f"\n{'measure':<42} {'htlink (encoded)':>22} {'splink (clear)':>22}")
    for label, a, b in rows:
        print(f"{label:<42} {a:>22} {b:>22}")
    print(
        f"\nF1 gap: {gap:+.2f} points (splink - htlink); target within {args.target_points:g}: "
        f"{'MET' if met else 'NOT MET'}"
    )
    prob_met = None
    if prob is not None:
        pf1 = prob["pairwise"]["f1"]
        prob_gap = round(100 * (sp_f1 - pf1), 2)
        prob_met = prob_gap <= args.target_points
        print(
            f"htlink probabilistic mode: precision {fmt(prob['pairwise']['precision'])}, recall "
            f"{fmt(prob['pairwise']['recall'])}, F1 {fmt(pf1)}, cluster F1 "
            f"{fmt(prob['clusters']['cluster_f1'])}; gap {prob_gap:+.2f} points: "
            f"{'MET' if prob_met else 'NOT MET'}"
        )
        prob["gap_points"], prob["target_met"] = prob_gap, prob_met
    for extra in htlink_results[1:]:
        pw = extra["pairwise"]
        print(
            f"htlink with {extra['schema']}: auto {extra['auto_threshold']:g}, precision "
            f"{fmt(pw['precision'])}, recall {fmt(pw['recall'])}, F1 {fmt(pw['f1'])} "
            f"(gap {100 * (sp_f1 - pw['f1']):+.2f}), cross-agency F1 "
            f"{fmt(extra['cross_agency']['f1'])}; oracle: grid {at(best_of(extra['grid']))}, "
            f"pair scores {at(extra['pairs_sweep']['best'])}"
        )

    for r in htlink_results:
        r.pop("_links")
        r.pop("_tokens")
    result = {
        "benchmark": "bench_splink.py",
        "measured": utc_now(),
        "machine": machine_info({"splink_python": worker["python"], "peers": worker["versions"]}),
        "git": git_state(),
        "load_average": {"start": load_start, "end": load_average()},
        "scenario": {
            "file": "synthetic/default.yaml",
            "seed": args.seed,
            "people": synth_summary.get("people"),
            "records": synth_summary.get("records"),
            "exact_match_recall": synth_summary.get("exact_match_recall"),
        },
        "target": {
            "points": args.target_points,
            "gap_points": gap,
            "met": met,
            "probabilistic_met": prob_met,
        },
        "htlink": htlink_results,
        "htlink_probabilistic": prob,
        "splink": {
            **main_sp,
            "configuration": {
                "blocking_rules": worker["blocking_rules"],
                "comparisons": worker["comparisons"],
                "training": worker["training"],
                "predict_floor": worker["predict_floor"],
                "clustering": "connected components at the match-probability threshold "
                "(cluster_pairwise_predictions_at_threshold)",
            },
            "probability_two_random_records_match": worker["probability_two_random_records_match"],
            "parameters": worker["parameters"],
            "predicted_pairs": worker["predicted_pairs"],
            "seconds": {**worker["seconds"], "worker_wall": splink_seconds},
        },
        "error_analysis": analysis,
        "seconds": {"synth": synth_seconds, "total": time.perf_counter() - started},
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"results: {display_path(args.results)}")
    if args.workdir is None and os.environ.get("KEEP_WORKDIR") != "1":
        shutil.rmtree(work, ignore_errors=True)
    return 0 if met or prob_met else 1


if __name__ == "__main__":
    sys.exit(main())
