"""Scoring a linkage against ground truth.

The Python names match the command line: ``htlink evaluate`` is
:func:`evaluate_files` followed by :func:`write_report`.  Underneath:

* :mod:`~htlink.evaluate.truth` -- ``truth.csv`` (agency, record id, person id);
* :mod:`~htlink.evaluate.links` -- the hub's links (row tokens resolved through
  the agency's row-token map) as one predicted cluster per record;
* :mod:`~htlink.evaluate.pairs` -- the matcher's scored candidate pairs;
* :mod:`~htlink.evaluate.metrics` -- pairwise, per-agency-pair, cluster and
  blocking measures from two clusterings, by contingency counting;
* :mod:`~htlink.evaluate.sweep` -- quality against the similarity threshold;
* :mod:`~htlink.evaluate.plots` and :mod:`~htlink.evaluate.report` -- PNG charts
  and the self-contained HTML report;
* :mod:`~htlink.evaluate.febrl` -- the public FEBRL data sets with their truth;
* :mod:`~htlink.evaluate.baseline` -- exact matching on name and date of birth.

See docs/evaluation.md.
"""

from htlink.evaluate.baseline import BaselineColumns, exact_keys, exact_match_links
from htlink.evaluate.evaluation import Evaluation, evaluate_files, evaluate_linkage
from htlink.evaluate.febrl import FebrlDataset, find_febrl_dir, load_febrl, write_febrl
from htlink.evaluate.links import (
    agency_from_path,
    combine_links,
    load_links,
    load_row_tokens,
    parse_token_specs,
    predicted_labels,
)
from htlink.evaluate.metrics import (
    BlockingMetrics,
    ClusterMetrics,
    PairCounts,
    agency_pair_metrics,
    blocking_metrics,
    cluster_metrics,
    comparison_space,
    pairwise_metrics,
    split_by_scope,
    true_pair_count,
)
from htlink.evaluate.pairs import LocatedPairs, load_pairs, locate_pairs
from htlink.evaluate.report import evaluation_charts, render_html, write_report
from htlink.evaluate.sweep import SweepResult, threshold_sweep
from htlink.evaluate.truth import Truth, load_truth

__all__ = [
    "BaselineColumns",
    "BlockingMetrics",
    "ClusterMetrics",
    "Evaluation",
    "FebrlDataset",
    "LocatedPairs",
    "PairCounts",
    "SweepResult",
    "Truth",
    "agency_from_path",
    "agency_pair_metrics",
    "blocking_metrics",
    "cluster_metrics",
    "combine_links",
    "comparison_space",
    "evaluate_files",
    "evaluate_linkage",
    "evaluation_charts",
    "exact_keys",
    "exact_match_links",
    "find_febrl_dir",
    "load_febrl",
    "load_links",
    "load_pairs",
    "load_row_tokens",
    "load_truth",
    "locate_pairs",
    "pairwise_metrics",
    "parse_token_specs",
    "predicted_labels",
    "render_html",
    "split_by_scope",
    "threshold_sweep",
    "true_pair_count",
    "write_febrl",
    "write_report",
]
