"""link_submissions: blocking modes, the real comparison counts, progress and cancellation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from htlink.encode.submission import Submission
from htlink.errors import HtlinkError
from htlink.match import engine
from htlink.match.blocking import lsh_pairs, plan_lsh
from htlink.match.engine import link_submissions
from htlink.match.similarities import as_words, dice_pairs, dice_pairs_within

KEY = bytes(range(32))
THRESHOLD = 0.8


def noisy(rng: np.random.Generator, clks: np.ndarray, flip: float) -> np.ndarray:
    bits = np.unpackbits(clks, axis=1)
    return np.packbits(bits ^ (rng.random(bits.shape) < flip), axis=1)


def submission(agency: str, clks: np.ndarray) -> Submission:
    manifest = {
        "agency": agency,
        "schema_fingerprint": "sha256:test",
        "record_count": len(clks),
        "bit_length": clks.shape[1] * 8,
    }
    return Submission(manifest, [f"{agency}-{k:05d}" for k in range(len(clks))], clks)


@pytest.fixture(scope="module")
def subs() -> list[Submission]:
    """Three agencies: shared people (noisy copies) and repeat visits inside ``clinic``."""
    rng = np.random.default_rng(7)
    people = np.packbits(rng.random((700, 1024)) < 0.35, axis=1)
    clinic = np.concatenate([people[:400], noisy(rng, people[:60], 0.005)])  # 60 repeat visits
    court = noisy(rng, people[250:600], 0.01)
    welfare = noisy(rng, people[np.r_[0:100, 550:700]], 0.01)
    return [
        submission("clinic", clinic),
        submission("court", court),
        submission("welfare", welfare),
    ]


def run(subs: list[Submission], **options: object) -> engine.LinkResult:
    return link_submissions(
        subs,
        THRESHOLD,
        KEY,
        deduplicated={"court", "welfare"},
        **options,  # type: ignore[arg-type]
    )


def same_links(x: engine.LinkResult, y: engine.LinkResult) -> bool:
    return all(x.links[a].equals(y.links[a]) for a in x.links)


def test_none_compares_every_pair_in_the_popcount_bound(subs: list[Submission]) -> None:
    result = run(subs, blocking="none")
    words = [as_words(s.clks) for s in subs]
    pairs = result.summary["pairs"]
    assert set(pairs) == {"clinic~court", "clinic~welfare", "court~welfare", "clinic~clinic"}
    assert pairs["clinic~court"]["compared"] == dice_pairs(words[0], words[1], THRESHOLD)[3]
    assert pairs["clinic~clinic"]["compared"] == dice_pairs_within(words[0], THRESHOLD)[3]
    assert pairs["clinic~court"]["candidates"] == len(dice_pairs(words[0], words[1], THRESHOLD)[0])
    assert all(p["blocking"] == "exhaustive" for p in pairs.values())
    assert pairs["clinic~court"]["accepted_links"] == 150  # people 250..399
    assert pairs["clinic~clinic"]["accepted_links"] == 60  # the repeat visits
    assert result.summary["blocking"]["mode"] == "none"


def co_members(result: engine.LinkResult) -> set[tuple[str, str]]:
    """Pairs of row tokens that share a pseudonym."""
    tokens: dict[str, list[str]] = {}
    for frame in result.links.values():
        for token, pseudonym in zip(frame.row_token, frame.pseudonym, strict=True):
            tokens.setdefault(pseudonym, []).append(token)
    return {(x, y) for group in tokens.values() for x in group for y in group if x < y}


def test_lsh_keeps_pair_completeness_with_fewer_comparisons(subs: list[Submission]) -> None:
    """LSH is planned for pair completeness 0.99: it may miss a few pairs, never invent one."""
    exhaustive = run(subs, blocking="none")
    blocked = run(subs, blocking="lsh")
    for key, counts in blocked.summary["pairs"].items():
        full = exhaustive.summary["pairs"][key]
        assert counts["blocking"] == "lsh"
        assert counts["candidates"] <= full["candidates"]
        assert counts["compared"] < full["compared"]
        plan = blocked.summary["blocking"]["pairs"][key]["plan"]
        assert plan["method"] == "lsh" and plan["bands"] > 0 and plan["sample_compared"] > 0
    found = sum(p["candidates"] for p in blocked.summary["pairs"].values())
    assert found >= 0.99 * sum(p["candidates"] for p in exhaustive.summary["pairs"].values())
    linked, reference = co_members(blocked), co_members(exhaustive)
    assert linked <= reference and len(linked) >= 0.99 * len(reference)
    # the count is the run's own: the same plan run directly compares exactly as many
    words = [as_words(s.clks) for s in subs]
    plan = plan_lsh(words[0], words[1], THRESHOLD, allow_exhaustive=False)
    stats = lsh_pairs(words[0], words[1], THRESHOLD, plan=plan)[3]
    assert blocked.summary["pairs"]["clinic~court"]["compared"] == stats.candidate_pairs
    # the summary stays aggregate: no row tokens, no bit positions
    text = json.dumps(blocked.summary)
    assert "clinic-0" not in text and "positions" not in text


def test_lsh_gives_the_same_links_when_it_keeps_every_pair() -> None:
    """Few true pairs, far above the threshold: LSH finds them all, and then the links,
    pseudonyms and confidences are exactly those of exhaustive comparison."""
    rng = np.random.default_rng(11)
    a = np.packbits(rng.random((300, 1024)) < 0.35, axis=1)
    b = np.packbits(rng.random((280, 1024)) < 0.35, axis=1)
    b[:25] = noisy(rng, a[:25], 0.01)
    subs = [submission("clinic", a), submission("court", b)]
    exhaustive = link_submissions(subs, THRESHOLD, KEY, blocking="none")
    blocked = link_submissions(subs, THRESHOLD, KEY, blocking="lsh")
    assert blocked.summary["pairs"]["clinic~court"]["blocking"] == "lsh"
    assert blocked.summary["pairs"]["clinic~court"]["accepted_links"] == 25
    assert blocked.summary["pairs"]["clinic~clinic"]["blocking"] == "lsh"
    assert same_links(blocked, exhaustive)


def test_auto_is_exhaustive_below_the_cut_off(subs: list[Submission]) -> None:
    result = run(subs)
    assert all(p["blocking"] == "exhaustive" for p in result.summary["pairs"].values())
    assert "plan" not in result.summary["blocking"]["pairs"]["clinic~court"]
    assert result.summary["blocking"]["mode"] == "auto"
    assert same_links(result, run(subs, blocking="none"))


def test_auto_asks_the_planner_above_the_cut_off(
    subs: list[Submission], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "AUTO_EXHAUSTIVE_MAX_COMPARISONS", 0)
    result = run(subs)
    for key, details in result.summary["blocking"]["pairs"].items():
        # small inputs: the planner judges exhaustive comparison cheaper, and says so
        assert details["plan"]["method"] == "exhaustive"
        assert result.summary["pairs"][key]["blocking"] == "exhaustive"
    assert same_links(result, run(subs, blocking="none"))


def test_unknown_blocking_is_refused(subs: list[Submission]) -> None:
    with pytest.raises(HtlinkError, match="blocking"):
        run(subs, blocking="keys")


@pytest.mark.parametrize("blocking", ["none", "lsh"])
def test_progress_reports_every_stage_in_order(subs: list[Submission], blocking: str) -> None:
    calls: list[tuple[str, float]] = []
    result = run(subs, blocking=blocking, progress=lambda stage, f: calls.append((stage, f)))
    fractions = [f for _, f in calls]
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    stages = list(dict.fromkeys(stage for stage, _ in calls))
    assert stages == ["planning", "candidates", "clustering", "links"]
    # at least once per agency pair while candidates are found
    assert sum(stage == "candidates" for stage, _ in calls) > len(result.summary["pairs"])
    assert same_links(result, run(subs, blocking=blocking))


class CancelledError(Exception):
    pass


@pytest.mark.parametrize("blocking", ["none", "lsh"])
@pytest.mark.parametrize("stage", ["planning", "candidates", "clustering", "links"])
def test_an_exception_from_progress_cancels_the_run(
    subs: list[Submission], blocking: str, stage: str
) -> None:
    seen: list[str] = []

    def cancel_at(name: str, fraction: float) -> None:
        seen.append(name)
        if name == stage and fraction > 0.0:
            raise CancelledError

    with pytest.raises(CancelledError):
        run(subs, blocking=blocking, progress=cancel_at)
    assert seen[-1] == stage  # nothing ran after the callback raised
