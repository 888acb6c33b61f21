"""The evaluation report: one self-contained HTML page, metrics.json and the PNGs.

The page is what a hub operator shows colleagues to justify a threshold: the
headline figures, quality per agency pair, how many whole people were
reassembled, the threshold sweep with the chosen and best thresholds marked,
and a "how to read this" section.  The charts are embedded as base64 data
URIs, so the file can be mailed or archived on its own; it loads nothing from
anywhere.  It holds counts and scores only -- no record value.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from htlink import __version__
from htlink.errors import HtlinkError
from htlink.evaluate.evaluation import Evaluation
from htlink.evaluate.metrics import PairCounts
from htlink.evaluate.plots import (
    agency_pair_label,
    plot_agency_pair_recall,
    plot_cluster_sizes,
    plot_similarity_histograms,
    plot_threshold_sweep,
)

REPORT_FILE = "report.html"
METRICS_FILE = "metrics.json"
PNG_FILES = {
    "threshold_sweep": "threshold-sweep.png",
    "similarity_histograms": "similarity-histograms.png",
    "cluster_sizes": "cluster-sizes.png",
    "agency_pair_recall": "agency-pair-recall.png",
}


def evaluation_charts(evaluation: Evaluation) -> dict[str, bytes]:
    """The PNG charts this evaluation has data for, keyed as in :data:`PNG_FILES`."""
    charts: dict[str, bytes] = {}
    if evaluation.sweep is not None:
        charts["threshold_sweep"] = plot_threshold_sweep(
            evaluation.sweep, chosen=evaluation.threshold
        )
        charts["similarity_histograms"] = plot_similarity_histograms(
            evaluation.sweep, chosen=evaluation.threshold
        )
    if evaluation.clusters is not None:
        charts["cluster_sizes"] = plot_cluster_sizes(evaluation.clusters)
    if evaluation.agency_pairs is not None:
        charts["agency_pair_recall"] = plot_agency_pair_recall(evaluation.agency_pairs)
    return charts


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(type(value).__name__)


def metrics_json(evaluation: Evaluation) -> str:
    """The content of ``metrics.json``."""
    return json.dumps(evaluation.to_dict(), indent=2, default=_json_default) + "\n"


def write_report(
    evaluation: Evaluation, out_dir: Path | str, *, overwrite: bool = False
) -> dict[str, Path]:
    """Write ``report.html``, ``metrics.json`` and the PNG charts into ``out_dir``.

    The folder is created if needed; existing report files are replaced only
    with ``overwrite``.  Returns the written paths by name (``report``,
    ``metrics`` and the chart names).
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise HtlinkError(f"--out {out} is a file, not a folder.", "Name a folder.")
    names = [REPORT_FILE, METRICS_FILE, *PNG_FILES.values()]
    existing = [n for n in names if (out / n).exists()]
    if existing and not overwrite:
        raise HtlinkError(
            f"The folder {out} already holds an evaluation ({', '.join(existing)}).",
            "Choose another --out folder, or pass --force to replace it.",
        )
    charts = evaluation_charts(evaluation)
    page = render_html(evaluation, charts)
    out.mkdir(parents=True, exist_ok=True)
    for stale in existing:
        (out / stale).unlink()
    paths: dict[str, Path] = {}
    for name, png in charts.items():
        paths[name] = out / PNG_FILES[name]
        paths[name].write_bytes(png)
    paths["metrics"] = out / METRICS_FILE
    paths["metrics"].write_text(metrics_json(evaluation), encoding="utf-8")
    paths["report"] = out / REPORT_FILE
    paths["report"].write_text(page, encoding="utf-8")
    return paths


# --------------------------------------------------------------------------- HTML

