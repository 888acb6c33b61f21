"""Field-level encodings: one Bloom filter per feature beside the CLK, signed and checked."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import PERSON_MAP, PERSON_SCHEMA
from tests.unit.encode.test_fast_matches_reference import BASE, SECRET
from typer.testing import CliRunner

from htlink.cli.main import app
from htlink.crypto.signing import generate_agency_keypair, load_private_key, load_public_key
from htlink.encode.bloom import ClkEncoder
from htlink.encode.submission import (
    ENCODINGS_FILE,
    MANIFEST_FILE,
    build_manifest,
    file_sha256,
    read_submission,
    sign_manifest,
    write_encodings,
)
from htlink.errors import SubmissionError
from htlink.schema import parse_schema

NAMES = ["name", "code", "tri", "whole", "num"]
texts = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)
values = st.one_of(st.none(), texts, st.sampled_from(["", "ab", "abc", "12", "-7", "x" * 7]))
records = st.lists(st.tuples(values, values, values, values, values), min_size=1, max_size=20)


def schema_with(folds: int = 0, missing_value: bool = True):  # type: ignore[no-untyped-def]
    raw = copy.deepcopy(BASE)
    raw["clkConfig"]["xor_folds"] = folds
    if not missing_value:
        raw["features"][2]["hashing"].pop("missingValue")
    return parse_schema(raw)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records, folds=st.integers(0, 2))
def test_field_level_keeps_the_clk_and_adds_one_filter_per_feature(
    rows: list[tuple[str | None, ...]], folds: int
) -> None:
    schema = schema_with(folds)
    columns = {n: [r[i] for r in rows] for i, n in enumerate(NAMES)}
    plain = ClkEncoder(schema, SECRET).encode(columns)
    chunk = ClkEncoder(schema, SECRET, field_level=True).encode(columns)
    assert plain.fields is None
    assert (chunk.clks == plain.clks).all()  # the CLK is byte-for-byte unchanged
    assert chunk.fields is not None and list(chunk.fields) == NAMES
    width = (schema.clk.l + 7) // 8
    for name, filters in chunk.fields.items():
        assert filters.shape == (len(rows), width) and filters.dtype == np.uint8
        # each feature's filter is that feature's own encoding (same keys and positions)
        alone = ClkEncoder(schema_only(schema, name), SECRET).encode({name: columns[name]})
        ok = chunk.fields[name].any(axis=1)
        assert (filters[ok] == alone.clks[ok]).all()


def schema_only(schema, name: str):  # type: ignore[no-untyped-def]
    """The same schema with every other feature ignored (keys stay per feature index)."""
    raw = copy.deepcopy(BASE)
    raw["clkConfig"]["xor_folds"] = schema.clk.xor_folds
    raw["features"] = [
        f if f["identifier"] == name else {"identifier": f["identifier"], "ignored": True}
        for f in raw["features"]
    ]
    return parse_schema(raw)


def test_without_folding_the_filters_or_to_the_clk() -> None:
    schema = schema_with(0, missing_value=False)
    columns = {"name": ["ann", "bo"], "code": ["1", "22"], "tri": ["abc", "x"]}
    columns |= {"whole": ["a", "b"], "num": ["1", "2"]}
    chunk = ClkEncoder(schema, SECRET, field_level=True).encode(columns)
    assert chunk.fields is not None
    combined = np.bitwise_or.reduce(np.stack(list(chunk.fields.values())), axis=0)
    assert (combined == chunk.clks).all()


def test_missing_and_invalid_values_are_empty_filters_even_with_a_replacement() -> None:
    schema = schema_with(0)
    columns = {
        "name": ["ann", None, ""],
        "code": ["1", None, ""],  # missingValue: "" is hashed as "none" into the CLK
        "tri": ["abc", "abc", "abc"],
        "whole": ["short", "far too long", "ok"],  # maxLength 6: invalid
        "num": ["12", "not a number", "3"],
    }
    chunk = ClkEncoder(schema, SECRET, field_level=True).encode(columns)
    assert chunk.fields is not None
    present = {name: chunk.fields[name].any(axis=1).tolist() for name in NAMES}
    assert present["name"] == [True, False, False]
    assert present["code"] == [True, False, False]
    assert present["whole"] == [True, False, True]
    assert present["num"] == [True, False, True]
    # the CLK itself still carries the replacement bits for the missing code
    without_code = ClkEncoder(schema_only(schema, "code"), SECRET).encode({"code": [None]})
    assert without_code.clks.any()


# --------------------------------------------------------------------------- submission files


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    generate_agency_keypair(tmp_path / "a.key", tmp_path / "a.pub")
    return tmp_path


def make_submission(
    folder: Path, keys: Path, n: int = 30, width: int = 16, features: tuple[str, ...] = ("x", "y")
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True)
    tokens = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    clks = rng.integers(0, 256, size=(n, width), dtype=np.uint8)
    fields = {f: rng.integers(0, 256, size=(n, width), dtype=np.uint8) for f in features}
    fields[features[0]][:5] = 0  # missing values
    write_encodings(folder / ENCODINGS_FILE, tokens, clks, batch_rows=7, fields=fields)
    manifest = build_manifest(
        agency="a",
        schema_fingerprint="sha256:" + "0" * 64,
        record_count=n,
        bit_length=width * 8,
        content_hash=file_sha256(folder / ENCODINGS_FILE),
        field_encodings={f: width * 8 for f in features},
    )
    sign(folder, manifest, keys)
    return clks, fields


def sign(folder: Path, manifest: dict, keys: Path) -> None:
    manifest = {k: v for k, v in manifest.items() if k != "signature"}
    manifest = sign_manifest(manifest, load_private_key(keys / "a.key"))
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))


def test_round_trip_with_field_encodings(tmp_path: Path, keys: Path) -> None:
    clks, fields = make_submission(tmp_path / "s", keys)
    sub = read_submission(tmp_path / "s", public_key=load_public_key(keys / "a.pub"))
    assert (sub.clks == clks).all()
    assert sub.fields is not None and list(sub.fields) == ["x", "y"]
    for name, rows in fields.items():
        assert (sub.fields[name] == rows).all()
    assert not sub.fields["x"][:5].any()
    assert sub.manifest["field_encodings"] == {"x": 128, "y": 128}


def test_clk_only_submissions_are_read_as_before(tmp_path: Path, keys: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 256, size=(4, 16), dtype=np.uint8)
    clks = rng.integers(0, 256, size=(4, 16), dtype=np.uint8)
    write_encodings(folder / ENCODINGS_FILE, tokens, clks)
    manifest = build_manifest(
        agency="a",
        schema_fingerprint="sha256:" + "0" * 64,
        record_count=4,
        bit_length=128,
        content_hash=file_sha256(folder / ENCODINGS_FILE),
    )
    assert "field_encodings" not in manifest
    assert pq.read_schema(folder / ENCODINGS_FILE).names == ["row_token", "clk"]
    sign(folder, manifest, keys)
    sub = read_submission(folder, public_key=load_public_key(keys / "a.pub"))
    assert sub.fields is None and (sub.clks == clks).all()


def rewrite_table(folder: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Rewrite encodings.parquet through ``change`` and re-hash it in the manifest."""
    table = change(pq.read_table(folder / ENCODINGS_FILE))
    pq.write_table(table, folder / ENCODINGS_FILE)
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["content_hash"] = file_sha256(folder / ENCODINGS_FILE)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))


