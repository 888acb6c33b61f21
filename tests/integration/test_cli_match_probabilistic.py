"""`htlink match --method probabilistic` end to end: synth, encode --field-level, match, evaluate.

A small synthetic world (600 people of the default scenario: three agencies with
repeat visits) goes through the commands of scripts/demo.sh, with --field-level
at encoding and --method probabilistic at matching, and is scored against the
generator's truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import PERSON_SCHEMA
from typer.testing import CliRunner

from htlink.cli.main import app

runner = CliRunner()
AGENCIES = ("healthcare", "social_services", "prosecution")


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three agencies encoded with field-level encodings, plus one CLK-only submission."""
    root = tmp_path_factory.mktemp("prob")
    invoke("synth", "--seed", "3", "--people", "600", "--out", str(root / "world"), "--quiet")
    invoke("keys", "new", "--out", str(root / "linkage.secret"))
    for agency in AGENCIES:
        invoke("keys", "agency-new", "--out", str(root / agency))
        invoke(
            "encode", "--schema", str(PERSON_SCHEMA), "--secret", str(root / "linkage.secret"),
            "--input", str(root / "world" / f"{agency}.csv"), "--agency", agency,
            "--out", str(root / agency),
            "--map-file", str(root / "world" / "mappings" / f"{agency}.yaml"),
            "--signing-key", str(root / f"{agency}.key"), "--field-level", "--quiet",
        )  # fmt: skip
    invoke(
        "encode", "--schema", str(PERSON_SCHEMA), "--secret", str(root / "linkage.secret"),
        "--input", str(root / "world" / "prosecution.csv"), "--agency", "prosecution",
        "--out", str(root / "prosecution-clk-only"),
        "--map-file", str(root / "world" / "mappings" / "prosecution.yaml"), "--quiet",
    )  # fmt: skip
    return root


def submissions(root: Path, *agencies: str) -> list[str]:
    return [str(root / a / "submission") for a in agencies]


def tokens_file(root: Path, agency: str) -> Path:
    return root / agency / "private" / "row-tokens.csv"


def evaluate(root: Path, links: Path) -> dict:
    out = links.parent / f"{links.name}-evaluation"
    invoke(
        "evaluate", "--truth", str(root / "world" / "truth.csv"),
        "--links", *(str(links / f"{a}.links.csv") for a in AGENCIES),
        *(x for a in AGENCIES for x in ("--tokens", f"{a}={tokens_file(root, a)}")),
        "--out", str(out),
    )  # fmt: skip
    return json.loads((out / "metrics.json").read_text())["pairwise"]["all"]


def test_probabilistic_match_links_people_and_beats_dice(world: Path) -> None:
    links = world / "links-prob"
    output = invoke(
        "match", *submissions(world, *AGENCIES), "--method", "probabilistic",
        "--threshold", "auto", "--out", str(links),
    )  # fmt: skip
    assert "match probability 0.5" in output
    for agency in AGENCIES:
        frame = pd.read_csv(links / f"{agency}.links.csv", dtype={"row_token": str})
        assert list(frame.columns) == ["row_token", "pseudonym", "confidence"]
        tokens = pd.read_csv(world / agency / "private" / "row-tokens.csv", dtype=str)
        assert sorted(frame["row_token"]) == sorted(tokens["row_token"])
        assert frame["confidence"].dropna().between(0.5, 1.0).all()
    summary_text = (links / "summary.json").read_text()
    summary = json.loads(summary_text)
    assert summary["method"] == "probabilistic"
    model = summary["model"]
    assert set(model["fields"]) == {"given_name", "surname", "dob", "sex", "zip", "phone"}
    # matches agree on date of birth far more often than non-matches
    dob = model["fields"]["dob"]
    assert dob["m"]["identical"] > 0.8 > 0.2 > dob["u"]["identical"]
    # the summary holds aggregates only
    tokens = pd.read_csv(world / "healthcare" / "private" / "row-tokens.csv", dtype=str)
    assert not any(t in summary_text for t in tokens["row_token"])
    assert not any(r in summary_text for r in tokens["record_id"])

    prob = evaluate(world, links)
    dice_links = world / "links-dice"
    invoke("match", *submissions(world, *AGENCIES), "--threshold", "auto", "--out", str(dice_links))
    dice = evaluate(world, dice_links)
    print(f"probabilistic {prob}\ndice {dice}")
    assert prob["precision"] > 0.9
    assert prob["f1"] > 0.85
    assert prob["f1"] >= dice["f1"] - 0.02


def test_probabilistic_match_refuses_clk_only_submissions(world: Path) -> None:
    result = runner.invoke(
        app,
        [
            "match", *submissions(world, "healthcare", "prosecution-clk-only"),
            "--method", "probabilistic", "--threshold", "auto", "--out", str(world / "refused"),
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "field-level encodings" in result.output
    assert "prosecution" in result.output and "--field-level" in result.output
    assert not (world / "refused").exists()
    # the same CLK-only submission links by Dice with the field-level ones, as before
    invoke(
        "match", *submissions(world, "healthcare", "prosecution-clk-only"),
        "--threshold", "0.8", "--out", str(world / "dice-mixed"),
    )  # fmt: skip


def test_unknown_method_is_refused(world: Path) -> None:
    result = runner.invoke(
        app,
        [
            "match", *submissions(world, "healthcare", "prosecution"), "--method", "bayes",
            "--threshold", "auto", "--out", str(world / "bayes"),
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--method 'bayes' is not known" in result.output


def test_options_probabilistic_mode_lacks_are_refused(world: Path) -> None:
    for extra, message in (
        (["--blocking", "lsh"], "--blocking lsh is not available"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler is not available"),
    ):
        result = runner.invoke(
            app,
            [
                "match", *submissions(world, "healthcare", "prosecution"),
                "--method", "probabilistic", "--threshold", "auto", *extra,
                "--out", str(world / "refused-option"),
            ],
        )  # fmt: skip
        assert result.exit_code == 2, result.output
        assert message in result.output
