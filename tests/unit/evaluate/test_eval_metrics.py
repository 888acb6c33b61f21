"""Metric functions against hand-computed cases and brute-force pair enumeration.

The hand-computed case (``RECORDS``), one row per record:

    pos agency true pred
     0    A     p1   X
     1    A     p1   X
     2    A     p2   Y
     3    B     p1   X
     4    B     p2   X
     5    B     p3   Z
     6    C     p3   Z
     7    C     p4   W

True clusters p1{0,1,3} p2{2,4} p3{5,6} p4{7}: 3 + 1 + 1 = 5 true pairs.
Predicted X{0,1,3,4} Y{2} Z{5,6} W{7}: 6 + 1 = 7 predicted pairs.
Cells (p1,X)=3, (p2,X)=1, (p2,Y)=1, (p3,Z)=2, (p4,W)=1: 3 + 1 = 4 true positives.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htlink.evaluate.metrics import (
    PairCounts,
    agency_pair_metrics,
    blocking_metrics,
    cluster_metrics,
    comparison_space,
    pairwise_metrics,
    split_by_scope,
    true_pair_count,
)

AGENCY = ["A", "A", "A", "B", "B", "B", "C", "C"]
TRUE = ["p1", "p1", "p2", "p1", "p2", "p3", "p3", "p4"]
PRED = ["X", "X", "Y", "X", "X", "Z", "Z", "W"]


def test_pairwise_hand_computed() -> None:
    c = pairwise_metrics(TRUE, PRED)
    assert (c.true_pairs, c.predicted_pairs, c.true_positives) == (5, 7, 4)
    assert (c.false_positives, c.false_negatives) == (3, 1)
    assert c.precision == pytest.approx(4 / 7)
    assert c.recall == pytest.approx(4 / 5)
    assert c.f1 == pytest.approx(2 * (4 / 7) * (4 / 5) / (4 / 7 + 4 / 5))
    assert c.f1 == pytest.approx(2 / 3)


def test_per_agency_pair_hand_computed() -> None:
    by = agency_pair_metrics(TRUE, PRED, AGENCY)
    expected = {  # (true pairs, predicted pairs, true positives)
        ("A", "A"): (1, 1, 1),  # 0-1 is p1 and X
        ("B", "B"): (0, 1, 0),  # 3-4 linked (X) but p1 vs p2
        ("C", "C"): (0, 0, 0),
        ("A", "B"): (3, 4, 2),  # true 0-3, 1-3, 2-4; linked {0,1}x{3,4}; right 0-3, 1-3
        ("A", "C"): (0, 0, 0),
        ("B", "C"): (1, 1, 1),  # 5-6
    }
    assert {k: (v.true_pairs, v.predicted_pairs, v.true_positives) for k, v in by.items()} == (
        expected
    )
    scopes = split_by_scope(by)
    assert scopes["all"] == PairCounts(5, 7, 4)
    assert scopes["cross_agency"] == PairCounts(4, 5, 3)
    assert scopes["within_agency"] == PairCounts(1, 2, 1)


def test_cluster_measures_hand_computed() -> None:
    c = cluster_metrics(TRUE, PRED, AGENCY)
    # p1: whole in X, but X also holds p2's record 4 -> over-merged
    # p2: split over X and Y, and X is mixed -> split and over-merged
    # p3, p4: exactly reunited
    assert (c.people, c.predicted_clusters) == (4, 4)
    assert c.exactly_reunited == 2 and c.reunited_share == 0.5
    assert (c.split_people, c.over_merged_people, c.split_and_over_merged_people) == (1, 2, 1)
    assert c.mixed_clusters == 1
    assert (c.multi_record_people, c.multi_record_reunited) == (3, 1)
    assert c.multi_record_reunited_share == pytest.approx(1 / 3)
    assert (c.cluster_precision, c.cluster_recall, c.cluster_f1) == (0.5, 0.5, 0.5)
    assert c.true_sizes == {1: 1, 2: 2, 3: 1}
    assert c.predicted_sizes == {1: 2, 2: 1, 4: 1}
    # p1 {A,B}, p2 {A,B}, p3 {B,C}: 3 people in two agencies (1 reunited); p4 in C alone
    assert c.by_agency_count == {1: (1, 1), 2: (3, 1)}
    d = c.to_dict()
    assert d["true_cluster_sizes"] == {"1": 1, "2": 2, "3": 1}
    assert d["by_agency_count"]["2"]["reunited_share"] == pytest.approx(1 / 3)


def test_blocking_hand_computed() -> None:
    # sizes A=3, B=3, C=2: C(8,2) = 28 pairs in all, 28 - (3 + 3 + 1) = 21 across agencies
    assert comparison_space({"A": 3, "B": 3, "C": 2}, "all") == 28
    assert comparison_space([3, 3, 2], "cross") == 21
    assert true_pair_count(TRUE, AGENCY, "all") == 5
    assert true_pair_count(TRUE, AGENCY, "cross") == 4  # minus 0-1 within A
    # candidates: 0-3 T, 1-3 T, 2-4 T, 0-4 F, 5-6 T, 3-0 (0-3 again), 0-1 T (within A)
    first = [0, 1, 2, 0, 5, 3, 0]
    second = [3, 3, 4, 4, 6, 0, 1]
    b = blocking_metrics(first, second, TRUE, AGENCY, scope="all")
    assert (b.candidate_pairs, b.true_candidate_pairs, b.true_pairs) == (6, 5, 5)
    assert b.comparison_space == 28
    assert b.pair_completeness == 1.0
    assert b.reduction_ratio == pytest.approx(1 - 6 / 28)
    assert b.pairs_quality == pytest.approx(5 / 6)
    cross = blocking_metrics(first, second, TRUE, AGENCY, scope="cross")
    assert (cross.candidate_pairs, cross.true_candidate_pairs, cross.true_pairs) == (5, 4, 4)
    assert cross.reduction_ratio == pytest.approx(1 - 5 / 21)
    missing_one = blocking_metrics([0, 2], [3, 4], TRUE, AGENCY, scope="cross")
    assert missing_one.pair_completeness == pytest.approx(2 / 4)


def test_empty_denominators_follow_the_documented_conventions() -> None:
    nothing = pairwise_metrics(["a", "b", "c"], [1, 2, 3])
    assert nothing == PairCounts(0, 0, 0)
    assert (nothing.precision, nothing.recall, nothing.f1) == (1.0, 1.0, 1.0)
    unlinked = pairwise_metrics(["a", "a"], [1, 2])
    assert (unlinked.precision, unlinked.recall, unlinked.f1) == (1.0, 0.0, 0.0)
    wrong = pairwise_metrics(["a", "b"], [1, 1])
    assert (wrong.precision, wrong.recall, wrong.f1) == (0.0, 1.0, 0.0)
    assert pairwise_metrics([], []) == PairCounts(0, 0, 0)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="labels"):
        pairwise_metrics([1, 2], [1])
    with pytest.raises(ValueError, match="missing"):
        pairwise_metrics([1, None], [1, 2])
    with pytest.raises(ValueError, match="itself"):
        blocking_metrics([0], [0], [1, 1])
    with pytest.raises(ValueError, match="scope"):
        comparison_space([1, 2], "within")


# --------------------------------------------------------------------------- properties


def brute_force(true, pred, agency):
    """Every pair enumerated: counts per (sorted) agency pair, and per-person outcomes."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for i, j in itertools.combinations(range(len(true)), 2):
        key = tuple(sorted((agency[i], agency[j])))
        same_t, same_p = true[i] == true[j], pred[i] == pred[j]
        counts[key][0] += same_t
        counts[key][1] += same_p
        counts[key][2] += same_t and same_p
    members_t: dict = defaultdict(set)
    members_p: dict = defaultdict(set)
    for i, (t, p) in enumerate(zip(true, pred, strict=True)):
        members_t[t].add(i)
        members_p[p].add(i)
    exact = sum(any(members_p[p] == recs for p in members_p) for recs in members_t.values())
    split = sum(len({pred[i] for i in recs}) > 1 for recs in members_t.values())
    merged = sum(
        any(len({true[j] for j in members_p[pred[i]]}) > 1 for i in recs)
        for recs in members_t.values()
    )
    return counts, exact, split, merged