def resigned(folder: Path, keys: Path, **changes: object) -> None:
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    for key, value in changes.items():
        if value is None:
            manifest.pop(key, None)
        else:
            manifest[key] = value
    sign(folder, manifest, keys)


def flip_field_byte(table: pa.Table) -> pa.Table:
    rows = np.frombuffer(table.column("f_y").combine_chunks().buffers()[1], np.uint8).copy()
    rows[0] ^= 1
    column = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), table.num_rows, [None, pa.py_buffer(rows.tobytes())]
    )
    return table.set_column(table.schema.get_field_index("f_y"), "f_y", column)


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        # the manifest's announcement is covered by the signature
        (lambda f, k: edit(f, field_encodings={"x": 128}), "signature"),
        # a changed field filter changes the content hash
        (
            lambda f, k: (f / ENCODINGS_FILE).write_bytes(
                (f / ENCODINGS_FILE).read_bytes().replace(b"f_y", b"f_z")
            ),
            "content hash",
        ),
        # ... and even when the hash is recomputed, only a re-signed manifest could hide it
        (lambda f, k: rewrite_table(f, flip_field_byte), "signature"),
        # re-signed, but the columns disagree with the manifest
        (lambda f, k: resigned(f, k, field_encodings={"x": 128}), "field-level"),
        (lambda f, k: resigned(f, k, field_encodings={"x": 128, "y": 128, "z": 128}), "field"),
        (lambda f, k: resigned(f, k, field_encodings={"x": 64, "y": 64}), "field_encodings"),
        (lambda f, k: resigned(f, k, field_encodings={"x": 128, "y": "128"}), "field_encodings"),
        (lambda f, k: resigned(f, k, field_encodings=[]), "field_encodings"),
        (lambda f, k: resigned(f, k, field_encodings=None), "field-level"),
        (
            lambda f, k: (
                rewrite_table(f, lambda t: t.drop_columns(["f_y"])),
                resigned(f, k),
            ),
            "field-level",
        ),
    ],
)
def test_field_tampering_is_detected(tmp_path: Path, keys: Path, tamper, message: str) -> None:
    make_submission(tmp_path / "s", keys)
    tamper(tmp_path / "s", keys)
    with pytest.raises(SubmissionError, match=message):
        read_submission(tmp_path / "s", public_key=load_public_key(keys / "a.pub"))


