"""`htlink encode` the way an agency runs it: real files in, a submission folder out.

Also the bad-input promises: each problem is refused with a message that says
what is wrong, with no traceback, no record value in the output, and no output
folder left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import PERSON_MAP, PERSON_SCHEMA
from typer.testing import CliRunner

from htlink.cli.main import app
from htlink.crypto.signing import generate_agency_keypair, load_public_key
from htlink.encode.submission import read_clkhash_json, read_submission

runner = CliRunner()
VALUES = [
    "José",
    "García",
    "O'Brien",
    "Nguyễn",
    "Aisha",
    "Rashid",
    "03/14/1987",
    "6175552368",
    "1987-03-14",
]


def encode_args(secret: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return [
        "encode", "--schema", str(PERSON_SCHEMA), "--secret", str(secret),
        "--input", str(data), "--agency", "clinic", "--out", str(out),
        "--id-column", "patient_id", "--date-order", "MDY", *PERSON_MAP, *extra,
    ]  # fmt: skip


def invoke(args: list[str]):
    result = runner.invoke(app, args)
    return result, result.output + (result.stderr if result.stderr_bytes is not None else "")


def test_encode_writes_a_verifiable_submission(
    tmp_path: Path, secret_file: Path, person_csv: Path
) -> None:
    generate_agency_keypair(tmp_path / "clinic.key", tmp_path / "clinic.pub")
    out = tmp_path / "out"
    result, text = invoke(
        encode_args(
            secret_file,
            person_csv,
            out,
            "--signing-key",
            str(tmp_path / "clinic.key"),
            "--report",
            "--format",
            "clkhash-json",
        )
    )
    assert result.exit_code == 0, text
    sub = read_submission(out / "submission", public_key=load_public_key(tmp_path / "clinic.pub"))
    assert sub.manifest["record_count"] == 5 and sub.manifest["bit_length"] == 1024
    assert sub.manifest["agency"] == "clinic"
    tokens = pd.read_csv(out / "private" / "row-tokens.csv", dtype=str)
    assert sorted(tokens["record_id"]) == ["p1", "p2", "p3", "p4", "p5"]
    assert set(tokens["row_token"]) == set(sub.row_tokens)
    assert oct(os.stat(out / "private" / "row-tokens.csv").st_mode)[-3:] == "600"
    # the clkhash JSON is in input order; the token map says which index is which record
    clkhash = read_clkhash_json(out / "submission" / "clks.clkhash.json", 1024)
    by_token = dict(zip(sub.row_tokens, map(bytes, sub.clks), strict=True))
    for token, index in zip(tokens["row_token"], tokens["clkhash_index"].astype(int), strict=True):
        assert bytes(clkhash[index]) == by_token[token]
    report = json.loads((out / "report" / "quality.json").read_text())
    dob = next(f for f in report["features"] if f["feature"] == "dob")
    assert dob["invalid_made_missing"] == 1 and dob["invalid_reasons"] == {"impossible_date": 1}
    phone = next(f for f in report["features"] if f["feature"] == "phone")
    assert phone["missing_in_input"] == 2
    # nothing identifying in what goes to the hub or into the report
    for path in [*(out / "submission").iterdir(), *(out / "report").iterdir()]:
        content = path.read_bytes()
        for value in VALUES:
            assert value.encode() not in content, (path.name, value)


def test_same_person_two_spellings_gets_similar_encodings(
    tmp_path: Path, secret_file: Path
) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    header = "patient_id,First Name,LAST_NAME,Birth Date,Gender,Zip Code,Phone\n"
    a.write_text(
        header
        + "1,JOSÉ,Garcia Lopez,03/14/1987,F,02134,6175552368\n2,Ann,Lee,01/02/1960,F,90210,\n"
    )
    b.write_text(header + "9,Jose,García-López,03/14/1987,female,02134-0000,617-555-2368\n")
    for src, out in ((a, "oa"), (b, "ob")):
        assert invoke(encode_args(secret_file, src, tmp_path / out))[0].exit_code == 0
    import numpy as np

    sa = read_submission(tmp_path / "oa" / "submission")
    sb = read_submission(tmp_path / "ob" / "submission")
    bits_a = np.unpackbits(sa.clks, axis=1).astype(bool)
    bits_b = np.unpackbits(sb.clks, axis=1).astype(bool)[0]
    dice = 2 * (bits_a & bits_b).sum(1) / (bits_a.sum(1) + bits_b.sum())
    tokens = pd.read_csv(tmp_path / "oa" / "private" / "row-tokens.csv", dtype=str)
    jose = sa.row_tokens.index(tokens.loc[tokens.record_id == "1", "row_token"].item())
    assert dice[jose] == 1.0  # normalization made both spellings identical
    assert dice[1 - jose] < 0.6


def test_parquet_input_and_two_workers_give_the_same_clks(
    tmp_path: Path, secret_file: Path, person_csv: Path
) -> None:
    frame = pd.read_csv(person_csv, dtype=str, keep_default_na=False)
    frame = pd.concat([frame] * 40, ignore_index=True)
    frame["patient_id"] = [f"p{i}" for i in range(len(frame))]
    frame.to_parquet(tmp_path / "clinic.parquet")
    frame.to_csv(tmp_path / "big.csv", index=False)
    r1, t1 = invoke(
        encode_args(
            secret_file, tmp_path / "clinic.parquet", tmp_path / "o1", "--format", "clkhash-json"
        )
    )
    r2, t2 = invoke(
        encode_args(
            secret_file,
            tmp_path / "big.csv",
            tmp_path / "o2",
            "--format",
            "clkhash-json",
            "--workers",
            "2",
            "--chunk-size",
            "100",
        )
    )
    assert r1.exit_code == 0, t1
    assert r2.exit_code == 0, t2
    c1 = read_clkhash_json(tmp_path / "o1" / "submission" / "clks.clkhash.json")
    c2 = read_clkhash_json(tmp_path / "o2" / "submission" / "clks.clkhash.json")
    assert (c1 == c2).all() and len(c1) == 200


def test_consent_column_keeps_non_consenting_records_out(
    tmp_path: Path, secret_file: Path, person_csv: Path
) -> None:
    frame = pd.read_csv(person_csv, dtype=str, keep_default_na=False)
    frame["consent"] = ["yes", "no", "", "Y", "maybe"]
    frame.to_csv(tmp_path / "c.csv", index=False)
    result, text = invoke(
        encode_args(secret_file, tmp_path / "c.csv", tmp_path / "o", "--consent-column", "consent")
    )
    assert result.exit_code == 0, text
    assert "3 kept out for lack of consent" in text
    tokens = pd.read_csv(tmp_path / "o" / "private" / "row-tokens.csv", dtype=str)
    assert sorted(tokens["record_id"]) == ["p1", "p4"]
    assert read_submission(tmp_path / "o" / "submission").manifest["record_count"] == 2


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


HEADER = b"patient_id,First Name,LAST_NAME,Birth Date,Gender,Zip Code,Phone\n"


@pytest.mark.parametrize(
    ("name", "content", "extra", "expected"),
    [
        ("empty", b"", [], "is empty"),
        ("header-only", HEADER, [], "no records"),
        ("missing-column", b"patient_id,First Name,LAST_NAME\np1,Jose,Garcia\n", [], "no column"),
        (
            "malformed",
            HEADER + b"p1,Jose,Garcia,03/14/1987,F,02134,555,EXTRA,FIELDS\n",
            [],
            "line 2",
        ),
        ("unclosed-quote", HEADER + b'p1,"Jose,Garcia,03/14/1987,F,02134,555\n', [], "well-formed"),
        (
            "latin1",
            HEADER + "p1,José,García,03/14/1987,F,02134,\n".encode("latin-1"),
            [],
            "--encoding",
        ),
        (
            "utf16",
            ("\ufeff" + HEADER.decode() + "p1,José,García,03/14/1987,F,02134,\n").encode(
                "utf-16-le"
            ),
            [],
            "utf-16",
        ),
        (
            "unmapped",
            HEADER + b"p1,Jose,Garcia,03/14/1987,F,02134,\n",
            ["--map", "nickname=First Name"],
            "does not have",
        ),
        (
            "bad-date-order",
            HEADER + b"p1,Jose,Garcia,03/14/1987,F,02134,\n",
            ["--date-order", "XYZ"],
            "MDY",
        ),
        (
            "bad-agency",
            HEADER + b"p1,Jose,Garcia,03/14/1987,F,02134,\n",
            ["--agency", "../etc"],
            "agency name",
        ),
    ],
)
def test_bad_input_is_refused_clearly(
    tmp_path: Path, secret_file: Path, name: str, content: bytes, extra: list[str], expected: str
) -> None:
    data = _write(tmp_path / f"{name}.csv", content)
    out = tmp_path / "out"
    result, text = invoke([*encode_args(secret_file, data, out), *extra])
    assert result.exit_code == 2, text
    assert expected in text
    assert "Traceback" not in text
    for value in ("Jose", "José", "Garcia", "García", "03/14/1987"):
        assert value not in text
    assert not out.exists()
    assert not any(p.name.startswith(".out.partial") for p in tmp_path.iterdir())


def test_ambiguous_dates_need_a_date_order(
    tmp_path: Path, secret_file: Path, person_csv: Path
) -> None:
    args = [
        a
        for a in encode_args(secret_file, person_csv, tmp_path / "o")
        if a not in ("--date-order", "MDY")
    ]
    result, text = invoke(args)
    assert result.exit_code == 2
    assert "--date-order" in text and "dob" in text
    assert not (tmp_path / "o").exists()


def test_unmapped_feature_must_be_mapped_or_declared_absent(
    tmp_path: Path, secret_file: Path, person_csv: Path
) -> None:
    args = encode_args(secret_file, person_csv, tmp_path / "o")
    i = args.index("phone=Phone")
    del args[i - 1 : i + 1]
    result, text = invoke(args)
    assert result.exit_code == 2 and "phone" in text and "--absent" in text
    result, text = invoke([*args, "--absent", "phone"])
    assert result.exit_code == 0, text
    assert "phone: only" not in text  # a feature declared absent is not a data-quality problem


def test_refuses_world_readable_secret_and_existing_output(
    tmp_path: Path, secret_file: Path, person_csv: Path
) -> None:
    os.chmod(secret_file, 0o644)
    result, text = invoke(encode_args(secret_file, person_csv, tmp_path / "o"))
    assert result.exit_code == 2 and "chmod 600" in text
    os.chmod(secret_file, 0o600)
    assert invoke(encode_args(secret_file, person_csv, tmp_path / "o"))[0].exit_code == 0
    result, text = invoke(encode_args(secret_file, person_csv, tmp_path / "o"))
    assert result.exit_code == 2 and "--force" in text
    assert (
        invoke([*encode_args(secret_file, person_csv, tmp_path / "o"), "--force"])[0].exit_code == 0
    )


def test_secret_never_appears_in_output_or_files(
    tmp_path: Path, secret_file: Path, person_csv: Path
) -> None:
    secret = secret_file.read_text().strip()
    result, text = invoke(
        encode_args(secret_file, person_csv, tmp_path / "o", "--report", "--format", "clkhash-json")
    )
    assert result.exit_code == 0
    import base64

    forms = [secret, secret.upper(), base64.b64encode(secret.encode()).decode(), secret[:16]]
    assert not any(f in text for f in forms)
    for path in (tmp_path / "o").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(f.encode() in content for f in forms), path


def test_cli_runs_as_an_installed_command(
    tmp_path: Path, secret_file: Path, person_csv: Path
) -> None:
    exe = Path(sys.executable).parent / "htlink"
    proc = subprocess.run(
        [str(exe), *encode_args(secret_file, person_csv, tmp_path / "o")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Encoded 5 records" in proc.stdout
    proc = subprocess.run(
        [str(exe), "schema", "check", str(PERSON_SCHEMA)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and "sha256:" in proc.stdout


def test_full_name_column_via_mapping_file(tmp_path: Path, secret_file: Path) -> None:
    data = tmp_path / "cw.csv"
    data.write_text(
        "report_id,child_name,birth_date,gender,zip\n"
        'r1,"García López, María",2009-05-01,female,02134\n'
        "r2,Nguyen,2010-01-02,male,02134\n"
    )
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "id_column: report_id\n"
        "columns:\n"
        "  given_name: {column: child_name, part: given, name_format: last_comma_first}\n"
        "  surname: {column: child_name, part: surname, name_format: last_comma_first}\n"
        "  dob: birth_date\n  sex: gender\n  zip: zip\n"
        "absent: [phone]\n"
    )
    out = tmp_path / "o"
    result, text = invoke([
        "encode", "--schema", str(PERSON_SCHEMA), "--secret", str(secret_file),
        "--input", str(data), "--agency", "cw", "--out", str(out),
        "--map-file", str(mapping), "--report",
    ])  # fmt: skip
    assert result.exit_code == 0, text
    report = json.loads((out / "report" / "quality.json").read_text())
    given = next(f for f in report["features"] if f["feature"] == "given_name")
    assert given["invalid_reasons"] == {"name_format_mismatch": 1}
    assert given["present"] == 1


def _with_schema(args: list[str], schema: Path) -> list[str]:
    args = list(args)
    args[args.index("--schema") + 1] = str(schema)
    return args


def test_encode_with_native_hardening(tmp_path: Path, secret_file: Path, person_csv: Path) -> None:
    schemas = PERSON_SCHEMA.parent
    clks: dict[str, list[list[bytes]]] = {}
    for name in ("person-v1-salted", "person-v1-balanced-blip"):
        clks[name] = []
        for run in (1, 2):
            out = tmp_path / f"{name}-{run}"
            args = _with_schema(encode_args(secret_file, person_csv, out), schemas / f"{name}.json")
            result, text = invoke(args)
            assert result.exit_code == 0, text
            sub = read_submission(out / "submission")
            length = 2048 if "balanced" in name else 1024
            assert sub.manifest["bit_length"] == length
            assert sub.clks.shape == (5, length // 8)
            tokens = pd.read_csv(out / "private" / "row-tokens.csv", dtype=str)
            by_id = dict(zip(tokens["row_token"], tokens["record_id"], strict=True))
            order = sorted(range(5), key=lambda i: by_id[sub.row_tokens[i]])
            clks[name].append([bytes(sub.clks[i]) for i in order])
        if "blip" in name:
            assert "not reproducible" in text
    assert clks["person-v1-salted"][0] == clks["person-v1-salted"][1]  # deterministic
    assert clks["person-v1-balanced-blip"][0] != clks["person-v1-balanced-blip"][1]  # BLIP


def test_encode_warns_loudly_about_a_single_feature_schema(
    tmp_path: Path, secret_file: Path, person_csv: Path
) -> None:
    raw = json.loads(PERSON_SCHEMA.read_text())
    raw["features"] = [
        f if f["identifier"] == "surname" else {"identifier": f["identifier"], "ignored": True}
        for f in raw["features"]
    ]
    raw["x-htlink"]["features"] = {"surname": raw["x-htlink"]["features"]["surname"]}
    schema = tmp_path / "surname-only.json"
    schema.write_text(json.dumps(raw))
    args = _with_schema(encode_args(secret_file, person_csv, tmp_path / "o"), schema)
    _result, text = invoke(args)
    assert "SECURITY WARNING" in text
    assert 'only one feature ("surname") is hashed' in text
