"""Run splink (duckdb backend) on the unencoded, normalized synthetic agencies.

Runs with the peers' Python (``benchmarks/.peers-venv``), never htlink's; it imports only
the standard library, pandas and splink.  ``bench_splink.py`` starts it::

    benchmarks/.peers-venv/bin/python benchmarks/splink_worker.py JOB.json

``JOB.json`` names

* ``inputs``: ``{agency: CSV}``, each with the columns ``unique_id, given_name, surname,
  dob, sex, zip, phone`` (values already normalized by htlink's rules, the same values
  ``htlink encode`` puts into the Bloom filters; an empty cell is a missing value);
* ``out``: the folder for ``pairs.csv`` (every scored pair with match probability at least
  ``predict_floor``), ``clusters-<t>.csv`` (one per clustering threshold) and
  ``result.json`` (versions, timings, parameter estimates: aggregates only);
* ``thresholds``: the match-probability thresholds to cluster at; ``predict_floor``;
  ``seed`` (u sampling); ``max_pairs`` (u sampling); ``threads`` (duckdb).

The splink model is the standard one of splink's tutorials, fixed before any result was
seen and never fitted to the truth: ``link_and_dedupe`` across the three sources;
Jaro-Winkler name comparisons with term-frequency adjustments; splink's date-of-birth
comparison; exact match on sex, ZIP and phone; lambda from deterministic rules, u by
random sampling, m by two EM sessions; clusters are connected components of the pairs at
or above a match-probability threshold (splink's ``cluster_pairwise_predictions_at_threshold``).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

COLUMNS = ["unique_id", "given_name", "surname", "dob", "sex", "zip", "phone"]

#: Pairs compared at prediction (their union).  Names are htlink-normalized (lower case,
#: no accents), dates ISO ``YYYY-MM-DD``.
BLOCKING_SQL = [
    "dob",
    "given_name + surname",
    "given_name = other surname and surname = other given_name (swapped names)",
    "zip + surname",
    "zip + given_name",
    "phone",
    "first letter of given name + first letter of surname + year of birth",
]


def blocking_rules() -> list[Any]:
    from splink import block_on

    return [
        block_on("dob"),
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("zip", "surname"),
        block_on("zip", "given_name"),
        block_on("phone"),
        block_on("substr(given_name, 1, 1)", "substr(surname, 1, 1)", "substr(dob, 1, 4)"),
    ]


def settings() -> Any:
    import splink.comparison_library as cl
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="link_and_dedupe",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.ExactMatch("zip"),
            cl.ExactMatch("phone"),
        ],
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def read_input(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise SystemExit(f"{path}: missing columns {missing}")
    frame = frame[COLUMNS]
    # splink wants NULL, not '', for a missing value
    return frame.mask(frame == "", None)


def parameters(linker: Any) -> list[dict[str, Any]]:
    """m and u of every comparison level (aggregates, no record values)."""
    chart = linker.visualisations.m_u_parameters_chart()
    rows = chart.to_dict()["datasets"]
    data = next(iter(rows.values())) if isinstance(rows, dict) else rows
    keep = ("comparison_name", "label_for_charts", "m_probability", "u_probability")
    return [{k: row.get(k) for k in keep} for row in data]


def main(job_path: str) -> int:
    import duckdb
    import splink
    from splink import DuckDBAPI, Linker, block_on

    job = json.loads(Path(job_path).read_text())
    out = Path(job["out"])
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    agencies = list(job["inputs"])
    frames = [read_input(job["inputs"][a]) for a in agencies]
    con = duckdb.connect()
    con.execute(f"SET threads TO {int(job.get('threads', 2))}")
    db_api = DuckDBAPI(connection=con)
    linker = Linker(frames, settings(), db_api, input_table_aliases=agencies)
    timings["load"] = time.perf_counter() - started

    t = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "dob")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(
        max_pairs=float(job.get("max_pairs", 5e6)), seed=int(job.get("seed", 1))
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "surname")
    )
    timings["train"] = time.perf_counter() - t

    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=job["predict_floor"])
    pairs = predictions.as_pandas_dataframe()
    timings["predict"] = time.perf_counter() - t
    pairs = pairs[
        [
            "source_dataset_l",
            "unique_id_l",
            "source_dataset_r",
            "unique_id_r",
            "match_weight",
            "match_probability",
        ]
    ]
    pairs.to_csv(out / "pairs.csv", index=False)

    clusterings: dict[str, Any] = {}
    for threshold in job["thresholds"]:
        t = time.perf_counter()
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        ).as_pandas_dataframe()
        seconds = time.perf_counter() - t
        clusters = clusters[["source_dataset", "unique_id", "cluster_id"]]
        name = f"clusters-{threshold:g}.csv"
        clusters.to_csv(out / name, index=False)
        clusterings[f"{threshold:g}"] = {"file": name, "seconds": seconds}

    lam = linker._settings_obj._probability_two_random_records_match
    result = {
        "python": platform.python_version(),
        "versions": {name: version(name) for name in ("splink", "duckdb", "pandas", "sqlglot")},
        "splink_module_version": getattr(splink, "__version__", None),
        "records": {a: len(f) for a, f in zip(agencies, frames, strict=True)},
        "blocking_rules": BLOCKING_SQL,
        "comparisons": [
            "NameComparison(given_name): exact / Jaro-Winkler >= 0.92 / >= 0.88 / >= 0.7 / else,"
            " term-frequency adjusted",
            "NameComparison(surname): same levels, term-frequency adjusted",
            "DateOfBirthComparison(dob): exact / Damerau-Levenshtein <= 1 / within 1 month /"
            " 1 year / 10 years / else",
            "ExactMatch(sex)",
            "ExactMatch(zip)",
            "ExactMatch(phone)",
        ],
        "training": [
            "estimate_probability_two_random_records_match(block_on(given_name, surname, dob),"
            " recall=0.7)",
            f"estimate_u_using_random_sampling(max_pairs={job.get('max_pairs', 5e6):g},"
            f" seed={job.get('seed', 1)})",
            "estimate_parameters_using_expectation_maximisation(block_on(dob))",
            "estimate_parameters_using_expectation_maximisation(block_on(given_name, surname))",
        ],
        "probability_two_random_records_match": lam,
        "parameters": parameters(linker),
        "predicted_pairs": len(pairs),
        "predict_floor": job["predict_floor"],
        "clusterings": clusterings,
        "seconds": {**timings, "total": time.perf_counter() - started},
    }
    (out / "result.json").write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: splink_worker.py JOB.json")
    sys.exit(main(sys.argv[1]))
