import numpy as np
import pytest

from htlink.attacks.bits import dice_matrix
from htlink.attacks.graph_matching import (
    calibrate,
    edge_consistency,
    graph_matching_attack,
    match_similarity_graphs,
)

#: One starting point, as graphs of more than 500 nodes get (tests stay fast).
ONE_START = {"starts": ((20, 0.1),)}


def _people(n: int, rng: np.random.Generator) -> np.ndarray:
    """Records as token sets: four categorical features (skewed like names), a few tokens each."""
    columns = []
    for values, per_value in ((40, 3), (40, 3), (12, 4), (30, 2)):
        width = values * per_value // 2 + 5
        tokens = np.zeros((values, width), dtype=np.uint8)
        for v in range(values):
            tokens[v, rng.choice(width, per_value, replace=False)] = 1
        popularity = 1.0 / np.arange(1, values + 1)
        columns.append(tokens[rng.choice(values, n, p=popularity / popularity.sum())])
    return np.concatenate(columns, axis=1)


def _families(n: int, vocab: int, rng: np.random.Generator) -> np.ndarray:
    """Records as token sets: clusters of four similar records, like families of similar names."""
    base = (rng.random((n // 4, vocab)) < 0.08).astype(np.uint8)
    rows = [b ^ (rng.random(vocab) < 0.03).astype(np.uint8) for b in base for _ in range(4)]
    return np.stack(rows)


def _bloom(tokens: np.ndarray, width: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Bloom filters with random positions per token: a fresh draw is a fresh secret."""
    positions = rng.integers(0, width, size=(tokens.shape[1], k))
    out = np.zeros((len(tokens), width), dtype=np.uint8)
    for t in range(tokens.shape[1]):
        out[np.flatnonzero(tokens[:, t])[:, None], positions[t][None, :]] = 1
    return out


def _same_record(plain: np.ndarray, match: np.ndarray, truth: np.ndarray) -> float:
    """Share of nodes matched to their own record (or an identical one: duplicates are equal)."""
    return float(np.mean([m >= 0 and np.array_equal(plain[m], plain[t])
                          for m, t in zip(match, truth, strict=True)]))  # fmt: skip


def test_calibrate_maps_onto_the_other_distribution() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((50, 50)).astype(np.float32)
    b = a**3
    mapped = calibrate(a, b)
    off = ~np.eye(50, dtype=bool)
    assert np.abs(mapped[off] - b[off]).max() < 0.02


def test_a_monotone_transform_of_the_graph_is_matched_node_for_node() -> None:
    rng = np.random.default_rng(0)
    plain = _people(160, rng)
    sims = dice_matrix(plain, plain)
    order = rng.permutation(160)
    transformed = sims[np.ix_(order, order)] ** 3  # same ranks, other scale, nodes shuffled
    result = match_similarity_graphs(calibrate(transformed, sims), sims, **ONE_START)
    assert _same_record(plain, result.match, order) > 0.95


def test_bloom_encodings_are_matched_from_the_plaintext_tokens() -> None:
    rng = np.random.default_rng(1)
    plain = _people(160, rng)
    order = rng.permutation(160)
    encoded = _bloom(plain, 256, 6, rng)[order]
    result = graph_matching_attack(encoded, plain, **ONE_START)
    assert _same_record(plain, result.match, order) > 0.9  # chance is about 1/160


def test_the_attackers_own_encodings_put_both_graphs_on_one_scale() -> None:
    rng = np.random.default_rng(2)
    plain = _families(160, 120, rng)
    order = rng.permutation(160)
    encoded = _bloom(plain, 256, 6, rng)[order]  # the victim's secret
    reference = _bloom(plain, 256, 6, rng)  # the attacker's own secret
    result = graph_matching_attack(encoded, plain, reference_bits=reference, **ONE_START)
    assert _same_record(plain, result.match, order) > 0.6  # families make some swaps ambiguous
    assert result.consistency > 0.3
    assert np.median(result.cost[result.match == order]) < np.median(
        result.cost[result.match != order]
    )


def test_partial_overlap_recovers_shared_records() -> None:
    rng = np.random.default_rng(3)
    people = _families(160, 120, rng)
    others = _families(160, 120, rng)[:80]
    plain = np.concatenate([people[:80], others])  # half the list are people not encoded
    result = graph_matching_attack(
        _bloom(people, 256, 6, rng), plain, reference_bits=_bloom(plain, 256, 6, rng), **ONE_START
    )
    assert np.mean(result.match[:80] == np.arange(80)) > 0.1  # chance is 1/160; at most 0.5


@pytest.mark.parametrize("reference", [False, True])
def test_unrelated_encodings_match_at_chance(reference: bool) -> None:
    rng = np.random.default_rng(4)
    plain = _people(160, rng)
    other = _bloom(_people(160, rng), 256, 6, rng)
    ref = _bloom(plain, 256, 6, rng) if reference else None
    result = graph_matching_attack(other, plain, reference_bits=ref, max_rounds=10, **ONE_START)
    assert np.mean(result.match == np.arange(160)) < 0.05


def test_the_most_consistent_start_and_view_is_kept() -> None:
    rng = np.random.default_rng(8)
    plain = _families(80, 120, rng)
    encoded = _bloom(plain, 256, 6, rng)[rng.permutation(80)]
    reference = _bloom(plain, 256, 6, rng)
    starts = ((20, 0.1), (5, 1.0))
    best = graph_matching_attack(encoded, plain, reference, starts=starts, max_rounds=5)
    singles = [
        graph_matching_attack(encoded, plain, reference, starts=(s,), views=(v,), max_rounds=5)
        for s in starts
        for v in ("dense", "sparse")
    ]
    assert best.consistency == max(r.consistency for r in singles)
    assert (best.start, best.view) in [(r.start, r.view) for r in singles]


def test_edge_consistency_is_one_for_the_true_matching_only() -> None:
    rng = np.random.default_rng(5)
    plain = _people(120, rng)
    sims = dice_matrix(plain, plain) + rng.random((120, 120)).astype(np.float32) * 1e-4
    sims = (sims + sims.T) / 2
    assert edge_consistency(sims, sims, np.arange(120), 0.05) == pytest.approx(1.0)
    assert edge_consistency(sims, sims, rng.permutation(120), 0.05) < 0.3


def test_more_targets_than_records_leaves_some_unmatched() -> None:
    rng = np.random.default_rng(6)
    plain = _people(60, rng)
    encoded = _bloom(_people(80, rng), 256, 6, rng)
    result = graph_matching_attack(encoded, plain, **ONE_START)
    assert (result.match >= 0).sum() == 60
    assert len(set(result.match[result.match >= 0].tolist())) == 60
    assert np.isinf(result.cost[result.match < 0]).all()


def test_reference_bits_must_be_one_row_per_record() -> None:
    rng = np.random.default_rng(7)
    plain = _people(20, rng)
    with pytest.raises(ValueError):
        graph_matching_attack(_bloom(plain, 64, 3, rng), plain, reference_bits=np.zeros((5, 64)))