_e = html.escape

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;
padding:0 1rem;color:#1d2733;line-height:1.45}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:2px solid #dde3ea;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0 1rem}
th,td{padding:.3rem .6rem;border-bottom:1px solid #dde3ea;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#eef2f6}
tr.best td{background:#eef6ee}tr.total td{font-weight:600;background:#f7f9fb}
tr.chosen td{background:#fbeeee;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:.7rem;margin:1rem 0}
.card{border:1px solid #dde3ea;border-radius:6px;padding:.6rem .8rem;min-width:12rem;flex:1}
.card .v{font-size:1.5rem;font-weight:600}.card .k{color:#52606d;font-size:.85rem}
.card .d{color:#52606d;font-size:.8rem}
.lead{font-size:1.08rem;background:#f5f8fb;border-left:4px solid #3a6ea5;padding:.6rem .9rem}
.note{color:#8a4b00}.muted{color:#52606d;font-size:.9rem}img{max-width:100%;height:auto}
dt{font-weight:600;margin-top:.6rem}dd{margin-left:1.2rem}code{background:#eef2f6;padding:0 .2rem}
"""


def _img(charts: dict[str, bytes], name: str, alt: str) -> str:
    if name not in charts:
        return ""
    data = base64.b64encode(charts[name]).decode("ascii")
    return f'<p><img alt="{_e(alt)}" src="data:image/png;base64,{data}"></p>'


def _score(value: float, defined: bool = True) -> str:
    return f"{value:.4f}" if defined else "&ndash;"


def _counts_row(label: str, c: PairCounts, css: str = "") -> str:
    return (
        f'<tr class="{css}"><td>{_e(label)}</td><td class=n>{c.true_pairs:,}</td>'
        f"<td class=n>{c.predicted_pairs:,}</td><td class=n>{c.true_positives:,}</td>"
        f"<td class=n>{_score(c.precision, c.predicted_pairs > 0)}</td>"
        f"<td class=n>{_score(c.recall, c.true_pairs > 0)}</td>"
        f"<td class=n>{_score(c.f1, c.true_pairs + c.predicted_pairs > 0)}</td></tr>"
    )


_COUNTS_HEAD = (
    "<tr><th></th><th class=n>true pairs</th><th class=n>linked pairs</th>"
    "<th class=n>correct</th><th class=n>precision</th><th class=n>recall</th>"
    "<th class=n>F1</th></tr>"
)


def _lead(ev: Evaluation) -> str:
    parts: list[str] = []
    if ev.pairwise is not None and ev.clusters is not None:
        a, c = ev.pairwise["all"], ev.clusters
        parts.append(
            f"Of the <b>{a.true_pairs:,}</b> pairs of records that belong to the same person, "
            f"the linkage found <b>{a.true_positives:,}</b> (recall {a.recall:.1%}); of the "
            f"<b>{a.predicted_pairs:,}</b> pairs it put together, <b>{a.false_positives:,}</b> "
            f"were two different people (precision {a.precision:.1%}). "
            f"<b>{c.multi_record_reunited:,}</b> of the {c.multi_record_people:,} people with "
            f"more than one record ({c.multi_record_reunited_share:.1%}) came out as exactly "
            "one cluster holding all of their records and nobody else's."
        )
    if ev.sweep is not None:
        s, best = ev.sweep, ev.sweep.best
        text = (
            f"Linking every scored pair at or above <b>{s.best_threshold:.4g}</b> gives the "
            f"best F1 ({best.f1:.4f}: precision {best.precision:.4f}, recall "
            f"{best.recall:.4f})."
        )
        if ev.threshold is not None:
            at = s.at(ev.threshold)
            text += (
                f" The chosen threshold <b>{ev.threshold:.4g}</b> gives precision "
                f"{at.precision:.4f}, recall {at.recall:.4f}, F1 {at.f1:.4f}."
            )
        parts.append(text)
    return "".join(f'<p class="lead">{p}</p>' for p in parts)


def _cards(ev: Evaluation) -> str:
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="k">{_e(k)}</div><div class="v">{_e(v)}</div>'
            f'<div class="d">{_e(d)}</div></div>'
            for k, v, d in ev.headline()
        )
        + "</div>"
    )


def _agency_section(ev: Evaluation, charts: dict[str, bytes]) -> str:
    if ev.agency_pairs is None or ev.pairwise is None:
        return ""
    rows = "".join(
        _counts_row(agency_pair_label(k), c)
        for k, c in ev.agency_pairs.items()
        if c.true_pairs or c.predicted_pairs
    )
    totals = "".join(
        _counts_row(label, ev.pairwise[key], "total")
        for key, label in (
            ("cross_agency", "all pairs across agencies"),
            ("within_agency", "all pairs within agencies"),
            ("all", "all pairs"),
        )
    )
    return f"""
<h2>Quality per agency pair</h2>
<p>A pair <i>A &ndash; B</i> is one record of A with one record of B; <i>A (within)</i> is two
records of A (duplicates: repeat visits, repeat reports). Rows with nothing to find and nothing
linked are left out; &ndash; marks a score with nothing to count.</p>
<table>{_COUNTS_HEAD}{rows}{totals}</table>
{_img(charts, "agency_pair_recall", "Recall and precision per agency pair")}"""


def _cluster_section(ev: Evaluation, charts: dict[str, bytes]) -> str:
    c = ev.clusters
    if c is None:
        return ""
    items = [
        ("people in the truth", f"{c.people:,}"),
        ("clusters the linkage formed", f"{c.predicted_clusters:,}"),
        ("people exactly reunited (all people)",
         f"{c.exactly_reunited:,} ({c.reunited_share:.2%})"),
        ("people with 2+ records exactly reunited",
         f"{c.multi_record_reunited:,} of {c.multi_record_people:,} "
         f"({c.multi_record_reunited_share:.2%})"),
        ("split people (records in several clusters)", f"{c.split_people:,}"),
        ("over-merged people (cluster shared with someone else)", f"{c.over_merged_people:,}"),
        ("people both split and over-merged", f"{c.split_and_over_merged_people:,}"),
        ("clusters mixing two or more people", f"{c.mixed_clusters:,}"),
        ("cluster precision / recall / F1",
         f"{c.cluster_precision:.4f} / {c.cluster_recall:.4f} / {c.cluster_f1:.4f}"),
    ]  # fmt: skip
    rows = "".join(f"<tr><td>{_e(k)}</td><td class=n>{_e(v)}</td></tr>" for k, v in items)
    by_count = "".join(
        f"<tr><td class=n>{k}</td><td class=n>{n:,}</td><td class=n>{r:,}</td>"
        f"<td class=n>{(r / n if n else 1.0):.2%}</td></tr>"
        for k, (n, r) in sorted(c.by_agency_count.items())
    )
    by_count_table = (
        "<p>By the number of agencies a person appears in:</p><table><tr>"
        "<th class=n>agencies</th><th class=n>people</th><th class=n>exactly reunited</th>"
        f"<th class=n>share</th></tr>{by_count}</table>"
        if by_count
        else ""
    )
    return f"""
<h2>Whole people</h2>
<p>Pairwise scores count pairs; these count people. A person is <i>exactly reunited</i> when one
cluster holds all of the person's records and no one else's.</p>
<table>{rows}</table>{by_count_table}
{_img(charts, "cluster_sizes", "Cluster sizes, truth against linkage")}"""


def _sweep_rows(ev: Evaluation) -> str:
    s = ev.sweep
    assert s is not None
    marks: dict[float, str] = {}
    step = max(1, len(s.thresholds) // 20)
    shown = {float(t) for t in s.thresholds[::step]}
    shown.add(float(s.thresholds[-1]) if len(s.thresholds) else s.best_threshold)
    shown.add(s.best_threshold)
    marks[s.best_threshold] = "best"
    if ev.threshold is not None:
        shown.add(ev.threshold)
        marks[ev.threshold] = "chosen"
    rows = []
    for t in sorted(shown):
        c = s.at(t)
        mark = marks.get(t, "")
        label = {"best": " (best F1)", "chosen": " (chosen)"}.get(mark, "")
        if mark == "chosen" and t == s.best_threshold:
            label = " (chosen, best F1)"
        rows.append(
            f'<tr class="{mark}"><td class=n>{t:.4g}{label}</td>'
            f"<td class=n>{c.predicted_pairs:,}</td><td class=n>{c.true_positives:,}</td>"
            f"<td class=n>{c.false_positives:,}</td>"
            f"<td class=n>{_score(c.precision, c.predicted_pairs > 0)}</td>"
            f"<td class=n>{c.recall:.4f}</td><td class=n>{c.f1:.4f}</td></tr>"
        )
    return "".join(rows)


def _sweep_section(ev: Evaluation, charts: dict[str, bytes]) -> str:
    s = ev.sweep
    if s is None:
        return ""
    scope = (
        "all pairs (across and within agencies)"
        if s.scope == "all"
        else "pairs across agencies only"
    )
    ceiling = (
        f"so even linking every scored pair would reach only {s.max_recall:.2%} recall"
        if s.scored_matches < s.total_true_pairs
        else "and every one of them was scored"
    )
    after = (
        " These are pairs before clustering; the links above come after it, so their scores differ."
        if ev.pairwise is not None
        else ""
    )
    return f"""
<h2>Choosing the threshold</h2>
<p>The matcher scored <b>{s.scored_pairs:,}</b> candidate pairs, <b>{s.scored_matches:,}</b> of
them true matches. Recall is counted against all <b>{s.total_true_pairs:,}</b> true pairs in the
truth ({scope}), including pairs that were never scored, {ceiling}.{after}</p>
{_img(charts, "threshold_sweep", "Precision, recall and F1 against the threshold")}
{_img(charts, "similarity_histograms", "Similarity histograms of matches and non-matches")}
<table><tr><th class=n>threshold</th><th class=n>linked pairs</th><th class=n>correct</th>
<th class=n>wrong</th><th class=n>precision</th><th class=n>recall</th><th class=n>F1</th></tr>
{_sweep_rows(ev)}</table>"""


def _blocking_section(ev: Evaluation) -> str:
    b = ev.blocking
    if b is None:
        return ""
    return f"""
<h2>Blocking</h2>
<table>
<tr><td>candidate pairs compared</td><td class=n>{b.candidate_pairs:,}</td></tr>
<tr><td>possible pairs ({"all" if b.scope == "all" else "across agencies"})</td>
<td class=n>{b.comparison_space:,}</td></tr>
<tr><td>reduction ratio (share of possible pairs not compared)</td>
<td class=n>{b.reduction_ratio:.6f}</td></tr>
<tr><td>pair completeness (share of true pairs compared)</td>
<td class=n>{b.pair_completeness:.4f}</td></tr>
<tr><td>pairs quality (share of compared pairs that are true)</td>
<td class=n>{b.pairs_quality:.4f}</td></tr>
</table>"""


_HOW_TO_READ = """
<h2>How to read this</h2>
<dl>
<dt>Truth</dt><dd>A file saying which records really are the same person. Only synthetic data
or a public benchmark has one, which is why a threshold is chosen on such data before it is
used on real records.</dd>
<dt>Pairwise precision</dt><dd>Of all pairs of records the linkage put together, the share that
really are the same person. Low precision means strangers are merged: their records would be
analysed as one person's.</dd>
<dt>Pairwise recall</dt><dd>Of all pairs of records of the same person, the share the linkage
put together. Low recall means people are split: one person counts as several, and their
history across agencies is lost.</dd>
<dt>F1</dt><dd>One number balancing the two (their harmonic mean). The best-F1 threshold is a
sensible default; a project that must avoid false merges more than missed links chooses a
higher threshold (more precision, less recall).</dd>
<dt>People exactly reunited</dt><dd>The strictest measure: the share of people for whom one
cluster holds every one of their records and nobody else's. One wrong or missed record breaks
it, so it is lower than the pairwise scores.</dd>
<dt>Split and over-merged</dt><dd>A split person's records are in several clusters (missed
links); an over-merged person shares a cluster with someone else (false links).</dd>
<dt>Threshold sweep</dt><dd>Each pair the matcher compared has a similarity score. Linking every
pair scoring at least <i>t</i> gives the precision and recall plotted at <i>t</i>. Moving the
threshold right trades recall for precision.</dd>
<dt>Similarity histograms</dt><dd>Where true matches (blue) and non-matches (grey) score. The
less they overlap, the easier the choice; pairs of different people scoring above the threshold
are the false links, true matches below it the missed ones. The vertical axis is logarithmic
because non-matches far outnumber matches.</dd>
<dt>Pair completeness and reduction ratio</dt><dd>Blocking decides which pairs are compared at
all. Pair completeness is the share of true pairs that were compared (no threshold can find the
others); the reduction ratio is the share of all possible pairs that blocking spared.</dd>
<dt>Conventions</dt><dd>Precision is counted as 1 when nothing was linked and recall as 1 when
there was nothing to find; the tables show &ndash; there instead.</dd>
</dl>"""


def render_html(evaluation: Evaluation, charts: dict[str, bytes] | None = None) -> str:
    """The report page as one self-contained HTML string."""
    ev = evaluation
    charts = evaluation_charts(ev) if charts is None else charts
    notes = (
        "<h2>Notes</h2><ul>" + "".join(f'<li class="note">{_e(n)}</li>' for n in ev.notes) + "</ul>"
        if ev.notes
        else ""
    )
    inputs = ev.inputs or {}
    files = [("truth", inputs.get("truth"))]
    files += [("links", p) for p in inputs.get("links", [])]
    files += [("pairs", inputs.get("pairs"))]
    file_rows = "".join(
        f"<tr><td>{_e(k)}</td><td><code>{_e(str(v))}</code></td></tr>" for k, v in files if v
    )
    records = ", ".join(f"{_e(a)} {n:,}" for a, n in ev.records_by_agency.items())
    created = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>htlink linkage evaluation</title>
<style>{_STYLE}</style></head><body>
<h1>Linkage evaluation</h1>
<p class="muted">{ev.records:,} records ({records}) &middot; made by htlink {_e(__version__)}
on {created} &middot; counts and scores only: this page holds no record values.</p>
{_lead(ev)}
{_cards(ev)}
{notes}
{_agency_section(ev, charts)}
{_cluster_section(ev, charts)}
{_sweep_section(ev, charts)}
{_blocking_section(ev)}
{_HOW_TO_READ}
<h2>Inputs</h2>
<table>{file_rows}</table>
<p class="muted">All figures are also in <code>metrics.json</code> beside this page.</p>
</body></html>
"""
