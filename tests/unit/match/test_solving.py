"""The clustering rule: greedy, constraint-respecting, order-independent of input order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from htlink.match.solving import cluster_records


def groups(roots: np.ndarray) -> set[frozenset[int]]:
    out: dict[int, set[int]] = {}
    for x, r in enumerate(roots.tolist()):
        out.setdefault(r, set()).add(x)
    return {frozenset(g) for g in out.values()}


def test_two_sources_is_greedy_one_to_one() -> None:
    # records 0,1 in source 0; 2,3 in source 1
    source = np.array([0, 0, 1, 1])
    u, v = np.array([0, 0, 1]), np.array([2, 3, 2])
    scores = np.array([0.95, 0.90, 0.93])
    roots, conf, accepted = cluster_records(source, np.array([True, True]), u, v, scores)
    assert groups(roots) == {frozenset({0, 2}), frozenset({1}), frozenset({3})}
    assert accepted.tolist() == [True, False, False]
    assert conf[0] == 0.95 and np.isnan(conf[1]) and np.isnan(conf[3])


def test_conflicting_links_resolved_by_score_and_constraint() -> None:
    # A(0, src 0) ~ B(1, src 1) 0.9; B ~ C(2, src 2) 0.85; A !~ C; D(3, src 0) ~ C 0.95
    source = np.array([0, 1, 2, 0])
    u, v = np.array([0, 1, 3]), np.array([1, 2, 2])
    roots, _, accepted = cluster_records(
        source, np.array([True] * 3), u, v, np.array([0.9, 0.85, 0.95])
    )
    # D~C first, then A~B; B~C would put A and D (both source 0) together: rejected
    assert groups(roots) == {frozenset({2, 3}), frozenset({0, 1})}
    assert accepted.tolist() == [True, False, True]


def test_repeat_visits_merge_when_source_is_not_deduplicated() -> None:
    source = np.array([0, 0, 0, 1])
    u, v = np.array([0, 1, 0]), np.array([1, 2, 3])
    roots, _, _ = cluster_records(source, np.array([False, True]), u, v, np.array([0.9, 0.9, 0.8]))
    assert groups(roots) == {frozenset({0, 1, 2, 3})}


def test_ties_are_broken_by_record_numbers() -> None:
    source = np.array([0, 1, 1])
    roots, _, _ = cluster_records(
        source, np.array([True, True]), np.array([0, 0]), np.array([2, 1]), np.array([0.9, 0.9])
    )
    assert groups(roots) == {frozenset({0, 1}), frozenset({2})}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_constraints_hold_and_input_order_does_not_matter(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 25))
    k = data.draw(st.integers(1, 4))
    source = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    dedup = np.array(data.draw(st.lists(st.booleans(), min_size=k, max_size=k)))
    m = data.draw(st.integers(0, 40))
    u = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    v = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    scores = np.array(
        data.draw(st.lists(st.sampled_from([0.7, 0.8, 0.9, 1.0]), min_size=m, max_size=m))
    )
    keep = u != v
    u, v, scores = u[keep], v[keep], scores[keep]
    roots, _, _ = cluster_records(source, dedup, u, v, scores)
    for g in groups(roots):
        members = sorted(g)
        for s in range(k):
            if dedup[s]:
                assert sum(source[x] == s for x in members) <= 1
    perm = np.random.default_rng(0).permutation(len(u))
    swapped = cluster_records(source, dedup, v[perm], u[perm], scores[perm])[0]
    assert groups(swapped) == groups(roots)


def test_average_linkage_stops_chains() -> None:
    from htlink.match.similarities import as_words

    # A and C share nothing; B is half A and half C: A~B and B~C score 2/3, A~C 0
    a = np.zeros(64, bool)
    a[:16] = True
    c = np.zeros(64, bool)
    c[16:32] = True
    b = a | c
    words = as_words(np.packbits(np.stack([a, b, c]), axis=1))
    source = np.array([0, 1, 2])
    u, v, scores = np.array([0, 1]), np.array([1, 2]), np.array([2 / 3, 2 / 3])
    single = cluster_records(source, np.array([False] * 3), u, v, scores)[0]
    assert groups(single) == {frozenset({0, 1, 2})}
    average = cluster_records(
        source, np.array([False] * 3), u, v, scores, words=words, min_average=0.6
    )[0]
    assert groups(average) == {frozenset({0, 1}), frozenset({2})}  # mean(A~C, B~C) = 1/3 < 0.6
