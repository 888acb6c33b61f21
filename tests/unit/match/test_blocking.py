"""Blocking: LSH finds exact scores, a subset of the exhaustive pairs, and nearly all of them;
block keys never drop a pair that shares a key."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htlink.match.blocking import (
    LshPlan,
    OversizedBucketWarning,
    lsh_pairs,
    lsh_pairs_within,
    pairs_from_block_keys,
    pairs_from_block_keys_within,
    plan_lsh,
    union_pairs,
    verify_pairs,
)
from htlink.match.similarities import as_words, dice_pairs, dice_pairs_within, dice_reference


def random_clks(rng: np.random.Generator, n: int, nbytes: int = 128, density: float = 0.4):
    return np.packbits(rng.random((n, nbytes * 8)) < density, axis=1)


def flip(rng: np.random.Generator, clks: np.ndarray, low: float, high: float) -> np.ndarray:
    """Copies of ``clks`` with a share of low..high of their bits flipped (per row)."""
    bits = np.unpackbits(clks, axis=1)
    rate = rng.uniform(low, high, size=(len(clks), 1))
    return np.packbits(bits ^ (rng.random(bits.shape) < rate), axis=1)


def planted(seed: int, n: int, m: int, dupes: int) -> tuple[np.ndarray, np.ndarray]:
    """Random CLKs for a and b; the first ``dupes`` rows of b are noisy copies of a's."""
    rng = np.random.default_rng(seed)
    a = random_clks(rng, n)
    b = random_clks(rng, m)
    b[:dupes] = flip(rng, a[:dupes], 0.02, 0.05)
    return as_words(a), as_words(b)


def pair_set(i: np.ndarray, j: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(i.tolist(), j.tolist(), strict=True))


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    threshold=st.sampled_from([0.5, 0.7, 0.8, 0.9]),
    bands=st.integers(1, 30),
    rows=st.integers(1, 40),
)
def test_scores_exact_and_pairs_subset_of_exhaustive(
    seed: int, threshold: float, bands: int, rows: int
) -> None:
    a, b = planted(seed, 120, 100, 60)
    i, j, s, stats = lsh_pairs(a, b, threshold, bands=bands, rows_per_band=rows, seed=seed)
    ref = dice_reference(a, b)
    assert np.all(s == ref[i, j])
    assert np.all(s >= threshold)
    ei, ej, _, _ = dice_pairs(a, b, threshold)
    assert pair_set(i, j) <= pair_set(ei, ej)
    assert len(pair_set(i, j)) == len(i)  # no duplicates
    assert np.all(np.diff(i * len(b) + j) > 0)  # sorted by (i, j)
    assert stats.bands == bands and stats.rows_per_band == rows
    assert stats.total_pairs == 120 * 100
    assert stats.reduction_ratio == pytest.approx(1 - stats.candidate_pairs / (120 * 100))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), bands=st.integers(1, 30), rows=st.integers(4, 32))
def test_within_scores_exact_and_subset(seed: int, bands: int, rows: int) -> None:
    rng = np.random.default_rng(seed)
    base = random_clks(rng, 80)
    clks = np.concatenate([base, flip(rng, base[:40], 0.02, 0.05)])
    words = as_words(clks)
    i, j, s, _ = lsh_pairs_within(words, 0.8, bands=bands, rows_per_band=rows, seed=seed)
    assert np.all(i < j)
    ref = dice_reference(words, words)
    assert np.all(s == ref[i, j])
    ei, ej, _, _ = dice_pairs_within(words, 0.8)
    assert pair_set(i, j) <= pair_set(ei, ej)


def test_planted_near_duplicates_pair_completeness() -> None:
    a, b = planted(7, 3000, 3000, 1500)
    ei, ej, _, _ = dice_pairs(a, b, 0.8)
    assert len(ei) >= 1500
    i, j, _, stats = lsh_pairs(a, b, 0.8, allow_exhaustive=False)
    completeness = len(pair_set(i, j) & pair_set(ei, ej)) / len(ei)
    assert completeness >= 0.99
    assert stats.method == "lsh"
    assert stats.reduction_ratio > 0.9
    assert stats.plan["expected_recall"] >= 0.99


def test_planted_near_duplicates_within() -> None:
    rng = np.random.default_rng(11)
    base = random_clks(rng, 2000)
    words = as_words(np.concatenate([base, flip(rng, base[:1000], 0.02, 0.05)]))
    ei, ej, _, _ = dice_pairs_within(words, 0.8)
    i, j, _, stats = lsh_pairs_within(words, 0.8, allow_exhaustive=False)
    assert len(pair_set(i, j) & pair_set(ei, ej)) / len(ei) >= 0.99
    assert stats.total_pairs == 3000 * 2999 // 2