clusterings = st.integers(min_value=0, max_value=14).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 5), min_size=n, max_size=n),
        st.lists(st.integers(0, 5), min_size=n, max_size=n),
        st.lists(st.sampled_from("ABC"), min_size=n, max_size=n),
    )
)


@settings(max_examples=150, deadline=None)
@given(clusterings)
def test_counts_agree_with_brute_force_enumeration(case) -> None:
    true, pred, agency = case
    counts, exact, split, merged = brute_force(true, pred, agency)
    total = [sum(c[k] for c in counts.values()) for k in range(3)]
    assert pairwise_metrics(true, pred) == PairCounts(*total)
    if true:
        by = agency_pair_metrics(true, pred, agency)
        for key, c in by.items():
            assert [c.true_pairs, c.predicted_pairs, c.true_positives] == counts.get(key, [0, 0, 0])
        assert split_by_scope(by)["all"] == PairCounts(*total)
        cross = sum(c[0] for k, c in counts.items() if k[0] != k[1])
        assert true_pair_count(true, agency, "cross") == cross
    cm = cluster_metrics(true, pred, agency if true else None)
    assert (cm.exactly_reunited, cm.split_people, cm.over_merged_people) == (exact, split, merged)
    assert cm.people == len(set(true)) and cm.predicted_clusters == len(set(pred))
    assert sum(k * v for k, v in cm.true_sizes.items()) == len(true)


