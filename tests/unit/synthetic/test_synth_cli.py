"""`htlink synth` as a user runs it: a summary, clear errors, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from htlink.cli import synth_cmd

runner = CliRunner()


def app() -> typer.Typer:
    """`htlink synth` alone (cli/main.py registers the same function)."""
    cli = typer.Typer()
    cli.command("synth")(synth_cmd.synth)

    @cli.callback()
    def main() -> None:
        """htlink."""

    return cli


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app(), ["synth", *args])
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def test_synth_writes_a_world_and_prints_the_recall(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("population: {people: 300}\n", encoding="utf-8")
    code, text = invoke("--scenario", str(scenario), "--seed", "4", "--out",
                        str(tmp_path / "w"), "--quiet")
    assert code == 0, text
    assert "recall" in text and "300 people" in text
    assert (tmp_path / "w" / "truth.csv").exists()
    code, _ = invoke("--people", "200", "--seed", "4", "--out", str(tmp_path / "x"), "--quiet")
    assert code == 0
    assert (tmp_path / "x" / "summary.json").exists()


def test_synth_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    out = tmp_path / "w"
    out.mkdir()
    (out / "keep.txt").write_text("x", encoding="utf-8")
    code, text = invoke("--people", "100", "--out", str(out))
    assert code == 2 and "not empty" in text and "--force" in text
    assert "Traceback" not in text

    bad = tmp_path / "bad.yaml"
    bad.write_text("agencies:\n  healthcare:\n    corruption: {typo: 3}\n  courts: {}\n",
                   encoding="utf-8")
    code, text = invoke("--scenario", str(bad), "--out", str(tmp_path / "y"))
    assert code == 2
    assert "agencies.healthcare.corruption.typo: must be a rate between 0 and 1" in text
    assert "agencies.courts: unknown key" in text
    assert "Traceback" not in text and not (tmp_path / "y").exists()

    code, text = invoke("--scenario", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "z"))
    assert code == 2 and "does not exist" in text
