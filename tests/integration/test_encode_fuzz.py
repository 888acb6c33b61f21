"""Whatever bytes an agency's file holds, `htlink encode` either encodes it or refuses it
cleanly: exit status 0 or 2, no traceback, no half-written output."""

from __future__ import annotations

import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import PERSON_MAP, PERSON_SCHEMA
from typer.testing import CliRunner

from htlink.cli.main import app

HEADER = b"patient_id,First Name,LAST_NAME,Birth Date,Gender,Zip Code,Phone\n"
cell = st.one_of(
    st.text(max_size=12).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=8),
    st.sampled_from([b'"', b",", b"\n", b"\r\n", b'""', b"03/14/1987", b"2001-02-30", b"\xff"]),
)
body = st.lists(st.lists(cell, min_size=0, max_size=9).map(lambda c: b",".join(c)), max_size=6)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=body, with_header=st.booleans())
def test_any_file_is_encoded_or_refused_cleanly(
    tmp_path: Path, secret_file: Path, lines: list[bytes], with_header: bool
) -> None:
    data = tmp_path / "in.csv"
    data.write_bytes((HEADER if with_header else b"") + b"\n".join(lines))
    out = tmp_path / f"out-{uuid.uuid4().hex}"
    args = [
        "encode", "--schema", str(PERSON_SCHEMA), "--secret", str(secret_file),
        "--input", str(data), "--agency", "fuzz", "--out", str(out),
        "--date-order", "MDY", *PERSON_MAP,
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code in (0, 2), text
    assert "Traceback" not in text and "Internal error" not in text
    if result.exit_code == 2:
        assert not out.exists()
    else:
        assert (out / "submission" / "manifest.json").is_file()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