@settings(max_examples=100, deadline=None)
@given(clusterings)
def test_perfect_prediction_scores_one(case) -> None:
    true, _, agency = case
    renamed = [f"cluster-{t * 7 + 3}" for t in true]  # same partition, other labels
    c = pairwise_metrics(true, renamed)
    assert (c.precision, c.recall, c.f1) == (1.0, 1.0, 1.0)
    cm = cluster_metrics(true, renamed)
    assert cm.cluster_f1 == 1.0 and cm.reunited_share == 1.0
    assert cm.split_people == cm.over_merged_people == 0
    if true:
        for pc in agency_pair_metrics(true, renamed, agency).values():
            assert pc.f1 == 1.0


@settings(max_examples=100, deadline=None)
@given(clusterings)
def test_swapping_truth_and_prediction_swaps_precision_and_recall(case) -> None:
    true, pred, _ = case
    forward, backward = pairwise_metrics(true, pred), pairwise_metrics(pred, true)
    assert forward.precision == backward.recall
    assert forward.recall == backward.precision
    assert forward.f1 == backward.f1
    cf, cb = cluster_metrics(true, pred), cluster_metrics(pred, true)
    assert cf.cluster_precision == cb.cluster_recall and cf.cluster_f1 == cb.cluster_f1


@settings(max_examples=100, deadline=None)
@given(
    clusterings,
    st.lists(st.tuples(st.integers(0, 13), st.integers(0, 13)), max_size=30),
    st.sampled_from(["all", "cross"]),
)
def test_blocking_agrees_with_brute_force(case, raw_pairs, scope) -> None:
    true, _, agency = case
    n = len(true)
    pairs = [(a, b) for a, b in raw_pairs if a < n and b < n and a != b]
    unique = {tuple(sorted(p)) for p in pairs}
    if scope == "cross":
        unique = {(a, b) for a, b in unique if agency[a] != agency[b]}
    space = [
        (i, j)
        for i, j in itertools.combinations(range(n), 2)
        if scope == "all" or agency[i] != agency[j]
    ]
    true_pairs = sum(true[i] == true[j] for i, j in space)
    b = blocking_metrics(
        [p[0] for p in pairs], [p[1] for p in pairs], true, agency if n else None, scope=scope
    ) if n or scope == "all" else None  # fmt: skip
    if b is None:
        return
    assert b.candidate_pairs == len(unique)
    assert b.true_candidate_pairs == sum(true[i] == true[j] for i, j in unique)
    assert b.true_pairs == true_pairs
    assert b.comparison_space == len(space)
    assert 0.0 <= b.reduction_ratio <= 1.0 and 0.0 <= b.pair_completeness <= 1.0


def test_large_input_is_fast_and_exact() -> None:
    rng = np.random.default_rng(0)
    n = 300_000
    true = rng.integers(0, n // 3, n)
    pred = np.where(rng.random(n) < 0.9, true, np.arange(n) + n)  # 10% left unlinked
    agency = rng.choice(np.array(["A", "B", "C"], dtype=object), n)
    c = pairwise_metrics(true, pred)
    by = agency_pair_metrics(true, pred, agency)
    assert split_by_scope(by)["all"] == c
    assert 0.7 < c.recall < 0.9 and c.precision == 1.0
