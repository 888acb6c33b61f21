"""``htlink release build`` as a library call: payloads and a policy in, a release folder out.

Steps: open the payloads (refusing one made for another key, or altered),
merge them into one row per person, replace pseudonyms by fresh release IDs,
generalize and suppress records for k-anonymity (microdata), build the
aggregate tables and suppress their small cells, audit every suppressed cell,
and write::

    OUT/extract.csv, OUT/extract.parquet   microdata (unless the policy is aggregates only)
    OUT/tables/NAME.csv, NAME.html         tables; suppressed cells marked
    OUT/tables/index.html                  all tables on one page
    OUT/report.html                        the disclosure report
    OUT/audit.json                         the audit, for machines
    OUT/policy.yaml                        the policy applied

Everything is written into a hidden staging folder beside OUT; the extract is
read back and verified there by an independent check; only then is the folder
renamed to OUT.  A failed build leaves nothing behind.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from htlink import __version__
from htlink.errors import HtlinkError
from htlink.release.kanonymity import AnonymityResult, anonymize
from htlink.release.merge import assign_release_ids, check_known_pseudonyms, merge_people
from htlink.release.payload import Payload, open_payload
from htlink.release.policy import Policy
from htlink.release.report import write_report
from htlink.release.suppression import SuppressionOutcome, build_system, protect
from htlink.release.tables import Table, build_table
from htlink.release.verify import Verification, verify_extract_file

Progress = Callable[[str, int, int], None]


@dataclass
class ReleaseResult:
    out_dir: Path
    people: int
    anonymity: AnonymityResult | None
    verification: Verification | None
    tables: list[Table]
    suppression: SuppressionOutcome | None
    audit: dict[str, Any]
    seconds: float
    paths: dict[str, Path] = field(default_factory=dict)


def _check_out(out_dir: Path) -> None:
    if out_dir.exists():
        raise HtlinkError(
            f"The output folder {out_dir} already exists.",
            "Choose a new --out folder for every release (a release is never overwritten).",
        )


def build_release(
    policy: Policy,
    payload_paths: list[Path],
    private_key: X25519PrivateKey,
    out_dir: Path,
    *,
    links: list[Path] | None = None,
    on_progress: Progress | None = None,
) -> ReleaseResult:
    """Run the whole release; raise :class:`HtlinkError` (and write nothing) on any problem."""
    started = time.perf_counter()
    _check_out(out_dir)

    def progress(stage: str, done: int, total: int) -> None:
        if on_progress:
            on_progress(stage, done, total)

    payloads: list[Payload] = []
    for i, path in enumerate(payload_paths):
        payloads.append(open_payload(path, private_key))
        progress("payloads", i + 1, len(payload_paths))
    if links:
        check_known_pseudonyms(payloads, links)
    people = assign_release_ids(merge_people(policy, payloads))
    progress("merge", 1, 1)

    anonymity = None
    if policy.microdata:
        anonymity = anonymize(
            people,
            policy.quasi_identifiers,
            policy.k,
            l_diversity=policy.l_diversity,
            sensitive=policy.sensitive,
            max_suppression=policy.max_suppression,
            max_exact_nodes=policy.max_exact_nodes,
            on_progress=lambda d, t: progress("k-anonymity", d, t),
        )
    tables = [build_table(people, spec, policy.suppression.dominance_n) for spec in policy.tables]
    outcome = None
    system = None
    if tables:
        system = build_system(tables)
        outcome = protect(system, policy.suppression, on_progress=progress)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.partial-{secrets.token_hex(4)}"
    staging.mkdir(mode=0o700)
    try:
        paths: dict[str, Path] = {}
        verification = None
        extract = None
        if anonymity is not None:
            extract = _extract(people, policy, anonymity)
            paths["extract_csv"] = staging / "extract.csv"
            extract.to_csv(paths["extract_csv"], index=False)
            paths["extract_parquet"] = staging / "extract.parquet"
            extract.to_parquet(paths["extract_parquet"], index=False)
            verification = verify_extract_file(
                paths["extract_csv"],
                anonymity.quasi_identifiers,
                policy.k,
                policy.sensitive if policy.l_diversity else None,
                policy.l_diversity,
            )
            check = pd.read_parquet(paths["extract_parquet"]).astype(str)
            if not check.equals(
                pd.read_csv(paths["extract_csv"], dtype=str, keep_default_na=False)
            ):
                raise HtlinkError("The Parquet and CSV extracts differ; nothing was released.")
        table_frames = []
        if system is not None:
            (staging / "tables").mkdir()
            for t, table in enumerate(tables):
                frame = _table_frame(table, system.table_status(t))
                table_frames.append(frame)
                frame.to_csv(staging / "tables" / f"{table.name}.csv", index=False)
            _write_tables_html(staging / "tables", tables, table_frames, policy)
        audit = _audit_document(policy, tables, system, outcome, anonymity, verification, people)
        (staging / "audit.json").write_text(json.dumps(audit, indent=2) + "\n")
        (staging / "policy.yaml").write_text(
            yaml.safe_dump(policy.raw, sort_keys=False, allow_unicode=True)
        )
        write_report(
            staging / "report.html",
            policy=policy,
            audit=audit,
            anonymity=anonymity,
            extract=extract,
            tables=tables,
            table_frames=table_frames,
        )
        _check_out(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    final_paths = {k: out_dir / v.relative_to(staging) for k, v in paths.items()}
    final_paths["report"] = out_dir / "report.html"
    final_paths["audit"] = out_dir / "audit.json"
    return ReleaseResult(
        out_dir=out_dir,
        people=len(people),
        anonymity=anonymity,
        verification=verification,
        tables=tables,
        suppression=outcome,
        audit=audit,
        seconds=time.perf_counter() - started,
        paths=final_paths,
    )


def _extract(people: pd.DataFrame, policy: Policy, anonymity: AnonymityResult) -> pd.DataFrame:
    kept = ~anonymity.suppressed
    data = {"release_id": people["release_id"].to_numpy()[kept]}
    for col in policy.extract_columns:
        if col in anonymity.generalized.columns:
            data[col] = anonymity.generalized[col].to_numpy()[kept]
        else:
            data[col] = people[col].fillna("(missing)").astype(str).to_numpy()[kept]
    return pd.DataFrame(data)


def _table_frame(table: Table, status: np.ndarray) -> pd.DataFrame:
    frame = table.long_frame()
    shown = frame["value"].map(lambda v: f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}")
    frame["value"] = np.where(status > 0, "", shown)
    frame["status"] = np.where(status > 0, "suppressed", "published")
    return frame


def _write_tables_html(
    folder: Path, tables: list[Table], frames: list[pd.DataFrame], policy: Policy
) -> None:
    from htlink.release.report import table_html

    sections = []
    for table, frame in zip(tables, frames, strict=True):
        body = table_html(table, frame)
        (folder / f"{table.name}.html").write_text(
            _page(f"{table.name} — {policy.name}", body), encoding="utf-8"
        )
        sections.append(f"<h2>{table.name}</h2>{body}")
    (folder / "index.html").write_text(_page(f"Tables — {policy.name}", "".join(sections)))


def _page(title: str, body: str) -> str:
    from htlink.release.report import page

    return page(title, body)


def _audit_document(
    policy: Policy,
    tables: list[Table],
    system: Any,
    outcome: SuppressionOutcome | None,
    anonymity: AnonymityResult | None,
    verification: Verification | None,
    people: pd.DataFrame,
) -> dict[str, Any]:
    rules = policy.suppression
    doc: dict[str, Any] = {
        "format": "htlink-release-audit",
        "version": 1,
        "htlink": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "policy": policy.name,
        "people": len(people),
        "passed": True,
    }
    if anonymity is not None:
        risk = 1.0 / anonymity.class_sizes if len(anonymity.class_sizes) else np.zeros(1)
        doc["microdata"] = {
            "k_required": policy.k,
            "k_achieved": anonymity.k_achieved,
            "l_required": policy.l_diversity,
            "l_achieved": anonymity.l_achieved,
            "records_released": int((~anonymity.suppressed).sum()),
            "records_suppressed": anonymity.n_suppressed,
            "max_suppression": policy.max_suppression,
            "generalization": anonymity.level_names,
            "information_loss": round(anonymity.loss, 6),
            "information_loss_per_quasi_identifier": {
                q: round(v, 6) for q, v in anonymity.loss_per_qi.items()
            },
            "search": {
                "method": anonymity.method,
                "optimal": anonymity.optimal,
                "lower_bound": round(anonymity.lower_bound, 6),
                "nodes_evaluated": anonymity.nodes_evaluated,
                "lattice_size": anonymity.lattice_size,
            },
            "reidentification_risk": {
                "model": "prosecutor: 1 / size of the record's equivalence class",
                "max": float(risk.max()),
                "average": float(risk.mean()),
            },
            "independent_verification": {
                "k_achieved": verification.k_achieved if verification else None,
                "l_achieved": verification.l_achieved if verification else None,
                "classes": verification.classes if verification else None,
                "passed": bool(verification and verification.ok),
            },
        }
    if outcome is not None and system is not None:
        audit = outcome.audit
        where = {int(c): i for i, c in enumerate(audit.cells.tolist())}
        table_docs = []
        for t, table in enumerate(tables):
            status = system.table_status(t)
            frame = table.long_frame()
            labels = {a.column: frame[a.column].to_numpy() for a in table.axes}
            cells = []
            for flat in np.flatnonzero(status > 0).tolist():
                gid = int(system.cell_ids[t][flat])
                i = where[gid]
                hi = float(audit.upper[i])
                cells.append(
                    {
                        "cell": {c: str(v[flat]) for c, v in labels.items()},
                        "attacker_min": float(audit.lower[i]) + 0.0,
                        "attacker_max": hi if np.isfinite(hi) else None,
                        "protected": bool(audit.protected[i]),
                    }
                )
            table_docs.append(
                {
                    "name": table.name,
                    "measure": table.measure or "count",
                    "cells": int(table.size),
                    "suppressed": int((status > 0).sum()),
                    "suppressed_cells": cells,
                }
            )
        doc["tables"] = {
            "rules": {
                "threshold": [rules.threshold_min, rules.threshold_max],
                "zeros": "suppressed" if rules.zeros_suppressed else "allowed",
                "dominance": (
                    {"n": rules.dominance_n, "k": rules.dominance_k}
                    if rules.dominance_k is not None
                    else None
                ),
                "protection": {
                    "width": rules.protection_width,
                    "percent": rules.protection_percent,
                },
            },
            "cells": int(system.n_cells),
            "primary_suppressed": outcome.primary,
            "complementary_suppressed": outcome.complementary,
            "rounds": outcome.rounds,
            "audit": {
                "solver": audit.solver,
                "linear_programmes": audit.lp_solved,
                "local_linear_programmes": audit.local_lps,
                "cells_proven_by_witness_tables": audit.witnessed,
                "cells_proven_by_hypercubes": audit.certified,
                "hypercubes": outcome.hypercubes,
                "groups_of_suppressed_cells": audit.components,
                "largest_group": audit.largest_component,
                "seconds": round(audit.seconds, 3),
                "narrowest_interval": float(audit.width.min()) if len(audit.cells) else None,
                "passed": audit.passed,
                "note": "attacker_min/max: what an attacker can derive from the published "
                "cells, equations and non-negativity (the LP bounds, rounded inward for "
                "counts); for a cell proven by a witness table or a hypercube, the range "
                "proven, which lies inside that interval. True values of suppressed cells "
                "are never recorded here.",
            },
            "tables": table_docs,
        }
    return doc
