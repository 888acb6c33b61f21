from pathlib import Path

import numpy as np

from htlink.attacks.bits import reidentification
from htlink.attacks.configs import parse_config
from htlink.attacks.dictionary import dictionary_attack

ROOT = Path(__file__).resolve().parents[3]
NAMES = ["ana", "boris", "chen", "dana", "emil", "fatima", "goran", "hana", "ivo", "jun",
         "kira", "lev", "mona", "nils", "olga", "pavel"]  # fmt: skip


def _columns(names: list[str]) -> dict[str, list[str | None]]:
    n = len(names)
    return {
        "given_name": names,
        "surname": [f"{x}son" for x in reversed(names)],
        "dob": [f"19{60 + i:02d}-0{1 + i % 9}-1{i % 10}" for i in range(n)],
        "sex": ["f" if i % 2 else "m" for i in range(n)],
        "zip": [f"0{2100 + i}" for i in range(n)],
        "phone": [None] * n,
    }


def test_known_secret_finds_everyone_unknown_secret_nobody() -> None:
    config = parse_config("person-v1", ROOT)
    rng = np.random.default_rng(0)
    targets = config.encoder(b"a" * 32).encode(_columns(NAMES), rng).bits()
    order = rng.permutation(len(NAMES))
    listed = [NAMES[i] for i in order]
    known = config.encoder(b"a" * 32).encode(_columns(NAMES), rng).bits()[order]
    guess = dictionary_attack(targets, known)
    assert [listed[b] for b in guess.best] == NAMES
    assert (guess.score == 1.0).all()

    unknown = config.encoder(b"b" * 32).encode(_columns(NAMES), rng).bits()[order]
    guess = dictionary_attack(targets, unknown)
    score = reidentification(NAMES, [listed[b] for b in guess.best], listed)
    assert score.correct <= 3  # chance: 1 expected
    assert guess.score.max() < 0.8