def test_deterministic_for_a_seed() -> None:
    a, b = planted(3, 800, 700, 300)
    first = lsh_pairs(a, b, 0.8, seed=5, allow_exhaustive=False)
    again = lsh_pairs(a, b, 0.8, seed=5, allow_exhaustive=False, workers=1)
    for x, y in zip(first[:3], again[:3], strict=True):
        assert np.array_equal(x, y)
    assert first[3].candidate_pairs == again[3].candidate_pairs
    plan_a = plan_lsh(a, b, 0.8, seed=5, allow_exhaustive=False)
    plan_b = plan_lsh(a, b, 0.8, seed=5, allow_exhaustive=False)
    plan_c = plan_lsh(a, b, 0.8, seed=6, allow_exhaustive=False)
    assert np.array_equal(plan_a.positions, plan_b.positions)
    assert not np.array_equal(plan_a.positions, plan_c.positions)


def test_shared_plan_makes_chunks_add_up() -> None:
    """Chunks of ``a`` run with one plan find exactly the pairs of the whole run."""
    a, b = planted(4, 600, 500, 250)
    plan = plan_lsh(a, b, 0.8, bands=20, rows_per_band=24, seed=1)
    i, j, s, _ = lsh_pairs(a, b, 0.8, plan=plan)
    parts = [lsh_pairs(a[lo : lo + 200], b, 0.8, plan=plan) for lo in range(0, 600, 200)]
    ci = np.concatenate([p[0] + 200 * k for k, p in enumerate(parts)])
    cj = np.concatenate([p[1] for p in parts])
    cs = np.concatenate([p[2] for p in parts])
    assert np.array_equal(ci, i) and np.array_equal(cj, j) and np.array_equal(cs, s)


def test_small_inputs_go_exhaustive_and_are_exact() -> None:
    a, b = planted(5, 200, 150, 50)
    i, j, s, stats = lsh_pairs(a, b, 0.7)
    assert stats.method == "exhaustive"
    ei, ej, es, _ = dice_pairs(a, b, 0.7)
    assert pair_set(i, j) == pair_set(ei, ej)
    assert sorted(s.tolist()) == sorted(es.tolist())


def test_oversized_buckets_are_skipped_and_counted() -> None:
    rng = np.random.default_rng(9)
    common = random_clks(rng, 1)
    a = as_words(np.concatenate([np.repeat(common, 50, axis=0), random_clks(rng, 50)]))
    b = as_words(np.concatenate([np.repeat(common, 40, axis=0), random_clks(rng, 50)]))
    with pytest.warns(OversizedBucketWarning):
        i, j, s, stats = lsh_pairs(a, b, 0.8, bands=4, rows_per_band=16, max_bucket=10)
    assert stats.skipped_buckets >= 4
    assert stats.skipped_probes >= 50 * 4
    assert stats.skipped_pairs >= 50 * 4 * 40
    assert np.all(s == dice_reference(a, b)[i, j])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        i, _, _, stats = lsh_pairs(a, b, 0.8, bands=4, rows_per_band=16, max_bucket=1000)
    assert stats.skipped_buckets == 0
    assert len(i) >= 50 * 40  # every copy of the common CLK pairs with every other


def test_rejects_bad_input() -> None:
    a, b = planted(1, 10, 10, 5)
    with pytest.raises(ValueError, match="threshold"):
        lsh_pairs(a, b, 0.0)
    with pytest.raises(ValueError, match="widths"):
        lsh_pairs(a, b[:, :8], 0.8, bands=2, rows_per_band=8)
    with pytest.raises(TypeError):
        lsh_pairs(a.view(np.uint8), b, 0.8)
    empty = np.zeros((0, a.shape[1]), np.uint64)
    i, _, _, stats = lsh_pairs(empty, b, 0.8, bands=2, rows_per_band=8)
    assert len(i) == 0 and stats.total_pairs == 0


def test_plan_describes_itself() -> None:
    a, b = planted(2, 500, 500, 200)
    plan = plan_lsh(a, b, 0.8, allow_exhaustive=False)
    assert isinstance(plan, LshPlan)
    info = plan.describe()
    assert info["bands"] == plan.bands == plan.positions.shape[0]
    assert info["rows_per_band"] == plan.rows_per_band
    assert info["recall_source"] == "sample pairs"
    assert plan.considered


