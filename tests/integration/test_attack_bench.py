"""The attack bench on its small configuration (CI): it must still be able to attack.

If the known-secret dictionary attack stops re-identifying, the bench is broken
(and every other rate it reports is meaningless); if the unknown-secret one
rises above chance, keyed hashing is broken.
"""

import json
import math
from pathlib import Path

from typer.testing import CliRunner

from htlink.cli.attack_cmd import app


def _chance_bound(chance: float, targets: int) -> float:
    """A generous upper bound on a rate achieved by guessing (binomial, ~4 sigma)."""
    expected = chance * targets
    return (expected + 4 * math.sqrt(expected) + 2) / targets


def test_small_bench_known_secret_succeeds_unknown_secret_fails(tmp_path: Path) -> None:
    out = tmp_path / "attacks.json"
    result = CliRunner().invoke(
        app,
        ["bench", "--small", "--people", "900", "--attack-size", "400", "--graph-size", "200",
         "--config", "person-v1", "--world-dir", str(tmp_path / "world"),
         "--out", str(out), "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Results written" in result.output
    data = json.loads(out.read_text())
    (config,) = data["configs"]
    rates = {(a["attack"], a["overlap"]): a for a in config["attacks"]}
    assert len(rates) == 14  # 7 attacks x 2 overlaps

    known = rates[("dict-known", 1.0)]
    assert known["targets"] >= 350
    assert known["rate"] >= 0.9
    # at 50% overlap only the values that are in the list can be found
    half = rates[("dict-known", 0.5)]
    assert half["rate"] >= 0.9 * half["reachable"]

    for overlap in (1.0, 0.5):
        unknown = rates[("dict-unknown", overlap)]
        assert unknown["rate"] <= _chance_bound(unknown["chance"], unknown["targets"])

    # the same configuration still links well: the F1 is measured, not assumed
    linkage = config["linkage"]
    assert linkage["f1"] > 0.8
    # the sweep clusters as the engine does: at the automatic threshold it gives the
    # engine's own F1 (small data: every pair compared), and its best is no worse
    at_auto = [p for p in linkage["curve"] if abs(p["threshold"] - linkage["threshold"]) < 1e-9]
    assert at_auto and abs(at_auto[0]["f1"] - linkage["f1"]) < 1e-4
    assert linkage["best"]["f1"] >= linkage["f1"]
    # nothing identifying is written: counts and rates only
    assert "targets" in json.dumps(data) and "@" not in out.read_text().split('"configs"')[1]
