"""The clustering rule: greedy, constraint-respecting, order-independent of input order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htlink.match import solving
from htlink.match.solving import (
    cluster_links,
    cluster_records,
    link_keys,
    link_order,
    unpack_keys,
)


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


# ------------------------------------------------------- the packed-key order vs np.lexsort

SCORES = st.sampled_from([0.0, -0.0, 0.5, 0.7, 2 / 3, 0.8, 0.8 + 1e-12, 0.9, 1.0])


@st.composite
def links(draw: st.DrawFn, max_records: int = 30) -> tuple[int, np.ndarray, ...]:
    """Random links with tied scores, repeated pairs, both orientations and self-links."""
    n = draw(st.integers(1, max_records))
    m = draw(st.integers(0, 60))
    ints = st.lists(st.integers(0, n - 1), min_size=m, max_size=m)
    u = np.array(draw(ints), dtype=np.int64)
    v = np.array(draw(ints), dtype=np.int64)
    scores = np.array(draw(st.lists(SCORES, min_size=m, max_size=m)), dtype=np.float64)
    return n, u, v, scores


@settings(max_examples=200, deadline=None)
@given(links(), st.integers(1, 2**40))
def test_packed_keys_sort_exactly_like_the_lexsort(case: tuple, offset: int) -> None:
    n, u, v, scores = case
    for shift in (0, offset):  # small record numbers, and large ones (wide keys)
        packed = link_keys(u + shift, v + shift, scores, n + shift)
        lo, hi = np.minimum(u, v) + shift, np.maximum(u, v) + shift
        reference = link_order(u + shift, v + shift, scores)
        assert np.array_equal(reference, np.lexsort((hi, lo, -scores)))
        if packed is None:  # too wide for 64 bits: the reference path is used
            assert 2 * (n + shift - 1).bit_length() > 60
            continue
        keys, score_of_rank, record_bits = packed
        got_lo, got_hi, got_scores = unpack_keys(np.sort(keys), score_of_rank, record_bits)
        assert np.array_equal(got_lo, lo[reference])
        assert np.array_equal(got_hi, hi[reference])
        assert np.array_equal(got_scores, scores[reference])  # -0.0 == 0.0, as for lexsort


def test_packed_keys_on_many_distinct_scores() -> None:
    rng = np.random.default_rng(3)
    n = 5_000
    u, v = rng.integers(0, n, 200_000), rng.integers(0, n, 200_000)
    scores = np.round(rng.random(200_000), 5)  # about 100,000 distinct scores
    keys, score_of_rank, bits = link_keys(u, v, scores, n)  # type: ignore[misc]
    order = link_order(u, v, scores)
    lo, hi, s = unpack_keys(np.sort(keys), score_of_rank, bits)
    assert np.array_equal(lo, np.minimum(u, v)[order]) and np.array_equal(
        hi, np.maximum(u, v)[order]
    )
    assert np.array_equal(s, scores[order])


def test_unpackable_links_fall_back_to_the_lexsort(monkeypatch: pytest.MonkeyPatch) -> None:
    u, v = np.array([0, 1, 2]), np.array([3, 3, 3])
    assert link_keys(u, v, np.array([0.9, np.nan, 0.9]), 4) is None
    assert link_keys(u, v, np.array([0.9, 0.8, 0.9]), 2**40) is None  # wider than 64 bits
    monkeypatch.setattr(solving, "MAX_DISTINCT_SCORES", 1)
    assert link_keys(u, v, np.array([0.9, 0.8, 0.9]), 4) is None
    # and clustering still works, through the reference order
    roots, _, accepted = cluster_records(
        np.array([0, 0, 0, 1]), np.array([True, True]), u, v, np.array([0.9, 0.8, 0.95])
    )
    assert groups(roots) == {frozenset({2, 3}), frozenset({0}), frozenset({1})}
    assert accepted.tolist() == [False, False, True]


def assert_same_clustering(got: tuple, want: tuple) -> None:
    assert len(got) == len(want)
    assert np.array_equal(got[0], want[0])
    assert np.array_equal(got[1], want[1], equal_nan=True)
    if len(got) > 2:
        assert np.array_equal(got[2], want[2])


@settings(max_examples=150, deadline=None)
@given(links(max_records=25), st.integers(1, 4), st.data())
def test_fast_clustering_equals_the_lexsort_clustering(
    case: tuple, k: int, data: st.DataObject
) -> None:
    """Roots, confidences and every link's decision, with and without average linkage."""
    from htlink.match.similarities import as_words

    n, u, v, scores = case
    source = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    dedup = np.array(data.draw(st.lists(st.booleans(), min_size=k, max_size=k)))
    seed = data.draw(st.integers(0, 2**32 - 1))
    words = as_words(np.packbits(np.random.default_rng(seed).random((n, 64)) < 0.4, axis=1))
    for min_average in (0.0, 0.3, 0.6):
        want = cluster_records(
            source, dedup, u, v, scores, words=words, min_average=min_average,
            exact_order=link_order(u, v, scores),
        )  # fmt: skip
        got = cluster_records(source, dedup, u, v, scores, words=words, min_average=min_average)
        assert_same_clustering(got, want)
        roots, confidence, lo, hi = cluster_links(
            source, dedup, u, v, scores, words=words, min_average=min_average
        )
        assert_same_clustering((roots, confidence), want[:2])
        accepted = want[2]
        low, high = np.minimum(u, v)[accepted], np.maximum(u, v)[accepted]
        expected = sorted(zip(low.tolist(), high.tolist(), strict=True))
        assert sorted(zip(lo.tolist(), hi.tolist(), strict=True)) == expected


def test_bad_links_are_refused() -> None:
    source, dedup = np.array([0, 1]), np.array([True, True])
    with pytest.raises(ValueError, match=r"0 \.\. len"):
        cluster_records(source, dedup, np.array([0]), np.array([2]), np.array([0.9]))
    with pytest.raises(ValueError, match="same length"):
        cluster_records(source, dedup, np.array([0]), np.array([1, 0]), np.array([0.9]))
