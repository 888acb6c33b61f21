"""A synthetic world generated once per test session (default scenario, fewer people)."""

from __future__ import annotations

from pathlib import Path

import pytest

from htlink.synthetic import SynthResult, generate

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_YAML = ROOT / "synthetic" / "default.yaml"
SMALL_WORLD_PEOPLE = 4000


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    """The default scenario at 4,000 people, seed 11."""
    out = tmp_path_factory.mktemp("synth") / "world"
    return generate(DEFAULT_YAML, 11, out, people=SMALL_WORLD_PEOPLE)
