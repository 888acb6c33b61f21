"""Release benchmarks: k-anonymity (30,000 rows x 8 QIs) and suppression + audit of ~100k cells.

    .venv/bin/python benchmarks/bench_release.py [--rows 30000] [--people 400000] [--seed 1]

Prints the figures and writes benchmarks/results/release.json.  Targets (issue 6):
k-anonymity under 30 s, suppression plus audit under 5 minutes.  No peer is run:
sdcTable (R, CRAN) and ARX (Java, Maven) are not installable in this environment
(see docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from htlink.release.hierarchies import NONE_HIERARCHY, build_hierarchy
from htlink.release.kanonymity import anonymize
from htlink.release.policy import SuppressionRules, TableDim, TableSpec
from htlink.release.suppression import build_system, protect
from htlink.release.tables import build_table

RESULTS = Path(__file__).parent / "results" / "release.json"


def hier(name: str, spec: dict) -> object:
    h, problems = build_hierarchy(name, spec)
    assert h is not None, problems
    return h


def microdata(rows: int, rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    counties = [f"C{i:02d}" for i in range(20)]
    regions = {f"R{r}": counties[r * 5 : (r + 1) * 5] for r in range(4)}
    zips = [f"0{z:04d}" for z in rng.choice(np.arange(1000, 9999), 120, replace=False)]
    frame = pd.DataFrame(
        {
            "age": rng.gamma(4.0, 7.0, rows).clip(0, 104).astype(int).astype(str),
            "sex": rng.choice(["female", "male", "unknown"], rows, p=[0.6, 0.38, 0.02]),
            "county": rng.choice(counties, rows, p=rng.dirichlet(np.ones(20) * 2)),
            "year": rng.integers(2010, 2025, rows).astype(str),
            "zip": rng.choice(zips, rows),
            "race": rng.choice(list("ABCDEF"), rows, p=[0.5, 0.2, 0.15, 0.08, 0.05, 0.02]),
            "in_a": rng.choice(["0", "1"], rows),
            "in_b": rng.choice(["0", "1"], rows, p=[0.7, 0.3]),
        }
    )
    qis = {
        "age": hier("age", {"type": "interval", "bands": [5, 10, 20], "top_code": 90}),
        "sex": NONE_HIERARCHY,
        "county": hier("county", {"type": "groups",
                                  "levels": [{"name": "region", "groups": regions}]}),
        "year": hier("year", {"type": "interval", "bands": [2, 4, 8]}),
        "zip": hier("zip", {"type": "zip", "levels": ["zip5", "zip3"]}),
        "race": hier("race", {"type": "groups",
                              "levels": [{"name": "grp", "groups": {"AB": ["A", "B"],
                                                                     "CDEF": list("CDEF")}}]}),
        "in_a": NONE_HIERARCHY,
        "in_b": NONE_HIERARCHY,
    }  # fmt: skip
    return frame, qis


def bench_kanonymity(rows: int, seed: int) -> dict:
    frame, qis = microdata(rows, np.random.default_rng(seed))
    start = time.perf_counter()
    result = anonymize(frame, qis, 5, max_suppression=0.05, max_exact_nodes=2000)
    seconds = time.perf_counter() - start
    return {
        "rows": rows,
        "quasi_identifiers": len(qis),
        "k": 5,
        "max_suppression": 0.05,
        "lattice_size": result.lattice_size,
        "nodes_evaluated": result.nodes_evaluated,
        "optimal": result.optimal,
        "loss": round(result.loss, 4),
        "lower_bound": round(result.lower_bound, 4),
        "k_achieved": result.k_achieved,
        "suppressed": result.n_suppressed,
        "generalization": result.level_names,
        "seconds": round(seconds, 2),
        "target_seconds": 30,
    }


FULL_DIMS = {"county": 30, "age_band": 12, "sex": 2, "year": 10, "category": 8}  # 119,691 cells
SMALL_DIMS = {"county": 12, "age_band": 8, "sex": 2, "year": 6, "category": 5}  # 14,742 cells


def bench_tables(people: int, seed: int, dims: dict[str, int], width: float) -> dict:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            name: rng.choice(
                [f"{name[:3]}{i:02d}" for i in range(n)], people, p=rng.dirichlet(np.ones(n))
            )
            for name, n in dims.items()
        }
    )
    spec = TableSpec("big", [TableDim(c, NONE_HIERARCHY, [0]) for c in dims])
    start = time.perf_counter()
    cpu = time.process_time()
    table = build_table(frame, spec)
    system = build_system([table])
    built = time.perf_counter() - start
    rules = SuppressionRules(threshold_min=1, threshold_max=10, protection_width=width)
    outcome = protect(system, rules)
    total = time.perf_counter() - start
    audit = outcome.audit
    return {
        "people": people,
        "dimensions": dims,
        "cells": int(system.n_cells),
        "interior_cells": int(np.prod(list(dims.values()))),
        "equations": int(system.equations.shape[0]),
        "rule": "threshold 1-10 suppressed, zeros published, protection width "
        f"{width:g} for every suppressed cell",
        "primary": outcome.primary,
        "complementary": outcome.complementary,
        "hypercubes": outcome.hypercubes,
        "cells_given_a_hypercube": outcome.hypercube_cells,
        "cells_hypercubes_did_not_prove": outcome.hypercube_unproven,
        "line_rule_added": outcome.line_rule_added,
        "rounds": outcome.rounds,
        "groups_of_suppressed_cells": audit.components,
        "largest_group": audit.largest_component,
        "cells_proven_by_hypercubes": audit.certified,
        "cells_proven_by_witness_tables": audit.witnessed,
        "linear_programmes": audit.lp_solved,
        "local_linear_programmes": audit.local_lps,
        "build_seconds": round(built, 2),
        "suppression_seconds": round(outcome.suppression_seconds, 2),
        "audit_seconds": round(audit.seconds, 2),
        "seconds": round(total, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "audit_passed": audit.passed,
        "protection_width": width,
        "target_seconds": 300,
        "target_met": bool(audit.passed and total < 300),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--people", type=int, default=400_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--small", action="store_true", help="the 14,742-cell table instead")
    parser.add_argument("--width", type=float, default=3, help="protection width")
    parser.add_argument("--skip-tables", action="store_true", help="k-anonymity only")
    args = parser.parse_args()
    k = bench_kanonymity(args.rows, args.seed)
    print(f"k-anonymity: {k['rows']:,} rows x {k['quasi_identifiers']} QIs, k = 5: "
          f"{k['seconds']} s, {k['nodes_evaluated']} of {k['lattice_size']} nodes, "
          f"optimal {k['optimal']}, loss {k['loss']}")  # fmt: skip
    t: dict = {"skipped": True}
    if not args.skip_tables:
        t = bench_tables(
            args.people, args.seed, SMALL_DIMS if args.small else FULL_DIMS, args.width
        )
        print(f"tables: {t['cells']:,} cells, {t['primary']:,} primary + {t['complementary']:,} "
              f"complementary ({t['hypercubes']:,} hypercubes), {t['groups_of_suppressed_cells']} "
              f"groups (largest {t['largest_group']:,}), {t['cells_proven_by_hypercubes']:,} "
              f"cells proven by hypercubes, {t['linear_programmes']:,} LPs "
              f"({t['local_linear_programmes']:,} local); build {t['build_seconds']} s, "
              f"suppression {t['suppression_seconds']} s, audit {t['audit_seconds']} s, "
              f"total {t['seconds']} s (CPU {t['cpu_seconds']} s), passed {t['audit_passed']}, "
              f"target met {t['target_met']}")  # fmt: skip
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()},
                "kanonymity": k,
                "suppression_and_audit": t,
                "peers": "none run: sdcTable needs R + CRAN, ARX needs Java + Maven Central; "
                "neither is available here",
            },
            indent=2,
        )
        + "\n"
    )  # fmt: skip
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
