"""`htlink match` on real submissions: links per agency, stable pseudonyms, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import PERSON_MAP, PERSON_SCHEMA
from typer.testing import CliRunner

from htlink.cli.main import app

runner = CliRunner()
HEADER = "patient_id,First Name,LAST_NAME,Birth Date,Gender,Zip Code,Phone\n"
PEOPLE = [
    ("José", "García López", "03/14/1987", "F", "02134", "6175552368"),
    ("Mary-Ann", "O'Brien", "12/01/1990", "F", "02139", "6175559876"),
    ("Nguyen", "Van An", "07/04/2001", "M", "02118", ""),
    ("Robert", "Smith", "02/11/1980", "M", "90210", "2125550147"),
    ("Aisha", "Al-Rashid", "11/11/1975", "F", "10001", ""),
    ("Dmitri", "Ivanov", "05/05/1966", "M", "60601", "3125550199"),
]


def write_agency(path: Path, rows: list[tuple[str, ...]]) -> Path:
    lines = [HEADER] + [f"r{i},{','.join(r)}\n" for i, r in enumerate(rows)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def encode(
    tmp: Path, secret: Path, name: str, rows: list[tuple[str, ...]], schema: Path = PERSON_SCHEMA
) -> Path:
    data = write_agency(tmp / f"{name}.csv", rows)
    result = runner.invoke(app, [
        "encode", "--schema", str(schema), "--secret", str(secret), "--input", str(data),
        "--agency", name, "--out", str(tmp / name), "--id-column", "patient_id",
        "--date-order", "MDY", *PERSON_MAP,
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    return tmp / name / "submission"


def linked(out: Path, tmp: Path, agencies: list[str]) -> pd.DataFrame:
    frames = []
    for agency in agencies:
        links = pd.read_csv(out / f"{agency}.links.csv", dtype=str)
        tokens = pd.read_csv(tmp / agency / "private" / "row-tokens.csv", dtype=str)
        assert list(links.columns) == ["row_token", "pseudonym", "confidence"]
        frames.append(links.merge(tokens, on="row_token").assign(agency=agency))
    return pd.concat(frames)


def test_two_agencies_link_the_same_people(tmp_path: Path, secret_file: Path) -> None:
    a = encode(tmp_path, secret_file, "clinic", PEOPLE[:4])
    typo = [("Jose", "Garcia-Lopez", "03/14/1987", "female", "02134", ""), *PEOPLE[3:]]
    b = encode(tmp_path, secret_file, "court", typo)
    out = tmp_path / "links"
    result = runner.invoke(
        app,
        [
            "match",
            str(a),
            str(b),
            "--threshold",
            "0.8",
            "--out",
            str(out),
            "--deduplicated",
            "clinic",
            "--deduplicated",
            "court",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = linked(out, tmp_path, ["clinic", "court"])
    groups = rows.groupby("pseudonym")["agency"].apply(sorted)
    pairs = rows[rows.pseudonym.map(rows.pseudonym.value_counts()) == 2]
    ids = {tuple(sorted(g.record_id + "@" + g.agency)) for _, g in pairs.groupby("pseudonym")}
    # José (r0 / r0) and Robert Smith (r3 / r1) are in both; nobody else
    assert ids == {("r0@clinic", "r0@court"), ("r1@court", "r3@clinic")}
    assert (groups.map(len) <= 2).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pairs"]["clinic~court"]["accepted_links"] == 2
    assert "José" not in (out / "summary.json").read_text()
    # same submissions, same project key -> same pseudonyms
    again = tmp_path / "again"
    runner.invoke(
        app,
        [
            "match",
            str(a),
            str(b),
            "--threshold",
            "0.8",
            "--out",
            str(again),
            "--project-key",
            str(out / "project.key"),
        ],
    )
    assert (
        pd.read_csv(again / "clinic.links.csv").pseudonym
        == pd.read_csv(out / "clinic.links.csv").pseudonym
    ).all()
    # another project key -> unrelated pseudonyms
    other = tmp_path / "other"
    runner.invoke(app, ["match", str(a), str(b), "--threshold", "0.8", "--out", str(other)])
    assert not set(pd.read_csv(other / "clinic.links.csv").pseudonym) & set(rows.pseudonym)


def test_three_agencies_and_repeat_visits(tmp_path: Path, secret_file: Path) -> None:
    subs = [
        encode(tmp_path, secret_file, "hospital", [*PEOPLE[:3], PEOPLE[0]]),  # José visits twice
        encode(tmp_path, secret_file, "welfare", [PEOPLE[0], PEOPLE[4]]),
        encode(tmp_path, secret_file, "court", [PEOPLE[0], PEOPLE[5], PEOPLE[4]]),
    ]
    out = tmp_path / "links"
    result = runner.invoke(
        app,
        [
            "match",
            *map(str, subs),
            "--threshold",
            "auto",
            "--out",
            str(out),
            "--deduplicated",
            "welfare",
            "--deduplicated",
            "court",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "picked" in result.output
    rows = linked(out, tmp_path, ["hospital", "welfare", "court"])
    jose = rows[(rows.agency == "hospital") & (rows.record_id == "r0")].pseudonym.item()
    members = sorted(
        rows[rows.pseudonym == jose].agency + ":" + rows[rows.pseudonym == jose].record_id
    )
    assert members == ["court:r0", "hospital:r0", "hospital:r3", "welfare:r0"]
    for agency in ("welfare", "court"):  # de-duplicated sources: at most one record per person
        assert not rows[rows.agency == agency].pseudonym.duplicated().any()


def test_refuses_submissions_from_different_schemas(tmp_path: Path, secret_file: Path) -> None:
    schema = json.loads(PERSON_SCHEMA.read_text())
    schema["features"][0]["hashing"]["strategy"]["bitsPerFeature"] = 100
    other_schema = tmp_path / "other.json"
    other_schema.write_text(json.dumps(schema))
    a = encode(tmp_path, secret_file, "clinic", PEOPLE[:2])
    b = encode(tmp_path, secret_file, "court", PEOPLE[:2], other_schema)
    result = runner.invoke(
        app, ["match", str(a), str(b), "--threshold", "0.8", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "different linkage schemas" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o" / "clinic.links.csv").exists()


@pytest.mark.parametrize("threshold", ["1.5", "0", "high"])
def test_refuses_bad_thresholds(tmp_path: Path, secret_file: Path, threshold: str) -> None:
    a = encode(tmp_path, secret_file, "clinic", PEOPLE[:2])
    b = encode(tmp_path, secret_file, "court", PEOPLE[:2])
    result = runner.invoke(
        app, ["match", str(a), str(b), "--threshold", threshold, "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "threshold" in result.output.lower()


def test_write_pairs_for_evaluation(tmp_path: Path, secret_file: Path) -> None:
    a = encode(tmp_path, secret_file, "clinic", PEOPLE[:4])
    b = encode(tmp_path, secret_file, "court", [PEOPLE[0], PEOPLE[0], PEOPLE[5]])
    out = tmp_path / "links"
    result = runner.invoke(
        app,
        ["match", str(a), str(b), "--threshold", "0.8", "--out", str(out), "--write-pairs", "0.5"],
    )
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(out / "pairs.csv")
    assert list(pairs.columns) == [
        "agency_a",
        "row_token_a",
        "agency_b",
        "row_token_b",
        "similarity",
    ]
    assert (pairs.similarity >= 0.5).all()
    within = pairs[(pairs.agency_a == "court") & (pairs.agency_b == "court")]
    assert within.similarity.max() == 1.0  # the repeated record
    assert not (out / "pairs.csv").read_text().count("José")


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path, secret_file: Path) -> None:
    a = encode(tmp_path, secret_file, "clinic", PEOPLE[:2])
    b = encode(tmp_path, secret_file, "court", PEOPLE[:2])
    result = runner.invoke(
        app,
        ["match", str(a), str(b), "--threshold", "0.8", "--out", str(tmp_path / "o"),
         "--scheduler", "tcp://127.0.0.1:1"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "reach" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o" / "clinic.links.csv").exists()