def edit(folder: Path, **changes: object) -> None:
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest.update(changes)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))


def test_field_error_messages_hold_no_encoding_bytes(tmp_path: Path, keys: Path) -> None:
    make_submission(tmp_path / "s", keys)
    resigned(tmp_path / "s", keys, field_encodings={"x": 128})
    with pytest.raises(SubmissionError) as info:
        read_submission(tmp_path / "s")
    # names the problem, never encoding bytes or row tokens
    assert "field-level" in str(info.value)
    assert not re.search(r"[0-9a-f]{16}", str(info.value))


# --------------------------------------------------------------------------- htlink encode


runner = CliRunner()


@pytest.mark.parametrize("workers", [1, 2])
def test_cli_field_level_writes_signed_field_encodings(
    tmp_path: Path, secret_file: Path, person_csv: Path, workers: int
) -> None:
    generate_agency_keypair(tmp_path / "clinic.key", tmp_path / "clinic.pub")
    args = ["encode", "--schema", str(PERSON_SCHEMA), "--secret", str(secret_file)]
    args += ["--input", str(person_csv), "--agency", "clinic", "--id-column", "patient_id"]
    args += ["--date-order", "MDY", *PERSON_MAP, "--signing-key", str(tmp_path / "clinic.key")]
    plain = runner.invoke(app, [*args, "--out", str(tmp_path / "plain")])
    assert plain.exit_code == 0, plain.output
    result = runner.invoke(
        app,
        [*args, "--out", str(tmp_path / "fl"), "--field-level", "--workers", str(workers)],
    )
    assert result.exit_code == 0, result.output
    assert "Field-level encodings included" in result.output
    pub = load_public_key(tmp_path / "clinic.pub")
    sub = read_submission(tmp_path / "fl" / "submission", public_key=pub)
    features = ["given_name", "surname", "dob", "sex", "zip", "phone"]
    assert sub.fields is not None and sorted(sub.fields) == sorted(features)
    assert sub.manifest["field_encodings"] == dict.fromkeys(features, 1024)
    # same secret, same records: the CLKs are those of a plain run (the order is shuffled)
    base = read_submission(tmp_path / "plain" / "submission", public_key=pub)
    assert base.fields is None
    assert sorted(map(bytes, sub.clks)) == sorted(map(bytes, base.clks))
    # record p2's ... p5 have no phone, p3 no ZIP and p4 an impossible date: empty filters
    tokens = dict(
        line.split(",")[:2]
        for line in (tmp_path / "fl" / "private" / "row-tokens.csv").read_text().splitlines()[1:]
    )
    row_of = {tokens[t]: k for k, t in enumerate(sub.row_tokens)}
    assert not sub.fields["phone"][row_of["p3"]].any()
    assert not sub.fields["phone"][row_of["p5"]].any()
    assert not sub.fields["zip"][row_of["p3"]].any()
    assert not sub.fields["dob"][row_of["p4"]].any()
    assert sub.fields["dob"][row_of["p1"]].any()
    # each record's filters together are its CLK (person-v1 has no folding or replacements)
    combined = np.bitwise_or.reduce(np.stack([sub.fields[f] for f in features]), axis=0)
    assert (combined == sub.clks).all()
    shutil.rmtree(tmp_path / "plain")
