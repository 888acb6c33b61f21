"""`htlink evaluate` on a small hand-built linkage of three agencies.

Truth (person: records)          links (pseudonym: records)
  P1: h1 h2 s1                     K1: h1 h2 s1       exactly P1
  P2: h3 s2 x1                     K2: h3 x1          P2, split from s2
  P3: h4                           K3: s2             P2's third record alone
  P4: s3 x2                        K4: s3 x2          exactly P4
  P5: x3                           K9: h4 x3          P3 and P5 wrongly merged

hospital (h) and social (s) get row tokens resolved through their row-token
maps; prosecution (x) sends a links file with record_id and agency columns.

True pairs 3 + 3 + 1 = 7; linked pairs 3 + 1 + 1 + 1 = 6; right 3 + 1 + 1 = 5.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from htlink.cli import evaluate_cmd

app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
app.command("evaluate")(evaluate_cmd.evaluate)


@app.callback()
def _main() -> None:
    """A stand-in for the htlink app, with only the evaluate command."""


runner = CliRunner()

TRUTH = """agency,record_id,person_id
hospital,h1,P1
hospital,h2,P1
hospital,h3,P2
hospital,h4,P3
social,s1,P1
social,s2,P2
social,s3,P4
prosecution,x1,P2
prosecution,x2,P4
prosecution,x3,P5
"""
TOKENS = {
    "hospital": {"h1": "tH1", "h2": "tH2", "h3": "tH3", "h4": "tH4"},
    "social": {"s1": "tS1", "s2": "tS2", "s3": "tS3"},
    "prosecution": {"x1": "tX1", "x2": "tX2", "x3": "tX3"},
}
# scored pairs (by row token): similarity, and whether it is a true match
PAIRS = [
    ("hospital", "tH1", "social", "tS1", 0.95),  # T
    ("hospital", "tH2", "social", "tS1", 0.90),  # T
    ("hospital", "tH3", "prosecution", "tX1", 0.85),  # T
    ("social", "tS3", "prosecution", "tX2", 0.80),  # T
    ("hospital", "tH4", "prosecution", "tX3", 0.75),  # F
    ("hospital", "tH3", "social", "tS2", 0.60),  # T
    ("social", "tS2", "prosecution", "tX1", 0.50),  # T
    ("hospital", "tH2", "social", "tS2", 0.40),  # F
]


def invoke(args: list[str]):
    result = runner.invoke(app, ["evaluate", *args])
    return result, result.output + (result.stderr if result.stderr_bytes is not None else "")


@pytest.fixture
def world(tmp_path: Path) -> Path:
    (tmp_path / "truth.csv").write_text(TRUTH)
    for agency, tokens in TOKENS.items():
        lines = ["row_token,record_id,clkhash_index"]
        lines += [f"{t},{r},{i}" for i, (r, t) in enumerate(tokens.items())]
        (tmp_path / f"{agency}-row-tokens.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "hospital.links.csv").write_text(
        "row_token,pseudonym,confidence\ntH2,K1,0.9\ntH1,K1,0.95\ntH3,K2,0.8\ntH4,K9,0.6\n"
    )
    (tmp_path / "social.links.csv").write_text(
        "row_token,pseudonym,confidence\ntS1,K1,0.9\ntS2,K3,0.7\ntS3,K4,0.85\n"
    )
    (tmp_path / "prosecution.links.csv").write_text(
        "agency,record_id,pseudonym,confidence\n"
        "prosecution,x1,K2,0.8\nprosecution,x2,K4,0.85\nprosecution,x3,K9,0.6\n"
    )
    (tmp_path / "pairs.csv").write_text(
        "agency_a,row_token_a,agency_b,row_token_b,similarity\n"
        + "".join(f"{a},{ta},{b},{tb},{s}\n" for a, ta, b, tb, s in PAIRS)
    )
    return tmp_path


def base_args(w: Path) -> list[str]:
    return [
        "--truth", str(w / "truth.csv"),
        "--links", str(w / "hospital.links.csv"), str(w / "social.links.csv"),
        *[f"--tokens={a}={w / f'{a}-row-tokens.csv'}" for a in TOKENS],
        "--out", str(w / "out"),
        str(w / "prosecution.links.csv"),
    ]  # fmt: skip


def test_evaluate_scores_match_the_hand_computation(world: Path) -> None:
    result, text = invoke([*base_args(world), "--pairs", str(world / "pairs.csv"),
                           "--threshold", "0.7"])  # fmt: skip
    assert result.exit_code == 0, text
    assert "pairwise precision" in text and "report.html" in text
    assert "cross-agency recall" in text and "within-agency recall" in text
    m = json.loads((world / "out" / "metrics.json").read_text())
    assert m["agencies"] == ["hospital", "prosecution", "social"]
    assert m["records"] == {
        "total": 10, "by_agency": {"hospital": 4, "prosecution": 3, "social": 3}, "linked": 10,
    }  # fmt: skip
    every = m["pairwise"]["all"]
    assert (every["true_pairs"], every["predicted_pairs"], every["true_positives"]) == (7, 6, 5)
    assert every["precision"] == pytest.approx(5 / 6)
    assert every["recall"] == pytest.approx(5 / 7)
    assert every["f1"] == pytest.approx(10 / 13)
    cross = m["pairwise"]["cross_agency"]
    assert (cross["true_pairs"], cross["predicted_pairs"], cross["true_positives"]) == (6, 5, 4)
    by_pair = {
        (p["agency_a"], p["agency_b"]): (p["true_pairs"], p["predicted_pairs"], p["true_positives"])
        for p in m["agency_pairs"]
    }
    assert by_pair == {
        ("hospital", "hospital"): (1, 1, 1),
        ("hospital", "prosecution"): (1, 2, 1),  # h3-x1 right, h4-x3 wrong
        ("hospital", "social"): (3, 2, 2),  # h3-s2 missed
        ("prosecution", "prosecution"): (0, 0, 0),
        ("prosecution", "social"): (2, 1, 1),  # s2-x1 missed
        ("social", "social"): (0, 0, 0),
    }
    c = m["clusters"]
    assert (c["people"], c["predicted_clusters"], c["exactly_reunited"]) == (5, 5, 2)
    assert (c["split_people"], c["over_merged_people"], c["mixed_clusters"]) == (1, 2, 1)
    assert c["multi_record_reunited_share"] == pytest.approx(2 / 3)
    assert c["by_agency_count"] == {
        "1": {"people": 2, "exactly_reunited": 0, "reunited_share": 0.0},
        "2": {"people": 2, "exactly_reunited": 2, "reunited_share": 1.0},
        "3": {"people": 1, "exactly_reunited": 0, "reunited_share": 0.0},
    }
    s = m["sweep"]
    assert s["scope"] == "cross" and s["total_true_pairs"] == 6 and s["scored_matches"] == 6
    # best F1 over the scores: at 0.5, 7 linked, 6 right: 2·6 / (7 + 6)
    assert s["best"]["threshold"] == 0.5 and s["best"]["f1"] == pytest.approx(12 / 13)
    # chosen 0.7: 5 linked (>= 0.75), 4 right
    assert (s["chosen"]["predicted_pairs"], s["chosen"]["true_positives"]) == (5, 4)
    assert s["chosen"]["f1"] == pytest.approx(8 / 11)
    b = m["blocking"]
    assert b["comparison_space"] == 4 * 3 + 4 * 3 + 3 * 3
    assert b["reduction_ratio"] == pytest.approx(1 - 8 / 33)
    assert b["pair_completeness"] == 1.0 and b["pairs_quality"] == pytest.approx(6 / 8)
    assert m["notes"] == []


def test_report_is_self_contained(world: Path) -> None:
    result, text = invoke([*base_args(world), "--pairs", str(world / "pairs.csv")])
    assert result.exit_code == 0, text
    out = world / "out"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    sources = re.findall(r"""(?:src|href)\s*=\s*["']?([^"' >]+)""", page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert {p.name for p in out.glob("*.png")} == {
        "threshold-sweep.png", "similarity-histograms.png", "cluster-sizes.png",
        "agency-pair-recall.png",
    }  # fmt: skip
    # no record id or row token in the page
    for value in ["tH1", "tS2", "x3", "s3"]:
        assert not re.search(rf"\b{value}\b", page)