# ------------------------------------------------------------------------ block keys

key = st.one_of(st.none(), st.sampled_from(["", "a", "b", "c", "d"]), st.integers(0, 3))
keys_strategy = st.lists(st.one_of(key, st.lists(key, max_size=3)), max_size=25)


def brute_force(keys_a: list, keys_b: list) -> set[tuple[int, int]]:
    def keyset(v: object) -> set:
        values = v if isinstance(v, list) else [v]
        return {x for x in values if x is not None and x != ""}

    return {
        (x, y)
        for (x, ka), (y, kb) in itertools.product(enumerate(keys_a), enumerate(keys_b))
        if keyset(ka) & keyset(kb)
    }


@settings(max_examples=200, deadline=None)
@given(keys_a=keys_strategy, keys_b=keys_strategy)
def test_block_keys_never_drop_a_pair_that_shares_a_key(keys_a: list, keys_b: list) -> None:
    i, j = pairs_from_block_keys(keys_a, keys_b)
    assert pair_set(i, j) == brute_force(keys_a, keys_b)
    assert len(pair_set(i, j)) == len(i)
    assert np.all(np.diff(i * max(len(keys_b), 1) + j) > 0)


@settings(max_examples=100, deadline=None)
@given(keys=keys_strategy)
def test_block_keys_within(keys: list) -> None:
    i, j = pairs_from_block_keys_within(keys)
    expected = {(x, y) for x, y in brute_force(keys, keys) if x < y}
    assert pair_set(i, j) == expected


def test_block_keys_accept_arrays_and_series() -> None:
    import pandas as pd

    i, j = pairs_from_block_keys(np.array([1, 2, 3]), pd.Series([3, 3, 1]))
    assert pair_set(i, j) == {(0, 2), (2, 0), (2, 1)}


def test_band_subsets_add_up_to_the_whole_plan() -> None:
    """Disjoint band selections (one per cluster task) find exactly the whole plan's pairs."""
    a, b = planted(6, 500, 400, 200)
    plan = plan_lsh(a, b, 0.8, bands=30, rows_per_band=20, seed=2)
    whole = lsh_pairs(a, b, 0.8, plan=plan)
    parts = [
        lsh_pairs(a, b, 0.8, plan=plan.select(slice(lo, lo + 7)))[:3] for lo in (0, 7, 14, 21, 28)
    ]
    merged = union_pairs(parts, len(b))
    for x, y in zip(merged, whole[:3], strict=True):
        assert np.array_equal(x, y)


def test_verify_pairs_scores_block_key_candidates() -> None:
    a, b = planted(8, 60, 50, 30)
    i, j = pairs_from_block_keys(np.arange(60) % 7, np.arange(50) % 7)
    vi, vj, vs = verify_pairs(a, b, i, j, 0.5)
    ref = dice_reference(a, b)
    assert np.all(vs == ref[vi, vj])
    expected = {(x, y) for x, y in zip(i.tolist(), j.tolist(), strict=True) if ref[x, y] >= 0.5}
    assert pair_set(vi, vj) == expected


def test_progress_counts_every_step_and_can_stop_the_run() -> None:
    a, b = planted(9, 3000, 400, 100)
    plan = plan_lsh(a, b, 0.8, bands=12, rows_per_band=20, seed=1)
    calls: list[tuple[int, int]] = []
    whole = lsh_pairs(a, b, 0.8, plan=plan, workers=1, progress=lambda d, t: calls.append((d, t)))
    steps = calls[0][1]
    assert steps >= 2 and calls == [(k, steps) for k in range(steps + 1)]

    class StopError(Exception):
        pass

    def stop(done: int, total: int) -> None:
        if done == 1:
            raise StopError

    with pytest.raises(StopError):
        lsh_pairs(a, b, 0.8, plan=plan, workers=1, progress=stop)
    assert lsh_pairs(a, b, 0.8, plan=plan, workers=1)[2].tobytes() == whole[2].tobytes()


def test_plan_counts_its_sample_comparisons() -> None:
    a, b = planted(10, 300, 200, 50)
    plan = plan_lsh(a, b, 0.8, allow_exhaustive=False)
    assert plan.sample_compared == dice_pairs(a, b, 0.8)[3]  # small: the sample is all of a
    assert plan.describe()["sample_compared"] == plan.sample_compared
    assert plan.select(slice(0, 1)).sample_compared == plan.sample_compared
