"""``report.html``: the disclosure report of a release, and the tables' HTML.

The report shows the policy, k and l required and achieved, the records
suppressed, the information loss per quasi-identifier, the highest and average
re-identification risk, the suppression and audit results, and charts
(matplotlib, embedded as base64 PNG so the file stands alone).  It shows
counts, rules and released values only -- never a suppressed cell's value.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from htlink.release.kanonymity import AnonymityResult
from htlink.release.policy import Policy
from htlink.release.tables import Table

BLUE, ORANGE, GREY = "#3a6ea5", "#d9822b", "#7b8794"
MAX_HTML_CELLS = 20_000

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;color:#1f2933;padding:0 1em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border:1px solid #cbd2d9;padding:.25em .6em;text-align:right}
th{background:#f0f4f8} td.l,th.l{text-align:left}
td.s{background:#e4e7eb;color:#52606d;text-align:center;font-weight:bold}
td.t{font-weight:bold} .ok{color:#2f8132;font-weight:bold} .bad{color:#b03a2e;font-weight:bold}
.note{color:#52606d;font-size:.9em} img{max-width:100%}
"""


def page(title: str, body: str) -> str:
    t = html.escape(title)
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{t}</title>"
        f"<style>{_CSS}</style><body><h1>{t}</h1>{body}</body></html>\n"
    )


def _png(fig: Any) -> str:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="chart" src="data:image/png;base64,{data}">'


def _figure(width: float = 7.0, height: float = 3.2) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def chart_class_sizes(sizes: np.ndarray, k: int) -> str:
    """How many released records sit in equivalence classes of each size."""
    fig, ax = _figure()
    if len(sizes):
        bins = np.unique(np.minimum(sizes, 100))
        counts = [int((np.minimum(sizes, 100) == b).sum()) for b in bins]
        ax.bar(bins, counts, color=BLUE, width=0.8)
    ax.axvline(k - 0.5, color=ORANGE, linestyle="--", label=f"k = {k}")
    ax.set_xlabel("size of the record's equivalence class (100 = 100 or more)")
    ax.set_ylabel("released records")
    ax.legend(frameon=False)
    return _png(fig)


def chart_loss(loss: dict[str, float]) -> str:
    fig, ax = _figure(height=0.5 + 0.35 * max(len(loss), 2))
    names = list(loss)
    ax.barh(names, [loss[n] for n in names], color=BLUE)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("information loss (0 = exact values, 1 = withheld)")
    return _png(fig)


def chart_suppression(tables: list[dict[str, Any]]) -> str:
    fig, ax = _figure(height=0.5 + 0.35 * max(len(tables), 2))
    names = [t["name"] for t in tables]
    published = [t["cells"] - t["suppressed"] for t in tables]
    suppressed = [t["suppressed"] for t in tables]
    ax.barh(names, published, color=BLUE, label="published")
    ax.barh(names, suppressed, left=published, color=GREY, label="suppressed")
    ax.invert_yaxis()
    ax.set_xlabel("cells")
    ax.legend(frameon=False)
    return _png(fig)


def table_html(table: Table, frame: pd.DataFrame) -> str:
    """A table as HTML: the last dimension across, suppressed cells shown as S."""
    if len(frame) > MAX_HTML_CELLS:
        return (
            f"<p class=note>{len(frame):,} cells: too many to show here; see "
            f"{html.escape(table.name)}.csv (suppressed cells have an empty value and "
            "status 'suppressed').</p>"
        )
    dims = [a.column for a in table.axes]
    shown = frame.assign(
        shown=np.where(frame["status"] == "suppressed", "S", frame["value"].astype(str))
    )
    across = dims[-1]
    down = dims[:-1]
    cols = table.axes[-1].labels
    out = ["<table><tr>"]
    out += [f"<th class=l>{html.escape(d)}</th>" for d in down]
    out += [f"<th>{html.escape(c)}</th>" for c in cols]
    out.append("</tr>")
    grouped = shown.groupby(down, sort=False) if down else [((), shown)]
    for key, group in grouped:
        key_t = key if isinstance(key, tuple) else (key,)
        out.append("<tr>")
        out += [f"<td class=l>{html.escape(str(k))}</td>" for k in key_t]
        row = dict(zip(group[across], group["shown"], strict=True))
        is_total = any(str(k) == "Total" for k in key_t)
        for c in cols:
            v = row.get(c, "")
            cls = "s" if v == "S" else ("t" if is_total or c == "Total" else "")
            out.append(f"<td class={cls or 'v'}>{html.escape(str(v))}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _kv(rows: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<tr><th class=l>{html.escape(k)}</th><td class=l>{v}</td></tr>" for k, v in rows
    )
    return f"<table>{body}</table>"


