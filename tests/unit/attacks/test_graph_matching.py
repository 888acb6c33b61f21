import numpy as np

from htlink.attacks.graph_matching import calibrate, graph_matching_attack


def _records(n: int, vocab: int, rng: np.random.Generator) -> np.ndarray:
    """Records as token sets: clusters of similar records, like families of similar names."""
    base = (rng.random((n // 4, vocab)) < 0.08).astype(np.uint8)
    rows = []
    for b in base:
        for _ in range(4):
            noise = (rng.random(vocab) < 0.03).astype(np.uint8)
            rows.append(b ^ noise)
    return np.stack(rows)


def _bloom(tokens: np.ndarray, width: int, k: int, rng: np.random.Generator) -> np.ndarray:
    positions = rng.integers(0, width, size=(tokens.shape[1], k))
    out = np.zeros((len(tokens), width), dtype=np.uint8)
    for t in range(tokens.shape[1]):
        out[np.flatnonzero(tokens[:, t])[:, None], positions[t][None, :]] = 1
    return out


def test_calibrate_maps_onto_the_other_distribution() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((50, 50)).astype(np.float32)
    b = a**3
    mapped = calibrate(a, b)
    off = ~np.eye(50, dtype=bool)
    assert np.abs(mapped[off] - b[off]).max() < 0.02


def test_encodings_of_the_same_records_are_matched() -> None:
    rng = np.random.default_rng(1)
    plain = _records(80, 120, rng)
    encoded = _bloom(plain, 256, 6, rng)
    order = rng.permutation(80)
    result = graph_matching_attack(encoded[order], plain, min_similarity=0.0)
    correct = np.mean(result.match == np.arange(80)[order])
    assert correct > 0.2  # chance is 1/80


def test_unrelated_graphs_match_at_chance() -> None:
    rng = np.random.default_rng(2)
    plain = _records(80, 120, rng)
    other = _bloom(_records(80, 120, rng), 256, 6, rng)
    result = graph_matching_attack(other, plain, min_similarity=0.0)
    assert np.mean(result.match == np.arange(80)) < 0.1
