"""A receiver detects every alteration of a submission; round trips are exact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htlink.crypto.signing import generate_agency_keypair, load_private_key, load_public_key
from htlink.encode.submission import (
    ENCODINGS_FILE,
    MANIFEST_FILE,
    build_manifest,
    file_sha256,
    read_clkhash_json,
    read_submission,
    sign_manifest,
    write_clkhash_json,
    write_encodings,
)
from htlink.errors import SubmissionError


def make_submission(
    folder: Path, keys: Path, n: int = 50, width: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True)
    tokens = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    clks = rng.integers(0, 256, size=(n, width), dtype=np.uint8)
    write_encodings(folder / ENCODINGS_FILE, tokens, clks)
    manifest = build_manifest(
        agency="a",
        schema_fingerprint="sha256:" + "0" * 64,
        record_count=n,
        bit_length=width * 8,
        content_hash=file_sha256(folder / ENCODINGS_FILE),
    )
    manifest = sign_manifest(manifest, load_private_key(keys / "a.key"))
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    return tokens, clks


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    generate_agency_keypair(tmp_path / "a.key", tmp_path / "a.pub")
    generate_agency_keypair(tmp_path / "b.key", tmp_path / "b.pub")
    return tmp_path


def test_round_trip(tmp_path: Path, keys: Path) -> None:
    tokens, clks = make_submission(tmp_path / "s", keys)
    sub = read_submission(tmp_path / "s", public_key=load_public_key(keys / "a.pub"))
    assert sub.row_tokens == [t.tobytes().hex() for t in tokens]
    assert (sub.clks == clks).all()


def edit_manifest(folder: Path, **changes: object) -> None:
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest.update(changes)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda f: edit_manifest(f, record_count=49), "signature"),
        (lambda f: edit_manifest(f, agency="b"), "signature"),
        (lambda f: edit_manifest(f, signature=None), "not signed"),
        (
            lambda f: (f / ENCODINGS_FILE).write_bytes((f / ENCODINGS_FILE).read_bytes()[:-100]),
            "content hash",
        ),
        (lambda f: (f / ENCODINGS_FILE).unlink(), "no encodings"),
        (lambda f: (f / MANIFEST_FILE).write_text("{"), "not valid JSON"),
        (lambda f: (f / MANIFEST_FILE).unlink(), "no manifest"),
    ],
)
def test_tampering_is_detected(tmp_path: Path, keys: Path, tamper, message: str) -> None:
    make_submission(tmp_path / "s", keys)
    tamper(tmp_path / "s")
    with pytest.raises(SubmissionError, match=message):
        read_submission(tmp_path / "s", public_key=load_public_key(keys / "a.pub"))


def test_wrong_agency_key_is_detected(tmp_path: Path, keys: Path) -> None:
    make_submission(tmp_path / "s", keys)
    with pytest.raises(SubmissionError, match="signature"):
        read_submission(tmp_path / "s", public_key=load_public_key(keys / "b.pub"))


def test_count_and_width_must_match_manifest_even_when_resigned(tmp_path: Path, keys: Path) -> None:
    make_submission(tmp_path / "s", keys)
    shutil.copytree(tmp_path / "s", tmp_path / "t")
    manifest = json.loads((tmp_path / "t" / MANIFEST_FILE).read_text())
    manifest.pop("signature")
    manifest["record_count"] = 51
    manifest = sign_manifest(manifest, load_private_key(keys / "a.key"))
    (tmp_path / "t" / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(SubmissionError, match="holds 50 records"):
        read_submission(tmp_path / "t", public_key=load_public_key(keys / "a.pub"))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 40), width=st.sampled_from([1, 64, 128]))
def test_clkhash_json_round_trip(
    tmp_path_factory: pytest.TempPathFactory, n: int, width: int
) -> None:
    path = tmp_path_factory.mktemp("c") / "clks.json"
    clks = np.random.default_rng(n).integers(0, 256, size=(n, width), dtype=np.uint8)
    write_clkhash_json(path, clks)
    assert (read_clkhash_json(path, width * 8) == clks).all()
    with pytest.raises(SubmissionError):
        read_clkhash_json(path, width * 8 + 8)


def test_distinct_counter_is_exact_then_a_close_estimate() -> None:
    import pandas as pd

    from htlink.encode.quality import _DistinctCounter

    exact = _DistinctCounter()
    exact.add(pd.Series(["a", "b", "a", None, "c", "a"], dtype=object))
    assert exact.result() == (3, 3) and not exact.estimated
    sketch = _DistinctCounter(max_exact=1000, sketch_size=4096)
    for chunk in range(20):
        values = [f"v{chunk}-{i}" for i in range(5000)] + ["placeholder"] * 500
        sketch.add(pd.Series(values, dtype=object))
    distinct, top = sketch.result()
    assert sketch.estimated
    assert abs(distinct - 100_001) / 100_001 < 0.05
    assert top == 10_000
