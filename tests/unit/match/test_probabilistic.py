"""Probabilistic mode: per-field Dice, agreement levels, EM without labels, linkage."""

from __future__ import annotations

import json
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htlink.encode.bloom import ClkEncoder
from htlink.encode.submission import Submission
from htlink.errors import HtlinkError
from htlink.match.engine import LinkResult
from htlink.match.probabilistic import (
    MISSING,
    FellegiSunter,
    MissingFieldEncodingsError,
    check_cuts,
    compress,
    field_dice,
    field_dice_reference,
    field_levels,
    fit_em,
    levels_from_dice,
    link_probabilistic,
)
from htlink.schema import parse_schema

# --------------------------------------------------------------------------- simulation


def simulate(
    rng: np.random.Generator,
    m: np.ndarray,
    u: np.ndarray,
    lam: float,
    n: int,
    missing: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Comparison vectors drawn from a Fellegi–Sunter model, and which pairs match."""
    match = rng.random(n) < lam
    levels = np.empty((n, m.shape[0]), np.int8)
    for f in range(m.shape[0]):
        cdf = np.where(match[:, None], np.cumsum(m[f])[None, :], np.cumsum(u[f])[None, :])
        levels[:, f] = (rng.random(n)[:, None] > cdf[:, :-1]).sum(axis=1)
        levels[rng.random(n) < missing, f] = MISSING
    return levels, match


M_TRUE = np.array(
    [
        [0.05, 0.05, 0.10, 0.80],
        [0.10, 0.10, 0.20, 0.60],
        [0.02, 0.03, 0.05, 0.90],
        [0.20, 0.00, 0.00, 0.80],  # a two-valued feature such as sex: middle levels unused
    ]
)
U_TRUE = np.array(
    [
        [0.70, 0.15, 0.10, 0.05],
        [0.80, 0.10, 0.05, 0.05],
        [0.90, 0.05, 0.03, 0.02],
        [0.50, 0.00, 0.00, 0.50],
    ]
)


def test_em_recovers_known_m_u_and_lambda() -> None:
    rng = np.random.default_rng(11)
    levels, match = simulate(rng, M_TRUE, U_TRUE, 0.15, 200_000)
    patterns, counts, inverse = compress(levels, 4)
    model = fit_em(patterns, 4, counts)
    assert model.converged
    assert abs(model.lam - match.mean()) < 0.01
    assert np.abs(model.m - M_TRUE).max() < 0.02
    assert np.abs(model.u - U_TRUE).max() < 0.02
    # the posterior separates the classes: few errors at p = 0.5
    predicted = model.probability(patterns)[inverse] >= 0.5
    assert (predicted != match).mean() < 0.02


def test_em_is_the_same_on_pairs_and_on_compressed_patterns() -> None:
    rng = np.random.default_rng(2)
    levels, _ = simulate(rng, M_TRUE, U_TRUE, 0.3, 5_000, missing=0.1)
    patterns, counts, inverse = compress(levels, 4)
    assert (patterns[inverse] == levels).all()
    assert counts.sum() == len(levels)
    a = fit_em(levels, 4)
    b = fit_em(patterns, 4, counts)
    assert a.iterations == b.iterations
    assert np.allclose(a.m, b.m) and np.allclose(a.u, b.u) and np.isclose(a.lam, b.lam)


@st.composite
def fs_models(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float, float, int]:
    seed = draw(st.integers(0, 2**32 - 1))
    features = draw(st.integers(3, 6))
    lam = draw(st.floats(0.05, 0.5))
    missing = draw(st.sampled_from([0.0, 0.1, 0.3]))
    rng = np.random.default_rng(seed)
    m = rng.dirichlet([1.0, 1.0, 2.0, 16.0], size=features)
    u = rng.dirichlet([16.0, 2.0, 1.0, 1.0], size=features)
    return m, u, lam, missing, seed


@settings(
    max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(model=fs_models())
def test_em_recovers_parameters_of_random_models(
    model: tuple[np.ndarray, np.ndarray, float, float, int],
) -> None:
    m, u, lam, missing, seed = model
    levels, match = simulate(np.random.default_rng(seed), m, u, lam, 60_000, missing)
    patterns, counts, _ = compress(levels, 4)
    fitted = fit_em(patterns, 4, counts)
    assert abs(fitted.lam - match.mean()) < 0.02
    assert np.abs(fitted.m - m).max() < 0.05
    assert np.abs(fitted.u - u).max() < 0.05
    # m and u are distributions over the levels
    assert np.allclose(fitted.m.sum(axis=1), 1.0) and np.allclose(fitted.u.sum(axis=1), 1.0)


def test_em_labels_the_agreeing_class_as_matches_whatever_the_start() -> None:
    rng = np.random.default_rng(5)
    levels, match = simulate(rng, M_TRUE, U_TRUE, 0.2, 50_000)
    patterns, counts, _ = compress(levels, 4)
    swapped = fit_em(patterns, 4, counts, m0=U_TRUE + 0.01, u0=M_TRUE + 0.01, lam0=0.8)
    assert abs(swapped.lam - match.mean()) < 0.02
    assert np.abs(swapped.m - M_TRUE).max() < 0.03


def test_em_with_u_fixed_estimates_only_m_and_lambda() -> None:
    rng = np.random.default_rng(8)
    levels, match = simulate(rng, M_TRUE, U_TRUE, 0.1, 100_000)
    patterns, counts, _ = compress(levels, 4)
    fitted = fit_em(patterns, 4, counts, u0=U_TRUE, fix_u=True)
    assert np.allclose(
        fitted.u, np.maximum(U_TRUE, 1e-6) / np.maximum(U_TRUE, 1e-6).sum(1)[:, None]
    )
    assert abs(fitted.lam - match.mean()) < 0.01
    assert np.abs(fitted.m - M_TRUE).max() < 0.02


# --------------------------------------------------------------------------- missing values


def test_a_missing_field_is_neither_agreement_nor_disagreement() -> None:
    model = FellegiSunter(
        m=M_TRUE[:2] + 0.0, u=U_TRUE[:2] + 0.0, lam=0.1, iterations=0, converged=True
    )
    model.m = np.maximum(model.m, 1e-6)
    p = model.probability(np.array([[3, 3], [3, MISSING], [3, 0], [MISSING, MISSING]], np.int8))
    # missing on field 1 weighs nothing: only field 0's agreement counts
    odds = 0.1 / 0.9 * M_TRUE[0, 3] / U_TRUE[0, 3]
    assert p[1] == pytest.approx(odds / (1 + odds))
    assert p[0] > p[1] > p[2]  # agreement > missing > disagreement
    assert p[3] == pytest.approx(0.1)  # nothing known: the prior


def test_missing_values_do_not_bias_the_estimates() -> None:
    rng = np.random.default_rng(3)
    levels, match = simulate(rng, M_TRUE, U_TRUE, 0.2, 100_000, missing=0.4)
    patterns, counts, _ = compress(levels, 4)
    fitted = fit_em(patterns, 4, counts)
    assert (patterns == MISSING).any()
    assert abs(fitted.lam - match.mean()) < 0.01
    assert np.abs(fitted.m - M_TRUE).max() < 0.02
    assert np.abs(fitted.u - U_TRUE).max() < 0.02
    # had missing been read as disagreement, m's lowest level would be far higher
    as_disagreement = fit_em(np.where(patterns == MISSING, 0, patterns), 4, counts)
    assert np.abs(as_disagreement.m - M_TRUE).max() > 0.1


# --------------------------------------------------------------------------- per-field Dice


@st.composite
def field_sets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(2, 30))
    fields = draw(st.integers(1, 5))
    width = draw(st.integers(1, 4))
    density = draw(st.sampled_from([0.02, 0.2, 0.5]))
    rng = np.random.default_rng(seed)
    bits = rng.random((n, fields, width * 64)) < density
    bits[rng.random((n, fields)) < 0.2] = False  # missing values: empty filters
    words = np.packbits(bits, axis=2).view(np.uint64)
    pairs = draw(st.integers(0, 60))
    u = rng.integers(0, n, size=pairs)
    v = rng.integers(0, n, size=pairs)
    return np.ascontiguousarray(words), u, v


@settings(max_examples=60, deadline=None)
@given(data=field_sets(), cuts=st.sampled_from([(0.7, 0.9, 1.0), (0.5,), (0.3, 0.6, 0.8, 0.95)]))
def test_field_kernels_match_the_numpy_reference(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], cuts: tuple[float, ...]
) -> None:
    words, u, v = data
    expected = field_dice_reference(words, u, v)
    got = field_dice(words, u, v)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert np.allclose(got[~np.isnan(got)], expected[~np.isnan(expected)], rtol=0, atol=1e-12)
    assert (field_levels(words, u, v, cuts) == levels_from_dice(expected, cuts)).all()


def test_levels_from_dice_cut_points() -> None:
    dice = np.array([[0.0, 0.69, 0.7, 0.89999, 0.9, 0.999, 1.0, np.nan]])
    assert levels_from_dice(dice).tolist() == [[0, 0, 1, 1, 2, 2, 3, MISSING]]


@pytest.mark.parametrize("cuts", [(), (0.9, 0.7), (0.0, 0.5), (0.5, 1.2), (0.5, 0.5)])
def test_bad_cuts_are_refused(cuts: tuple[float, ...]) -> None:
    with pytest.raises(HtlinkError, match="cuts"):
        check_cuts(cuts)


# --------------------------------------------------------------------------- linkage

SECRET = b"probabilistic-test-secret-000000"
SCHEMA = parse_schema(
    {
        "version": 3,
        "clkConfig": {"l": 512, "kdf": {"type": "HKDF"}},
        "features": [
            {
                "identifier": name,
                "format": {"type": "string"},
                "hashing": {
                    "comparison": {"type": "ngram", "n": n, "positional": n == 1},
                    "strategy": {"bitsPerFeature": bits},
                },
            }
            for name, n, bits in (
                ("given", 2, 100),
                ("surname", 2, 100),
                ("dob", 1, 80),
                ("zip", 1, 40),
            )
        ],
    }
)


def random_people(rng: np.random.Generator, n: int) -> list[list[str | None]]:
    letters = list(string.ascii_lowercase)
    people = []
    for _ in range(n):
        people.append(
            [
                "".join(rng.choice(letters, size=rng.integers(4, 8))),
                "".join(rng.choice(letters, size=rng.integers(5, 10))),
                "".join(rng.choice(list("0123456789"), size=8)),
                "".join(rng.choice(list("0123"), size=3)),  # few ZIPs: often shared
            ]
        )
    return people


def corrupt(rng: np.random.Generator, person: list[str | None]) -> list[str | None]:
    out = list(person)
    f = int(rng.integers(0, 4))
    value = out[f]
    assert value is not None
    k = int(rng.integers(0, len(value)))
    out[f] = value[:k] + "x" + value[k + 1 :]
    if rng.random() < 0.3:
        out[int(rng.integers(0, 4))] = None  # a missing value
    return out


def submission(agency: str, rows: list[list[str | None]], field_level: bool = True) -> Submission:
    names = [f.identifier for f in SCHEMA.hashed_features]
    chunk = ClkEncoder(SCHEMA, SECRET, field_level=field_level).encode(
        {name: [r[k] for r in rows] for k, name in enumerate(names)}
    )
    manifest = {
        "agency": agency,
        "schema_fingerprint": SCHEMA.fingerprint,
        "record_count": len(rows),
        "bit_length": SCHEMA.clk.l,
    }
    tokens = [f"{agency[:1]}{k:031x}" for k in range(len(rows))]
    return Submission(manifest, tokens, chunk.clks, chunk.fields)


@pytest.fixture(scope="module")
def two_agencies() -> tuple[list[Submission], np.ndarray]:
    rng = np.random.default_rng(21)
    people = random_people(rng, 500)
    a_rows = people[:400]
    b_ids = list(range(100, 500))  # 300 shared people, 100 only in B
    b_rows = [corrupt(rng, people[i]) if rng.random() < 0.7 else people[i] for i in b_ids]
    truth = np.array([*range(400), *b_ids])
    return [submission("alpha", a_rows), submission("beta", b_rows)], truth


def pair_f1(truth: np.ndarray, result: LinkResult, agencies: list[str]) -> float:
    labels = np.concatenate([result.links[a]["pseudonym"].to_numpy(dtype=object) for a in agencies])
    same_truth = truth[:, None] == truth[None, :]
    same_pred = labels[:, None] == labels[None, :]
    upper = np.triu(np.ones_like(same_truth), 1).astype(bool)
    tp = (same_truth & same_pred & upper).sum()
    return 2 * tp / ((same_truth & upper).sum() + (same_pred & upper).sum())


def test_link_probabilistic_links_corrupted_duplicates(
    two_agencies: tuple[list[Submission], np.ndarray],
) -> None:
    subs, truth = two_agencies
    key = b"k" * 32
    result = link_probabilistic(subs, key, deduplicated={"alpha", "beta"}, candidate_threshold=0.5)
    assert isinstance(result, LinkResult)
    assert pair_f1(truth, result, ["alpha", "beta"]) > 0.97
    for agency, sub in zip(["alpha", "beta"], subs, strict=True):
        frame = result.links[agency]
        assert list(frame.columns) == ["row_token", "pseudonym", "confidence"]
        assert frame["row_token"].tolist() == sub.row_tokens
        linked = frame["confidence"].notna()
        assert (frame.loc[linked, "confidence"] >= 0.5).all()
        assert (frame.loc[linked, "confidence"] <= 1.0).all()
    model = result.summary["model"]
    assert model["em_iterations"] >= 1 and 0.0 < model["lambda"] < 1.0
    assert set(model["fields"]) == {"given", "surname", "dob", "zip"}
    # aggregates only: no row token, pseudonym or encoding in the summary
    text = json.dumps(result.summary)
    assert not any(t in text for s in subs for t in s.row_tokens)
    assert not any(p in text for p in result.links["alpha"]["pseudonym"])
    # same input, same key: same output
    again = link_probabilistic(subs, key, deduplicated={"alpha", "beta"}, candidate_threshold=0.5)
    assert (again.links["beta"]["pseudonym"] == result.links["beta"]["pseudonym"]).all()


def test_the_probability_threshold_bounds_the_confidence(
    two_agencies: tuple[list[Submission], np.ndarray],
) -> None:
    subs, _ = two_agencies
    low = link_probabilistic(subs, b"k" * 32, threshold=0.1, deduplicated={"alpha", "beta"})
    high = link_probabilistic(subs, b"k" * 32, threshold=0.999, deduplicated={"alpha", "beta"})
    counts = [r.summary["pairs"]["alpha~beta"] for r in (low, high)]
    assert counts[0]["probable"] >= counts[1]["probable"]
    assert counts[0]["accepted_links"] >= counts[1]["accepted_links"] > 0
    for agency in ("alpha", "beta"):
        confidence = high.links[agency]["confidence"].dropna()
        assert len(confidence) and (confidence >= 0.999).all()


def test_clk_only_submissions_are_refused_clearly(
    two_agencies: tuple[list[Submission], np.ndarray],
) -> None:
    subs, _ = two_agencies
    plain = Submission(subs[1].manifest, subs[1].row_tokens, subs[1].clks)
    with pytest.raises(MissingFieldEncodingsError, match=r"(?s)beta.*--field-level"):
        link_probabilistic([subs[0], plain], b"k" * 32)
    fewer = Submission(
        subs[1].manifest, subs[1].row_tokens, subs[1].clks, {"given": subs[1].fields["given"]}
    )
    with pytest.raises(MissingFieldEncodingsError, match="different features"):
        link_probabilistic([subs[0], fewer], b"k" * 32)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 1.0}, "probability threshold"),
        ({"threshold": 0.0}, "probability threshold"),
        ({"candidate_threshold": 0.0}, "candidate threshold"),
        ({"deduplicated": {"gamma"}}, "gamma"),
    ],
)
def test_bad_parameters_are_refused(
    two_agencies: tuple[list[Submission], np.ndarray], kwargs: dict, message: str
) -> None:
    subs, _ = two_agencies
    with pytest.raises(HtlinkError, match=message):
        link_probabilistic(subs, b"k" * 32, **kwargs)