def write_report(
    path: Path,
    *,
    policy: Policy,
    audit: dict[str, Any],
    anonymity: AnonymityResult | None,
    extract: pd.DataFrame | None,
    tables: list[Table],
    table_frames: list[pd.DataFrame],
) -> None:
    esc = html.escape
    parts = [
        f"<p>Policy <b>{esc(policy.name)}</b>. {esc(policy.description)}</p>",
        f"<p>{audit['people']:,} people in the merged payloads; created {esc(audit['created'])} "
        f"by htlink {esc(audit['htlink'])}.</p>",
    ]
    m = audit.get("microdata")
    if m is None or anonymity is None:
        parts.append(
            "<h2>Microdata</h2><p>This policy releases <b>aggregates only</b>: no extract "
            "(record-level data) is part of this release.</p>"
        )
    else:
        ok = m["independent_verification"]["passed"]
        l_row = (
            [("l-diversity (distinct) required / achieved",
              f"{m['l_required']} / {m['l_achieved']} on {esc(', '.join(policy.sensitive))}")]
            if m["l_required"] else []
        )  # fmt: skip
        risk = m["reidentification_risk"]
        parts.append("<h2>Microdata (extract.csv, extract.parquet)</h2>")
        parts.append(
            _kv(
                [
                    ("k required / achieved", f"{m['k_required']} / {m['k_achieved']}"),
                    *l_row,
                    ("records released", f"{m['records_released']:,}"),
                    (
                        "records suppressed",
                        f"{m['records_suppressed']:,} (limit {m['max_suppression']:.1%} of people)",
                    ),
                    (
                        "generalization",
                        esc(", ".join(f"{q}: {lv}" for q, lv in m["generalization"].items())),
                    ),
                    ("information loss (0-1)", f"{m['information_loss']:.3f}"),
                    (
                        "re-identification risk (prosecutor)",
                        f"highest {risk['max']:.3f}, average {risk['average']:.4f}",
                    ),
                    (
                        "search",
                        esc(
                            f"{m['search']['method']}; {m['search']['nodes_evaluated']} of "
                            f"{m['search']['lattice_size']} lattice nodes evaluated"
                            + (
                                ""
                                if m["search"]["optimal"]
                                else f"; loss lower bound {m['search']['lower_bound']:.3f}"
                            )
                        ),
                    ),
                    (
                        "independent check of the written extract",
                        f"<span class={'ok' if ok else 'bad'}>"
                        f"{'passed' if ok else 'FAILED'}</span> (smallest group "
                        f"{m['independent_verification']['k_achieved']}, "
                        f"{m['independent_verification']['classes']} groups)",
                    ),
                ]
            )
        )
        parts.append("<h3>Information loss per quasi-identifier</h3>")
        parts.append(chart_loss(anonymity.loss_per_qi))
        parts.append("<h3>Equivalence class sizes</h3>")
        parts.append(chart_class_sizes(anonymity.class_sizes, policy.k))
        if extract is not None:
            parts.append(
                f"<p class=note>Columns: {esc(', '.join(extract.columns))}. Every combination "
                f"of {esc(', '.join(anonymity.quasi_identifiers))} in the extract is shared "
                f"by at least {m['k_achieved']} released records.</p>"
            )
    t = audit.get("tables")
    if t is not None:
        a = t["audit"]
        parts.append("<h2>Tables and the disclosure audit</h2>")
        parts.append(
            _kv(
                [
                    (
                        "threshold rule",
                        f"cells of {t['rules']['threshold'][0]} to "
                        f"{t['rules']['threshold'][1]} people suppressed; zeros "
                        f"{t['rules']['zeros']}",
                    ),
                    ("dominance rule", esc(json.dumps(t["rules"]["dominance"]))),
                    ("protection range", esc(json.dumps(t["rules"]["protection"]))),
                    ("cells (all tables, shared cells once)", f"{t['cells']:,}"),
                    ("primary suppressions", f"{t['primary_suppressed']:,}"),
                    ("complementary suppressions", f"{t['complementary_suppressed']:,}"),
                    (
                        "audit",
                        f"<span class={'ok' if a['passed'] else 'bad'}>"
                        f"{'passed' if a['passed'] else 'FAILED'}</span>: "
                        f"{a['linear_programmes']:,} linear programmes in {a['seconds']:.1f} s "
                        f"({esc(a['solver'])}); narrowest interval {a['narrowest_interval']}",
                    ),
                ]
            )
        )
        parts.append(chart_suppression(t["tables"]))
        parts.append(
            "<p class=note>For every suppressed cell the audit solved the attacker's linear "
            "programme: the smallest and largest value the cell can take given every published "
            "cell, the tables' totals and subtotals, and non-negativity. audit.json lists "
            "those intervals; the release is refused if any is narrower than the protection "
            "range.</p>"
        )
        for table, frame in zip(tables, table_frames, strict=True):
            parts.append(f"<h3>{esc(table.name)}</h3>")
            parts.append(table_html(table, frame))
        parts.append("<p class=note>S: suppressed cell (value withheld).</p>")
    parts.append("<h2>Policy applied</h2>")
    import yaml

    parts.append(f"<pre>{esc(yaml.safe_dump(policy.raw, sort_keys=False))}</pre>")
    path.write_text(page(f"Release report — {policy.name}", "".join(parts)), encoding="utf-8")
