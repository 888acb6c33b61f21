"""Charts and the HTML report: valid PNGs, one self-contained page, metrics.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from htlink.errors import HtlinkError
from htlink.evaluate import Truth, evaluate_linkage, render_html, write_report
from htlink.evaluate.metrics import agency_pair_metrics, cluster_metrics
from htlink.evaluate.plots import (
    plot_agency_pair_recall,
    plot_cluster_sizes,
    plot_similarity_histograms,
    plot_threshold_sweep,
    save_png,
)
from htlink.evaluate.sweep import threshold_sweep

PNG = b"\x89PNG\r\n\x1a\n"


def small_evaluation():
    truth = Truth.from_frame(
        pd.DataFrame(
            {
                "agency": ["A", "A", "B", "B", "C"],
                "record_id": ["a1", "a2", "b1", "b2", "c1"],
                "person_id": ["p1", "p2", "p1", "p2", "p2"],
            }
        )
    )
    links = pd.DataFrame(
        {
            "agency": ["A", "A", "B", "B", "C"],
            "record_id": ["a1", "a2", "b1", "b2", "c1"],
            "pseudonym": ["X", "Y", "X", "X", ""],
            "confidence": [0.9] * 5,
        }
    )
    pairs = pd.DataFrame(
        {
            "agency_a": ["A", "A", "A", "B"],
            "record_a": ["a1", "a2", "a1", "b2"],
            "agency_b": ["B", "B", "B", "C"],
            "record_b": ["b1", "b2", "b2", "c1"],
            "similarity": [0.95, 0.62, 0.7, 0.4],
        }
    )
    return evaluate_linkage(truth, links, pairs, threshold=0.65)


def test_every_chart_is_a_png() -> None:
    sweep = threshold_sweep([0.9, 0.5, 0.2], [True, False, True], 3)
    true, pred, agency = [1, 1, 2, 2, 3], [1, 1, 2, 5, 5], list("ABABC")
    for png in (
        plot_threshold_sweep(sweep, chosen=0.4),
        plot_similarity_histograms(sweep),
        plot_cluster_sizes(cluster_metrics(true, pred)),
        plot_agency_pair_recall(agency_pair_metrics(true, pred, agency)),
        plot_cluster_sizes(cluster_metrics(list(range(40)) + [0] * 30, list(range(70)))),
    ):
        assert png.startswith(PNG) and len(png) > 1000


def test_charts_cope_with_empty_data(tmp_path: Path) -> None:
    empty = threshold_sweep([], [], 0)
    assert plot_threshold_sweep(empty).startswith(PNG)
    assert plot_similarity_histograms(empty).startswith(PNG)
    assert plot_agency_pair_recall({}).startswith(PNG)
    assert save_png(PNG, tmp_path / "x.png").read_bytes() == PNG


def test_report_is_self_contained_and_complete(tmp_path: Path) -> None:
    ev = small_evaluation()
    paths = write_report(ev, tmp_path / "out")
    assert set(paths) == {
        "report", "metrics", "threshold_sweep", "similarity_histograms", "cluster_sizes",
        "agency_pair_recall",
    }  # fmt: skip
    page = paths["report"].read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 4 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<link" not in page and "<script" not in page
    for section in ("Quality per agency pair", "Whole people", "Choosing the threshold",
                    "Blocking", "How to read this", "(chosen)", "(best F1)"):  # fmt: skip
        assert section in page
    metrics = json.loads(paths["metrics"].read_text())
    assert metrics["pairwise"]["all"]["true_pairs"] == 1 + 3  # p1: a1-b1; p2: a2, b2, c1
    assert metrics["sweep"]["chosen"]["threshold"] == 0.65
    assert metrics["sweep"]["best"]["threshold"] == 0.4  # F1 2·3/(4 + 4), the highest
    assert metrics["blocking"]["scope"] == "cross"
    for name in ("threshold_sweep", "cluster_sizes"):
        assert paths[name].read_bytes().startswith(PNG)


def test_report_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    ev = small_evaluation()
    write_report(ev, tmp_path)
    with pytest.raises(HtlinkError, match="already holds an evaluation"):
        write_report(ev, tmp_path)
    assert write_report(ev, tmp_path, overwrite=True)["report"].is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(HtlinkError, match="is a file"):
        write_report(ev, tmp_path / "file")


def test_report_without_pairs_or_links_leaves_those_sections_out() -> None:
    ev = small_evaluation()
    ev.sweep = ev.blocking = None
    ev.threshold = None
    page = render_html(ev)
    assert "Choosing the threshold" not in page and "Whole people" in page
    ev.pairwise = ev.clusters = ev.agency_pairs = None
    assert "Whole people" not in render_html(ev)