def test_links_only_and_rerun_needs_force(world: Path) -> None:
    result, text = invoke(base_args(world))
    assert result.exit_code == 0, text
    m = json.loads((world / "out" / "metrics.json").read_text())
    assert m["sweep"] is None and m["blocking"] is None
    result, text = invoke(base_args(world))
    assert result.exit_code == 2 and "--force" in text
    result, text = invoke([*base_args(world), "--force"])
    assert result.exit_code == 0, text


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda w: (w / "truth.csv").write_text("agency,record_id\nhospital,SECRET1\n"),
            "no column person_id",
        ),
        (
            lambda w: (w / "truth.csv").write_text(TRUTH + "hospital,h1,SECRET2\n"),
            "repeat an agency and record_id",
        ),
        (
            lambda w: (w / "prosecution.links.csv").write_text(
                "agency,record_id,pseudonym\nprosecution,SECRET3,K1\n"
            ),
            "not in the truth file (1 of prosecution)",
        ),
        (
            lambda w: (w / "prosecution.links.csv").write_text(
                "agency,record_id,pseudonym\nprobation,x1,K1\n"
            ),
            "agency probation",
        ),
        (
            lambda w: (w / "social-row-tokens.csv").write_text(
                "row_token,record_id\ntS1,SECRET4\n"
            ),
            "row tokens of agency social",
        ),
        (
            lambda w: (w / "truth.csv").write_bytes(b'agency,record_id,person_id\n"SECRET5,\n'),
            "not a well-formed CSV",
        ),
        (
            lambda w: (w / "truth.csv").write_bytes("a,b\n\xe9SECRET6\n".encode("latin-1")),
            "not UTF-8",
        ),
        (
            lambda w: (w / "hospital.links.csv").write_text(
                "row_token,pseudonym,confidence\ntH1,K1,SECRET7\n"
            ),
            "confidence",
        ),
    ],
)
def test_bad_inputs_are_refused_clearly(world: Path, edit, expected: str) -> None:
    edit(world)
    result, text = invoke(base_args(world))
    assert result.exit_code == 2, text
    assert expected in text
    assert "Traceback" not in text and "SECRET" not in text
    assert "How to fix" in text
    assert not (world / "out").exists()


def test_missing_token_map_and_nothing_to_do(world: Path) -> None:
    args = [a for a in base_args(world) if not a.startswith("--tokens=social")]
    result, text = invoke(args)
    assert result.exit_code == 2 and "--tokens social=" in text
    result, text = invoke(["--truth", str(world / "truth.csv"), "--out", str(world / "o")])
    assert result.exit_code == 2 and "Nothing to evaluate" in text
    result, text = invoke([*base_args(world), "--threshold", "0.5"])
    assert result.exit_code == 2 and "without scored pairs" in text
