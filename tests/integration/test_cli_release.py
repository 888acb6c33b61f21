"""End to end: synth -> encode -> match -> payload export -> release build, and its refusals."""

from __future__ import annotations

import fcntl
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from htlink.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "configs" / "release"
AGENCIES = ("healthcare", "social_services", "prosecution")
EXPORTS = {
    "healthcare": ["--columns", "DOB,Sex,ZIP,VisitDate,ReasonCategory",
                   "--coarsen", "DOB=age@VisitDate", "--coarsen", "ZIP=zip3",
                   "--coarsen", "VisitDate=year"],
    "social_services": ["--columns", "birth_date,gender,county,report_date,report_type",
                        "--coarsen", "birth_date=age@report_date",
                        "--coarsen", "report_date=year"],
    "prosecution": ["--columns", "DOB,Role,ChargeCategory,County,FilingDate",
                    "--coarsen", "DOB=age@FilingDate", "--coarsen", "FilingDate=year"],
}  # fmt: skip
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One synthetic world for all tests, made once even across xdist workers."""
    shared = tmp_path_factory.getbasetemp().parent
    w = shared / "release-world"
    with (shared / "release-world.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (w / "done").exists():
            shutil.rmtree(w, ignore_errors=True)
            w.mkdir()
            make_world(w)
            (w / "done").touch()
    return w


def make_world(w: Path) -> None:
    code, text = run("synth", "--scenario", ROOT / "synthetic/default.yaml", "--seed", "3",
                     "--people", "300", "--out", w / "world", "--quiet")  # fmt: skip
    assert code == 0, text
    assert run("keys", "new", "--out", w / "linkage.secret")[0] == 0
    for a in AGENCIES:
        code, text = run(
            "encode", "--schema", ROOT / "configs/schemas/person-v1.json",
            "--secret", w / "linkage.secret", "--input", w / "world" / f"{a}.csv",
            "--agency", a, "--out", w / a, "--map-file", w / "world/mappings" / f"{a}.yaml",
            "--quiet",
        )  # fmt: skip
        assert code == 0, text
    code, text = run("match", *[w / a / "submission" for a in AGENCIES], "--threshold", "auto",
                     "--out", w / "links")  # fmt: skip
    assert code == 0, text
    code, text = run("keys", "release-new", "--out", w / "release")
    assert code == 0, text
    assert (w / "release.key").stat().st_mode & 0o777 == 0o600
    for a in AGENCIES:
        code, text = run(*export_args(w, a), *EXPORTS[a])
        assert code == 0, text


def export_args(w: Path, agency: str, out: str | None = None) -> list[object]:
    return [
        "payload", "export", "--links", w / "links" / f"{agency}.links.csv",
        "--tokens", w / agency / "private/row-tokens.csv",
        "--input", w / "world" / f"{agency}.csv",
        "--map-file", w / "world/mappings" / f"{agency}.yaml",
        "--release-key", w / "release.pub", "--out", w / (out or f"{agency}.payload"),
    ]  # fmt: skip


def build(w: Path, out: Path, policy: Path, key: str = "release.key", *extra: object) -> tuple:
    payloads = [x for a in AGENCIES for x in ("--payload", w / f"{a}.payload")]
    return run("release", "build", "--policy", policy, *payloads, "--release-key", w / key,
               "--out", out, "--quiet", *extra)  # fmt: skip


def nothing_written(out: Path) -> bool:
    return not out.exists() and not list(out.parent.glob(f".{out.name}.partial-*"))


@pytest.mark.parametrize("policy", sorted(POLICIES.glob("*.yaml")), ids=lambda p: p.stem)
def test_release_with_each_shipped_policy(world: Path, tmp_path: Path, policy: Path) -> None:
    out = tmp_path / "release"
    links = [x for a in AGENCIES for x in ("--links", world / "links" / f"{a}.links.csv")]
    code, text = build(world, out, policy, "release.key", *links)
    assert code == 0, text
    assert "report.html" in text
    audit = json.loads((out / "audit.json").read_text())
    pol = yaml.safe_load(policy.read_text())
    assert audit["passed"] and audit["tables"]["audit"]["passed"]
    for t in pol["tables"]:
        frame = pd.read_csv(out / "tables" / f"{t['name']}.csv", dtype=str,
                            keep_default_na=False)  # fmt: skip
        suppressed = frame["status"] == "suppressed"
        assert (frame.loc[suppressed, "value"] == "").all()
        assert (frame.loc[~suppressed, "value"] != "").all()
        published = frame.loc[~suppressed, "value"].astype(float)
        lo, hi = pol["suppression"]["threshold"]["min"], pol["suppression"]["threshold"]["max"]
        assert not ((published >= max(lo, 1)) & (published <= hi)).any()
        assert (out / "tables" / f"{t['name']}.html").is_file()
    pseudonyms = set(pd.read_csv(world / "links/healthcare.links.csv")["pseudonym"])
    if pol["microdata"].get("enabled", True):
        extract = pd.read_csv(out / "extract.csv", dtype=str, keep_default_na=False)
        assert extract.equals(pd.read_parquet(out / "extract.parquet").astype(str))
        qis = list(pol["microdata"]["quasi_identifiers"])
        assert extract.groupby(qis).size().min() >= pol["microdata"]["k"]
        assert not set(extract["release_id"]) & pseudonyms
        assert audit["microdata"]["independent_verification"]["passed"]
    else:
        assert not (out / "extract.csv").exists() and "microdata" not in audit
    report = (out / "report.html").read_text()
    assert "data:image/png;base64," in report and "passed" in report
    for p in list(pseudonyms)[:50]:
        assert p not in report and p not in (out / "audit.json").read_text()


def test_two_releases_have_unrelated_ids(world: Path, tmp_path: Path) -> None:
    policy = POLICIES / "hipaa-safe-harbor.yaml"
    assert build(world, tmp_path / "a", policy)[0] == 0
    assert build(world, tmp_path / "b", policy)[0] == 0
    a = pd.read_csv(tmp_path / "a/extract.csv", dtype=str)
    b = pd.read_csv(tmp_path / "b/extract.csv", dtype=str)
    assert len(a) == len(b) and not set(a["release_id"]) & set(b["release_id"])
    code, text = build(world, tmp_path / "a", policy)
    assert code == 2 and "already exists" in text


def test_payload_for_another_key_is_refused(world: Path, tmp_path: Path) -> None:
    assert run("keys", "release-new", "--out", tmp_path / "other")[0] == 0
    code, text = run("keys", "release-new", "--out", tmp_path / "other")
    assert code == 2 and "will not overwrite" in text
    payloads = [x for a in AGENCIES for x in ("--payload", world / f"{a}.payload")]
    out = tmp_path / "r"
    code, text = run("release", "build", "--policy", POLICIES / "cms-cell-size.yaml", *payloads,
                     "--release-key", tmp_path / "other.key", "--out", out)  # fmt: skip
    assert code == 2 and "another release key" in text and "Traceback" not in text
    assert nothing_written(out)


def test_pseudonym_no_links_file_knows(world: Path, tmp_path: Path) -> None:
    stale = tmp_path / "stale.links.csv"
    pd.read_csv(world / "links/healthcare.links.csv").iloc[:5].to_csv(stale, index=False)
    out = tmp_path / "r"
    code, text = build(world, out, POLICIES / "cms-cell-size.yaml", "release.key",
                       "--links", stale)  # fmt: skip
    assert code == 2 and "no links file knows" in text
    assert nothing_written(out)


def test_policy_naming_a_missing_column(world: Path, tmp_path: Path) -> None:
    raw = yaml.safe_load((POLICIES / "cms-cell-size.yaml").read_text())
    raw["people"]["attributes"]["charge"]["from"] = "prosecution.NoSuchColumn"
    policy = tmp_path / "p.yaml"
    policy.write_text(yaml.safe_dump(raw))
    out = tmp_path / "r"
    code, text = build(world, out, policy)
    assert code == 2 and "'NoSuchColumn'" in text and "ChargeCategory" in text
    assert nothing_written(out)


def test_k_larger_than_the_data_allows(world: Path, tmp_path: Path) -> None:
    raw = yaml.safe_load((POLICIES / "hipaa-safe-harbor.yaml").read_text())
    raw["microdata"]["k"] = 1_000_000
    policy = tmp_path / "p.yaml"
    policy.write_text(yaml.safe_dump(raw))
    out = tmp_path / "r"
    code, text = build(world, out, policy)
    assert code == 2 and "larger than the data allows" in text
    assert nothing_written(out)


def test_export_refuses_identifiers_and_foreign_links(world: Path) -> None:
    code, text = run(*export_args(world, "prosecution", "x.payload"), "--columns",
                     "DefendantOrVictimName,DOB,Role")  # fmt: skip
    assert code == 2 and "'DefendantOrVictimName' looks like an identifier" in text
    assert "'DOB'" in text and not (world / "x.payload").exists()
    args = export_args(world, "prosecution", "y.payload")
    args[3] = world / "links/healthcare.links.csv"
    code, text = run(*args, "--columns", "Role")
    assert code == 2 and "none match" in text and not (world / "y.payload").exists()
