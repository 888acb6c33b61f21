"""`htlink match --scheduler` on a real Dask cluster, and `--blocking lsh` against `none`.

The agencies are a few hundred synthetic people encoded by `htlink encode` with a fixed
(test-only) secret, so that the encodings -- and with them LSH's plan -- are the same on
every run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tests.integration.test_cli_match import encode, linked
from typer.testing import CliRunner

from htlink.cli.main import app

runner = CliRunner()
AGENCIES = ["clinic", "court", "welfare"]
FIRST = (
    "ana ben carla dmitri elif farah gus hana ivan jose kemal lena mary-ann nguyen omar priya "
    "quinn rosa sam tariq"
).split()
LAST = (
    "garcia smith o'brien ivanov al-rashid van-an kowalski okafor haddad nakamura silva murphy "
    "schmidt rossi dubois novak"
).split()


def people(n: int, seed: int) -> list[tuple[str, ...]]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        rows.append((
            str(rng.choice(FIRST)),
            f"{rng.choice(LAST)} {rng.choice(LAST)}",
            f"{rng.integers(1, 13):02d}/{rng.integers(1, 29):02d}/{rng.integers(1940, 2010)}",
            str(rng.choice(["F", "M"])),
            f"{rng.integers(1000, 99999):05d}",
            f"617555{rng.integers(0, 10_000):04d}",
        ))  # fmt: skip
    return rows


def typo(row: tuple[str, ...]) -> tuple[str, ...]:
    """The same person, written a little differently (a letter dropped, no phone)."""
    surname = row[1]
    return (row[0], surname[:3] + surname[4:], *row[2:5], "")


@pytest.fixture(scope="module")
def submissions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    tmp = tmp_path_factory.mktemp("agencies")
    secret = tmp / "linkage.secret"  # fixed: the same encodings on every run
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(hashlib.sha256(b"htlink scale-out test secret").hexdigest() + "\n")
    everyone = people(240, seed=3)
    rows = {
        "clinic": everyone[:150] + [typo(r) for r in everyone[:20]],  # 20 repeat visits
        "court": [typo(r) for r in everyone[100:200]],
        "welfare": everyone[180:240] + [typo(r) for r in everyone[:30]],
    }
    return tmp, [encode(tmp, secret, name, rows[name]) for name in AGENCIES]


def match(subs: list[Path], out: Path, *extra: str) -> dict:
    result = runner.invoke(
        app,
        ["match", *map(str, subs), "--threshold", "0.8", "--out", str(out),
         "--project-key", str(out.parent / "project.key"),
         "--deduplicated", "court", "--deduplicated", "welfare", *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads((out / "summary.json").read_text())


def links_files(out: Path) -> dict[str, bytes]:
    return {a: (out / f"{a}.links.csv").read_bytes() for a in AGENCIES}


@pytest.fixture(scope="module")
def project(submissions: tuple[Path, list[Path]]) -> Path:
    tmp, _ = submissions
    key = tmp / "project.key"
    key.write_text(bytes(range(32)).hex() + "\n")
    key.chmod(0o600)
    return tmp


@pytest.fixture(scope="module")
def in_process(submissions: tuple[Path, list[Path]], project: Path) -> tuple[dict, Path]:
    out = project / "here"
    return match(submissions[1], out, "--blocking", "none"), out


@pytest.fixture(scope="module")
def scheduler_address() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        yield cluster.scheduler_address


def test_the_data_has_links_of_every_kind(in_process: tuple[dict, Path]) -> None:
    summary, _ = in_process
    pairs = summary["pairs"]
    assert pairs["clinic~court"]["accepted_links"] >= 45
    assert pairs["clinic~welfare"]["accepted_links"] >= 35
    assert pairs["court~welfare"]["accepted_links"] >= 15
    assert pairs["clinic~clinic"]["accepted_links"] >= 15  # repeat visits
    assert all(p["blocking"] == "exhaustive" for p in pairs.values())


@pytest.mark.parametrize("blocking", ["none", "lsh"])
def test_scheduler_gives_the_same_links_files(
    submissions: tuple[Path, list[Path]],
    project: Path,
    in_process: tuple[dict, Path],
    scheduler_address: str,
    blocking: str,
) -> None:
    out = project / f"cluster-{blocking}"
    summary = match(submissions[1], out, "--blocking", blocking, "--scheduler", scheduler_address)
    here = project / f"here-{blocking}"
    reference = match(submissions[1], here, "--blocking", blocking)
    assert links_files(out) == links_files(here)
    for key, counts in summary["pairs"].items():
        assert counts["blocking"] == ("exhaustive" if blocking == "none" else "lsh")
        assert counts["candidates"] == reference["pairs"][key]["candidates"]
        assert counts["accepted_links"] == reference["pairs"][key]["accepted_links"]
        if blocking == "none":
            assert counts["compared"] == reference["pairs"][key]["compared"]
    if blocking == "lsh":
        assert summary["blocking"]["pairs"]["clinic~court"]["tasks"] == 2
    else:
        assert links_files(out) == links_files(in_process[1])


def test_lsh_gives_the_same_links_as_every_pair(
    submissions: tuple[Path, list[Path]], project: Path, in_process: tuple[dict, Path]
) -> None:
    """LSH may miss a coincidental pair just above the threshold (here: at most one of
    the 142), but at 0.8 on this data it keeps every pair that becomes a link, so the
    links files are identical to comparing every pair."""
    out = project / "lsh"
    summary = match(submissions[1], out, "--blocking", "lsh")
    reference, reference_out = in_process
    for key, counts in summary["pairs"].items():
        full = reference["pairs"][key]
        assert counts["blocking"] == "lsh"
        assert counts["candidates"] <= full["candidates"]
        assert counts["accepted_links"] == full["accepted_links"]
        assert counts["compared"] < full["compared"] / 2
        plan = summary["blocking"]["pairs"][key]["plan"]
        assert plan["method"] == "lsh" and plan["bands"] >= 1
    found = sum(p["candidates"] for p in summary["pairs"].values())
    assert found >= sum(p["candidates"] for p in reference["pairs"].values()) - 1
    assert links_files(out) == links_files(reference_out)


def test_auto_blocking_is_exhaustive_on_small_data(
    submissions: tuple[Path, list[Path]], project: Path, in_process: tuple[dict, Path]
) -> None:
    out = project / "auto"
    summary = match(submissions[1], out)
    assert summary["blocking"]["mode"] == "auto"
    assert all(p["blocking"] == "exhaustive" for p in summary["pairs"].values())
    assert links_files(out) == links_files(in_process[1])


def test_unknown_blocking_is_a_clear_error(
    submissions: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        ["match", *map(str, submissions[1]), "--threshold", "0.8", "--out", str(tmp_path / "o"),
         "--blocking", "keys"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "blocking" in result.output.lower() and "Traceback" not in result.output
    assert not (tmp_path / "o" / "clinic.links.csv").exists()


def test_links_join_the_right_records(
    submissions: tuple[Path, list[Path]], in_process: tuple[dict, Path]
) -> None:
    """A sanity check of the data: a typo'd court record is linked to its clinic record."""
    tmp, _ = submissions
    rows = linked(in_process[1], tmp, AGENCIES)
    court = rows[(rows.agency == "court") & (rows.record_id == "r0")].pseudonym.item()
    clinic = rows[(rows.agency == "clinic") & (rows.record_id == "r100")].pseudonym.item()
    assert court == clinic
