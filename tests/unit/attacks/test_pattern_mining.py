import numpy as np

from htlink.attacks.pattern_mining import pattern_mining_attack

WIDTH = 64
# four q-grams (letters here), four positions each, no collisions
POSITIONS = {c: np.arange(4) + 10 * i for i, c in enumerate("abcd")}


def _encode(value: str) -> np.ndarray:
    row = np.zeros(WIDTH, dtype=np.uint8)
    for c in value:
        row[POSITIONS[c]] = 1
    return row


def test_rare_value_is_reconstructed_from_qgram_positions() -> None:
    # frequent values with distinguishable counts teach the attacker where each letter's bits are
    counts = {"ab": 9, "ac": 8, "bc": 7, "abd": 6, "bd": 5, "cd": 4, "ad": 3}
    encoded = [v for v, n in counts.items() for _ in range(n)] + ["bcd"]
    plaintext = [*encoded[:-1], "bcd", "acd"]  # the rare values appear once each in the list
    targets = np.stack([_encode(v) for v in encoded])
    result = pattern_mining_attack(targets, plaintext, list, np.random.default_rng(0))
    assert result.aligned == len(counts)
    assert set(result.identified) == set("abcd")
    for c, pos in result.identified.items():
        assert set(pos.tolist()) == set(POSITIONS[c].tolist())
    assert list(result.guesses) == encoded  # "bcd" (count 1, never aligned) reconstructed


def test_without_distinguishable_frequencies_nothing_is_learnt() -> None:
    encoded = ["ab", "ac", "bc", "bd", "cd", "ad"]  # all once
    targets = np.stack([_encode(v) for v in encoded])
    result = pattern_mining_attack(targets, encoded, list, np.random.default_rng(0))
    assert result.aligned == 0 and not result.identified
    assert all(g is None for g in result.guesses)


# --- mining without alignment: Bloom filters of bigrams with secret random positions -------

BITS = 1024
K = 10  # positions per bigram


def _bigrams(word: str) -> list[str]:
    padded = f" {word} "
    return [padded[i : i + 2] for i in range(len(padded) - 1)]


def _world(seed: int = 7, n_words: int = 250, n_records: int = 1500):
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnop"))
    # letters drawn unevenly, so bigram frequencies differ as in names
    p = rng.dirichlet(np.full(len(letters), 2.0))
    words = sorted(
        {"".join(rng.choice(letters, size=rng.integers(3, 8), p=p)) for _ in range(n_words)}
    )
    weights = 1.0 / np.arange(1, len(words) + 1) ** 0.8  # Zipf-like value frequencies
    values = list(rng.choice(words, size=n_records, p=weights / weights.sum()))
    vocab = sorted({t for w in words for t in _bigrams(w)})
    secret = {t: rng.choice(BITS, size=K, replace=False) for t in vocab}  # unknown to the attacker

    def encode(word: str) -> np.ndarray:
        row = np.zeros(BITS, dtype=np.uint8)
        for t in _bigrams(word):
            row[secret[t]] = 1
        return row

    targets = np.stack([encode(v) for v in values])
    return rng, values, targets, secret


def test_mining_recovers_frequent_bigram_positions_without_alignment() -> None:
    rng, values, targets, secret = _world()
    plaintext = list(rng.permutation(np.array(values, dtype=object)))
    result = pattern_mining_attack(
        targets, plaintext, _bigrams, np.random.default_rng(0), n_align=0
    )
    assert result.aligned == 0  # nothing aligned by frequency: all from mining
    assert result.mined >= 20
    counts: dict[str, int] = {}
    for v in values:
        for t in set(_bigrams(v)):
            counts[t] = counts.get(t, 0) + 1
    frequent = sorted(counts, key=lambda t: -counts[t])[:10]
    exact = 0
    for t in frequent:
        assert t in result.identified
        found, true = set(result.identified[t].tolist()), set(secret[t].tolist())
        # every true position, at most a position or two of an always co-occurring bigram
        assert true <= found and len(found - true) <= 2
        exact += found == true
    assert exact >= 6
    correct = np.mean([g == v for g, v in zip(result.guesses, values, strict=True)])
    assert correct >= 0.8


def test_mining_on_unrelated_bits_stays_near_chance() -> None:
    rng, values, targets, _ = _world()
    noise = (rng.random(targets.shape) < targets.mean()).astype(np.uint8)
    result = pattern_mining_attack(noise, values, _bigrams, np.random.default_rng(0), n_align=0)
    assert result.mined <= 2
    correct = np.mean([g == v for g, v in zip(result.guesses, values, strict=True)])
    top_share = max(values.count(v) for v in set(values)) / len(values)
    assert correct <= top_share + 0.02  # no better than always guessing the commonest value
