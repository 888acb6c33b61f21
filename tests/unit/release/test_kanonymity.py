"""k-anonymity search: the independent verifier agrees; the optimum is the brute-force one."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htlink.release.hierarchies import NONE_HIERARCHY, build_hierarchy
from htlink.release.kanonymity import AnonymityError, anonymize
from htlink.release.verify import verify_frame

AGE, _ = build_hierarchy("age", {"type": "interval", "bands": [5, 10, 20], "top_code": 90})
GROUPS, _ = build_hierarchy(
    "g", {"type": "groups", "levels": [{"name": "half", "groups": {"ab": ["a", "b"],
                                                                    "cd": ["c", "d"]}}]}
)  # fmt: skip
QIS = {"age": AGE, "g": GROUPS, "sex": NONE_HIERARCHY}

frames = st.integers(8, 60).flatmap(
    lambda n: st.builds(
        lambda ages, gs, sexes, sens: pd.DataFrame(
            {"age": [str(a) for a in ages], "g": gs, "sex": sexes, "s": sens}
        ),
        st.lists(st.integers(0, 99), min_size=n, max_size=n),
        st.lists(st.sampled_from("abcd"), min_size=n, max_size=n),
        st.lists(st.sampled_from(["f", "m"]), min_size=n, max_size=n),
        st.lists(st.sampled_from(["x", "y", "z"]), min_size=n, max_size=n),
    )
)


def brute_force_loss(frame: pd.DataFrame, k: int, max_supp: float, l_div: int | None) -> float:
    """Least loss over every node, computed with pandas from the definitions."""
    best = np.inf
    n = len(frame)
    heights = [h.height for h in QIS.values()]
    gens = {q: [h.generalize(frame[q], lv) for lv in range(h.height + 1)] for q, h in QIS.items()}
    per_level = {}
    for q, h in QIS.items():
        base = gens[q][0]
        domain = base.nunique()
        for lv in range(h.height + 1):
            covered = base.groupby(gens[q][lv]).transform("nunique")
            per = (covered - 1) / (domain - 1) if domain > 1 else covered * 0.0
            per_level[q, lv] = per * 0 + 1 if lv == h.height else per
    for node in itertools.product(*[range(h + 1) for h in heights]):
        keys = [gens[q][lv] for q, lv in zip(QIS, node, strict=True)]
        size = keys[0].groupby(keys).transform("size")
        bad = size < k
        if l_div:
            bad |= frame["s"].groupby(keys).transform("nunique") < l_div
        if bad.sum() > np.floor(max_supp * n + 1e-9) or bad.all():
            continue
        pairs = zip(QIS, node, strict=True)
        loss = sum(per_level[q, lv][~bad].sum() + bad.sum() for q, lv in pairs)
        best = min(best, loss / (n * len(QIS)))
    return best


@settings(max_examples=8, deadline=None)
@given(frame=frames, k=st.integers(2, 5), l_div=st.sampled_from([None, 2]),
       max_supp=st.sampled_from([0.0, 0.1, 0.3]))  # fmt: skip
def test_verifier_agrees_and_search_is_optimal(
    frame: pd.DataFrame, k: int, l_div: int | None, max_supp: float
) -> None:
    try:
        result = anonymize(frame, QIS, k, l_diversity=l_div, sensitive=["s"],
                           max_suppression=max_supp)  # fmt: skip
    except AnonymityError:
        assert brute_force_loss(frame, k, max_supp, l_div) == np.inf
        return
    kept = ~result.suppressed
    extract = result.generalized[kept].assign(s=frame["s"][kept].to_numpy())
    check = verify_frame(extract, list(QIS), k, ["s"], l_div)
    assert check.ok
    assert check.k_achieved == result.k_achieved >= k
    assert result.n_suppressed <= max_supp * len(frame) + 1e-9
    assert result.optimal
    assert result.loss == pytest.approx(brute_force_loss(frame, k, max_supp, l_div))


def test_verifier_catches_a_small_group() -> None:
    extract = pd.DataFrame({"a": ["1", "1", "2"], "s": ["x", "y", "x"]})
    assert not verify_frame(extract, ["a"], 2).ok
    assert verify_frame(extract.iloc[:2], ["a"], 2, ["s"], 2).ok


def test_k_larger_than_the_data_allows() -> None:
    frame = pd.DataFrame({"age": ["1", "2", "3"], "g": list("abc"), "sex": list("fmf")})
    with pytest.raises(AnonymityError, match="only 3 people"):
        anonymize(frame, QIS, 5)


def test_budget_stops_the_search_and_says_so() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"age": rng.integers(0, 99, 400).astype(str), "g": rng.choice(list("abcd"), 400),
         "sex": rng.choice(["f", "m"], 400)}
    )  # fmt: skip
    result = anonymize(frame, QIS, 10, max_exact_nodes=3)
    assert not result.optimal and result.lower_bound <= result.loss
    assert verify_frame(result.generalized[~result.suppressed], list(QIS), 10).ok
