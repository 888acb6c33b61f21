"""Charts of an evaluation, each a function of results the user already has.

Every function returns PNG bytes (matplotlib's Agg renderer; no display, no
global pyplot state); :func:`save_png` writes them.  The charts show counts
and scores only, never a record.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from htlink.evaluate.metrics import ClusterMetrics, PairCounts
from htlink.evaluate.sweep import SweepResult

BLUE, ORANGE, GREEN, GREY, RED = "#3a6ea5", "#d9822b", "#3c8d40", "#7b8794", "#b03a2e"


def _figure(width: float = 7.5, height: float = 3.6) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _png(fig: Any) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _log_counts(ax: Any) -> None:
    """A log count axis that starts below 1 (so single counts show) with plain numbers."""
    from matplotlib.ticker import FuncFormatter

    ax.set_yscale("log")
    ax.set_ylim(bottom=0.5)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else ""))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def _threshold_lines(ax: Any, best: float, chosen: float | None) -> None:
    ax.axvline(best, color=GREY, linestyle="--", linewidth=1.2, label=f"best F1 at {best:.3g}")
    if chosen is not None:
        ax.axvline(chosen, color=RED, linewidth=1.6, label=f"chosen {chosen:.3g}")


def plot_threshold_sweep(sweep: SweepResult, *, chosen: float | None = None) -> bytes:
    """Precision, recall and F1 against the similarity threshold."""
    fig, ax = _figure()
    steps = {"drawstyle": "steps-post"}  # the value at t holds up to the next grid point
    ax.plot(sweep.thresholds, sweep.precision, color=BLUE, label="precision", **steps)
    ax.plot(sweep.thresholds, sweep.recall, color=ORANGE, label="recall", **steps)
    ax.plot(sweep.thresholds, sweep.f1, color=GREEN, linewidth=2.2, label="F1", **steps)
    _threshold_lines(ax, sweep.best_threshold, chosen)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("similarity threshold (pairs scoring at least this are linked)")
    ax.set_ylabel("score")
    ax.set_title("Linkage quality against the threshold")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    return _png(fig)


def plot_similarity_histograms(sweep: SweepResult, *, chosen: float | None = None) -> bytes:
    """Score distributions of true matches and non-matches (log scale)."""
    fig, ax = _figure()
    edges = sweep.bin_edges
    ax.stairs(sweep.nonmatch_counts, edges, fill=True, alpha=0.55, color=GREY,
              label=f"non-matches ({int(sweep.nonmatch_counts.sum()):,})")  # fmt: skip
    ax.stairs(sweep.match_counts, edges, fill=True, alpha=0.55, color=BLUE,
              label=f"true matches ({int(sweep.match_counts.sum()):,})")  # fmt: skip
    if sweep.match_counts.any() or sweep.nonmatch_counts.any():
        _log_counts(ax)
    _threshold_lines(ax, sweep.best_threshold, chosen)
    ax.set_xlabel("similarity")
    ax.set_ylabel("scored pairs (log scale)")
    ax.set_title("Similarity of true matches and non-matches")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    return _png(fig)


def _size_buckets(sizes: Mapping[int, int], cap: int) -> list[int]:
    counts = [sizes.get(s, 0) for s in range(1, cap)]
    counts.append(sum(c for s, c in sizes.items() if s >= cap))
    return counts


def plot_cluster_sizes(clusters: ClusterMetrics, *, cap: int = 20) -> bytes:
    """How many clusters have 1, 2, ... records: the truth's people against the linkage's."""
    biggest = max([*clusters.true_sizes, *clusters.predicted_sizes, 1])
    cap = min(cap, biggest + 1)
    true_counts = _size_buckets(clusters.true_sizes, cap)
    pred_counts = _size_buckets(clusters.predicted_sizes, cap)
    labels = [str(s) for s in range(1, cap)] + [f"{cap}+"]
    if true_counts[-1] == 0 and pred_counts[-1] == 0:
        labels, true_counts, pred_counts = labels[:-1], true_counts[:-1], pred_counts[:-1]
    x = np.arange(len(labels))
    fig, ax = _figure()
    ax.bar(x - 0.2, true_counts, width=0.4, color=GREY, label="true people")
    ax.bar(x + 0.2, pred_counts, width=0.4, color=BLUE, label="predicted clusters")
    ax.set_xticks(x, labels)
    if any(true_counts) or any(pred_counts):
        _log_counts(ax)
    ax.set_xlabel("records per cluster")
    ax.set_ylabel("clusters (log scale)")
    ax.set_title("Cluster sizes")
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def agency_pair_label(pair: tuple[str, str]) -> str:
    """``A – B`` for pairs across agencies, ``A (within)`` for duplicates in one agency."""
    a, b = pair
    return f"{a} (within)" if a == b else f"{a} – {b}"


def plot_agency_pair_recall(by_pair: Mapping[tuple[str, str], PairCounts]) -> bytes:
    """Recall and precision per agency pair (pairs with nothing to find are left out)."""
    items = [(k, c) for k, c in by_pair.items() if c.true_pairs or c.predicted_pairs]
    labels = [agency_pair_label(k) for k, _ in items]
    recall = [c.recall if c.true_pairs else np.nan for _, c in items]
    precision = [c.precision if c.predicted_pairs else np.nan for _, c in items]
    fig, ax = _figure(7.5, max(2.2, 0.55 * len(items) + 1.2))
    y = np.arange(len(items))
    ax.barh(y - 0.2, recall, height=0.4, color=ORANGE, label="recall")
    ax.barh(y + 0.2, precision, height=0.4, color=BLUE, label="precision")
    for yi, r, p in zip(y, recall, precision, strict=True):
        for offset, value in ((-0.2, r), (0.2, p)):
            text = "n/a" if np.isnan(value) else f"{value:.1%}"
            ax.text(0.0 if np.isnan(value) else value, yi + offset, " " + text,
                    va="center", fontsize=7)  # fmt: skip
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("share of pairs")
    ax.set_title("Recall and precision per agency pair")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    return _png(fig)


def save_png(png: bytes, path: Path | str) -> Path:
    """Write PNG bytes to ``path``."""
    path = Path(path)
    path.write_bytes(png)
    return path
