"""Malformed uploads, generated: always a 4xx with a JSON code, the hub stays up, nothing kept.

Each test starts one live hub (SQLite and PostgreSQL), makes one valid signed submission,
and lets hypothesis mutate it -- the manifest header, the manifest's fields (with and
without re-signing), the body (unsigned and re-signed, so the Parquet checks are reached)
and the token.  After every example:

* the answer is a 4xx with ``{"error": {"code", ...}}`` (the expected code where the
  mutation decides it) whose text holds no row token and no CLK of the body;
* the hub still answers ``GET /whoami``;
* the database is as before apart from audit entries, all with outcome "refused": the
  status API, and the tables read directly with SQLAlchemy; no new file under
  ``projects/``, and ``staging/`` is empty.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from sqlalchemy import select

from htlink.encode.submission import arrow_schema, sign_manifest
from htlink.hub.database import Database
from htlink.hub.models import AuditEntry, Project, ProjectAgency, Run, SubmissionRecord, Token
from tests.hub.hubtools import (
    Agency,
    LiveHub,
    make_agency,
    person_schema,
    population,
    start_live_hub,
    write_submission,
)

PROJECT = "fuzz"
ROWS = 200
MAX_RECORDS = 100_000
MAX_UPLOAD = 1 << 20  # small, so an over-long body is cheap to send
FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MANIFEST_FIELDS = (
    "format",
    "format_version",
    "agency",
    "schema_fingerprint",
    "record_count",
    "bit_length",
    "created",
    "encodings_file",
    "content_hash",
    "htlink_version",
)
REQUIRED = ("agency", "schema_fingerprint", "record_count", "bit_length", "content_hash")
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


# -- the hub and what must not change ----------------------------------------------------
@pytest.fixture
def fuzz_hub(tmp_path: Path, db_url: str | None) -> Iterator[LiveHub]:
    hub = start_live_hub(
        tmp_path / "hubdata", db_url, max_upload_bytes=MAX_UPLOAD, max_records=MAX_RECORDS
    )
    try:
        yield hub
    finally:
        hub.stop()


@dataclass
class Scene:
    hub: LiveHub
    agencies: dict[str, Agency]
    tokens: dict[str, str]
    folder: Path
    manifest: dict[str, Any]
    body: bytes
    row_tokens: set[str]
    clk_texts: str
    db: Database
    baseline: dict[str, Any] = field(default_factory=dict)
    http: httpx.Client | None = None

    # requests ----------------------------------------------------------------------
    def put(
        self,
        body: bytes,
        header: str | None,
        token: str | None = None,
        *,
        project: str = PROJECT,
        agency: str = "clinic",
    ) -> httpx.Response:
        headers = {"Content-Type": "application/octet-stream"}
        if header is not None:
            headers["X-Htlink-Manifest"] = header
        token = self.tokens["upload"] if token is None else token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.put(
            f"/api/v1/projects/{project}/submissions/{agency}", content=body, headers=headers
        )

    def upload(self, manifest: dict[str, Any], body: bytes, **kw: Any) -> httpx.Response:
        return self.put(body, b64(manifest), **kw)

    # what must hold after every refused upload ---------------------------------------
    def snapshot(self) -> dict[str, Any]:
        root = self.hub.data_dir
        files = sorted(
            (str(p.relative_to(root)), p.stat().st_size) for p in (root / "projects").rglob("*")
        )
        tables = {}
        with self.db.engine.connect() as conn:
            for model in (Project, ProjectAgency, Token, SubmissionRecord, Run):
                table = model.__table__
                rows = conn.execute(select(table)).all()
                tables[table.name] = sorted(tuple(map(repr, r)) for r in rows)
            last = conn.execute(select(AuditEntry.seq).order_by(AuditEntry.seq.desc())).first()
        status = self.http.get(
            f"/api/v1/projects/{PROJECT}/status",
            headers={"Authorization": f"Bearer {self.tokens['admin']}"},
        )
        assert status.status_code == 200
        return {
            "files": files,
            "tables": tables,
            "status": status.json(),
            "audit_seq": last[0] if last else 0,
        }

    def check_refused(
        self,
        response: httpx.Response,
        code: str | set[str] | None = None,
        status: int | None = None,
    ) -> str:
        assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
        error = response.json()["error"]
        assert set(error) == {"code", "message", "hint"}
        if code is not None:
            codes = {code} if isinstance(code, str) else code
            assert error["code"] in codes, (error, codes)
        if status is not None:
            assert response.status_code == status, (response.status_code, error)
        self.check_no_data(response.text)
        note(f"{response.status_code} {error['code']}")
        self.check_unchanged()
        return error["code"]

    def check_no_data(self, text: str) -> None:
        """No row token or CLK (base64 or hex) of the body in ``text``."""
        for hexrun in re.findall(r"[0-9a-fA-F]{32,}", text):
            low = hexrun.lower()
            assert not any(low[i : i + 32] in self.row_tokens for i in range(len(low) - 31))
            assert low[:32] not in self.clk_texts
        for run in re.findall(r"[A-Za-z0-9+/_-]{16,}", text):
            assert run[:16] not in self.clk_texts, run

    def check_unchanged(self) -> None:
        who = self.http.get(
            "/api/v1/whoami", headers={"Authorization": f"Bearer {self.tokens['admin']}"}
        )
        assert who.status_code == 200 and who.json()["role"] == "admin"
        assert list((self.hub.data_dir / "staging").iterdir()) == []
        now = self.snapshot()
        for key in ("files", "tables", "status"):
            assert now[key] == self.baseline[key], key
        with self.db.session() as s:
            outcomes = set(
                s.scalars(
                    select(AuditEntry.outcome).where(AuditEntry.seq > self.baseline["audit_seq"])
                )
            )
            details = list(
                s.scalars(
                    select(AuditEntry.detail_json).where(
                        AuditEntry.seq > self.baseline["audit_seq"]
                    )
                )
            )
        assert outcomes <= {"refused"}, outcomes
        for detail in details:
            self.check_no_data(detail)

    def finish(self) -> None:
        """The hub's log holds no body data, and a valid upload is still accepted."""
        log = self.hub.data_dir / "logs" / "hub.log"
        if log.exists():
            self.check_no_data(log.read_text(encoding="utf-8", errors="replace"))
        ok = self.upload(self.manifest, self.body)
        assert ok.status_code == 201, ok.text
        assert ok.json()["record_count"] == ROWS


def note(text: str) -> None:
    """A hypothesis event (shown with --hypothesis-show-statistics), if inside an example."""
    try:
        event(text)
    except InvalidArgument:
        pass


def b64(manifest: Any) -> str:
    raw = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def resign(manifest: dict[str, Any], key: Any, **changes: Any) -> dict[str, Any]:
    body = {k: v for k, v in manifest.items() if k != "signature"}
    body.update(changes)
    return sign_manifest(body, key)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def scene(fuzz_hub: LiveHub, tmp_path: Path) -> Iterator[Scene]:
    agencies = {n: make_agency(n) for n in ("clinic", "shelter", "mallory")}
    admin = fuzz_hub.client()
    created = admin.create_project(
        {
            "name": PROJECT,
            "linkage_schema": person_schema().raw,
            "agencies": [
                {"name": a.name, "public_key_pem": a.public_pem}
                for a in (agencies["clinic"], agencies["shelter"])  # mallory is not registered
            ],
            "matching": {"threshold": 0.8},
        }
    )
    spare = admin.issue_token(PROJECT, {"role": "upload", "agency": "clinic", "label": "spare"})
    admin.revoke_token(spare["info"]["id"])
    tokens = {
        "upload": created["tokens"]["clinic"]["upload"],
        "results": created["tokens"]["clinic"]["results"],
        "other_upload": created["tokens"]["shelter"]["upload"],
        "revoked": spare["token"],
        "admin": fuzz_hub.admin_token,
    }
    clks = population(ROWS, seed=3)
    folder = write_submission(tmp_path / "sub", agencies["clinic"], clks, seed=3)
    body = (folder / "encodings.parquet").read_bytes()
    manifest = json.loads((folder / "manifest.json").read_text())
    row_tokens = set(pq.read_table(io.BytesIO(body)).column("row_token").to_pylist())
    clk_texts = "|".join(
        t
        for c in clks
        for t in (
            base64.b64encode(c.tobytes()).decode(),
            base64.urlsafe_b64encode(c.tobytes()).decode(),
            c.tobytes().hex(),
        )
    )
    db = Database(fuzz_hub.database_url)
    s = Scene(fuzz_hub, agencies, tokens, folder, manifest, body, row_tokens, clk_texts, db)
    s.http = fuzz_hub.http()
    s.baseline = s.snapshot()
    try:
        yield s
    finally:
        db.dispose()


# -- 1. the manifest header --------------------------------------------------------------
def header_cases(manifest: dict[str, Any]) -> st.SearchStrategy[tuple[str | None, str, int]]:
    """(header value, expected code, expected status)."""
    printable = st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=300
    )

    def encoded(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    non_object = st.one_of(
        st.lists(json_values, max_size=3), st.integers(), st.text(max_size=20), st.none()
    )
    return st.one_of(
        st.just((None, "manifest_missing", 400)),
        printable.map(lambda t: (t, "manifest_invalid", None)),
        st.binary(min_size=1, max_size=300).map(lambda b: (encoded(b), "manifest_invalid", None)),
        non_object.map(lambda v: (encoded(json.dumps(v).encode()), "manifest_invalid", 400)),
        # not UTF-8, not JSON
        st.binary(max_size=40).map(lambda b: (encoded(b"\xff\xfe" + b), "manifest_invalid", 400)),
        st.sampled_from(["{", '{"format":', "[1,2", "nul", "{'a': 1}"]).map(
            lambda t: (encoded(t.encode()), "manifest_invalid", 400)
        ),
        # nested deeper than json's parser allows (a RecursionError inside the hub)
        st.integers(min_value=1_000, max_value=6_000).map(
            lambda k: (encoded(b"[" * k), "manifest_invalid", 400)
        ),
        # larger than the hub reads: a valid manifest padded past 8 KiB
        st.integers(min_value=8_200, max_value=12_000).map(
            lambda n: (b64({**manifest, "padding": "x" * n})[:n], "manifest_invalid", 400)
        ),
        # a JSON object, but not an htlink manifest
        st.dictionaries(st.text(max_size=10), json_values, max_size=4).map(
            lambda d: (b64(d), "manifest_invalid", 422)
        ),
    )


def test_malformed_manifest_header(scene: Scene) -> None:
    @FUZZ
    @given(case=header_cases(scene.manifest))
    def run(case: tuple[str | None, str, int | None]) -> None:
        header, code, status = case
        scene.check_refused(scene.put(scene.body, header), code, status)

    run()
    scene.finish()


# -- 2. the manifest's fields ------------------------------------------------------------
@st.composite
def manifest_cases(draw: Any, s: Scene) -> tuple[dict[str, Any], str, int | None]:
    """(manifest, expected code, expected status): tampered, or re-signed but wrong."""
    m = copy.deepcopy(s.manifest)
    key = s.agencies["clinic"].key
    kind = draw(
        st.sampled_from(["change", "delete", "add", "signature", "foreign_key", "resigned"])
    )
    if kind == "change":  # a field changed without signing again
        name = draw(st.sampled_from(MANIFEST_FIELDS))
        value = draw(
            json_values.filter(lambda v: canonical(v) != canonical(m[name]))
            | st.integers(min_value=10**6, max_value=10**40)
        )
        m[name] = value
        if name in ("format", "format_version"):
            return m, "manifest_invalid", 422
        return m, "signature_invalid", 422
    if kind == "delete":
        name = draw(st.sampled_from([*MANIFEST_FIELDS, "signature"]))
        del m[name]
        if name in ("format", "format_version", *REQUIRED):
            return m, "manifest_invalid", 422
        if name == "signature":
            return m, "signature_missing", 422
        return m, "signature_invalid", 422
    if kind == "add":
        name = draw(st.text(min_size=1, max_size=12).filter(lambda n: n not in m))
        m[name] = draw(json_values)
        return m, "signature_invalid", 422
    if kind == "signature":
        sig = m["signature"]
        which = draw(st.sampled_from(["value", "algorithm", "replace", "bits"]))
        if which == "value":
            sig["value"] = draw(st.text(max_size=100).filter(lambda v: v != sig["value"]))
        elif which == "algorithm":
            sig["algorithm"] = draw(st.text(max_size=20).filter(lambda v: v != sig["algorithm"]))
        elif which == "bits":  # one bit of the real signature flipped
            raw = bytearray(base64.b64decode(sig["value"]))
            at = draw(st.integers(0, len(raw) * 8 - 1))
            raw[at // 8] ^= 1 << (at % 8)
            sig["value"] = base64.b64encode(bytes(raw)).decode()
        else:
            m["signature"] = draw(json_values.filter(lambda v: v is not None))
        return m, "signature_invalid", 422
    if kind == "foreign_key":  # another agency's key, as itself or claiming to be clinic
        signer = draw(st.sampled_from(["shelter", "mallory"]))
        claim = draw(st.sampled_from(["clinic", signer]))
        return resign(m, s.agencies[signer].key, agency=claim), "signature_invalid", 422
    # signed with the right key, but wrong for this project or this upload
    name = draw(
        st.sampled_from(
            [
                "agency",
                "schema_fingerprint",
                "bit_length",
                "record_count",
                "content_hash",
                "format_version",
            ]
        )
    )
    if name == "agency":
        value = draw(st.text(max_size=30).filter(lambda v: v != "clinic") | json_values)
        if value == "clinic":
            value = "clinic2"
        return resign(m, key, agency=value), "agency_mismatch", 422
    if name == "schema_fingerprint":
        value = draw(
            st.builds(lambda b: "sha256:" + b.hex(), st.binary(min_size=32, max_size=32))
            | json_values
        )
        if value == m["schema_fingerprint"]:
            value = "sha256:" + "0" * 64
        return resign(m, key, schema_fingerprint=value), "schema_mismatch", 422
    if name == "bit_length":
        value = draw(
            st.integers(min_value=-(10**20), max_value=10**20).filter(lambda v: v != 1024)
            | st.sampled_from([1024.0, "1024", True, [1024], 512, 2048, 0])
        )
        return resign(m, key, bit_length=value), "bit_length_mismatch", 422
    if name == "record_count":
        value = draw(
            st.integers(min_value=MAX_RECORDS + 1, max_value=10**40)
            | st.integers(min_value=-(10**12), max_value=0)
            | st.integers(min_value=1, max_value=MAX_RECORDS).filter(lambda v: v != ROWS)
            | st.sampled_from([200.0, "200", True, None, [200], 1e300])
        )
        signed = resign(m, key, record_count=value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return signed, "manifest_invalid", 422
        if value > MAX_RECORDS:
            return signed, "too_many_records", 413
        return signed, "record_count_mismatch", 422
    if name == "content_hash":
        good = draw(st.booleans())
        if good:  # a well-formed hash of something else
            value = "sha256:" + draw(st.binary(min_size=32, max_size=32)).hex()
            return resign(m, key, content_hash=value), "content_hash_mismatch", 422
        value = draw(
            json_values.filter(lambda v: not (isinstance(v, str) and v.startswith("sha256:")))
        )
        return resign(m, key, content_hash=value), "manifest_invalid", 422
    value = draw(json_values.filter(lambda v: canonical(v) != "1"))
    return resign(m, key, format_version=value), "manifest_invalid", 422


def test_tampered_or_wrongly_signed_manifest(scene: Scene) -> None:
    key = scene.agencies["clinic"].key
    # Signed values Python compares equal to the right ones, though JSON says otherwise.
    for name, value, code in [
        ("bit_length", 1024.0, "bit_length_mismatch"),
        ("bit_length", "1024", "bit_length_mismatch"),
        ("format_version", 1.0, "manifest_invalid"),
        ("format_version", True, "manifest_invalid"),
        ("record_count", 200.0, "manifest_invalid"),
        ("record_count", True, "manifest_invalid"),
    ]:
        response = scene.upload(resign(scene.manifest, key, **{name: value}), scene.body)
        scene.check_refused(response, code, 422)

    @settings(FUZZ, max_examples=60)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        manifest, code, status = data.draw(manifest_cases(scene))
        scene.check_refused(scene.upload(manifest, scene.body), code, status)

    run()
    scene.finish()


# -- 3. the body -------------------------------------------------------------------------
def local_verdict(body: bytes, record_count: int) -> bool:
    """Whether ``body`` is a valid 200-row, 1024-bit encodings file (independent of the hub)."""
    try:
        table = pq.read_table(io.BytesIO(body))
        if table.schema != arrow_schema(128) or table.num_rows != record_count:
            return False
        tokens = table.column("row_token").to_pylist()
        return all(re.fullmatch(r"[0-9a-f]{32}", t) for t in tokens) and len(set(tokens)) == len(
            tokens
        )
    except Exception:
        return False


def parquet_bytes(table: pa.Table, **kw: Any) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, **kw)
    return out.getvalue()


def clk_corrupt_file() -> bytes:
    """200 rows with valid, unique row tokens; the zstd frame of the clk column is broken."""
    clks = population(10, seed=11)[np.arange(ROWS) % 10]  # repetitive, so zstd compresses
    table = pa.table(
        {
            "row_token": pa.array([secrets.token_hex(16) for _ in range(ROWS)], pa.string()),
            "clk": pa.array([c.tobytes() for c in clks], pa.binary(128)),
        },
        schema=arrow_schema(128),
    )
    body = bytearray(parquet_bytes(table, compression="zstd"))
    chunk = pq.ParquetFile(io.BytesIO(bytes(body))).metadata.row_group(0).column(1)
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    at = bytes(body).index(b"\x28\xb5\x2f\xfd", start)  # the zstd frame's magic number
    assert at < start + chunk.total_compressed_size
    body[at] ^= 0xFF
    assert pq.read_table(io.BytesIO(bytes(body)), columns=["row_token"]).num_rows == ROWS
    assert not local_verdict(bytes(body), ROWS)
    return bytes(body)


@st.composite
def unsigned_bodies(draw: Any, body: bytes) -> tuple[bytes, str]:
    """The original manifest, a changed body: the signed content hash no longer matches."""
    kind = draw(st.sampled_from(["truncate", "flip", "append", "prepend", "random", "empty"]))
    if kind == "empty":
        return b"", "body_missing"
    if kind == "truncate":
        new = body[: draw(st.integers(0, len(body) - 1))]
    elif kind == "flip":
        data = bytearray(body)
        for at in draw(st.lists(st.integers(0, len(body) - 1), min_size=1, max_size=8)):
            data[at] ^= draw(st.integers(1, 255))
        new = bytes(data)
    elif kind == "append":
        new = body + draw(st.binary(min_size=1, max_size=4000))
    elif kind == "prepend":
        new = draw(st.binary(min_size=1, max_size=100)) + body
    else:
        new = draw(st.binary(min_size=1, max_size=4000))
    if new == body:
        new = body + b"\0"
    return new, "body_missing" if not new else "content_hash_mismatch"


@st.composite
def signed_bodies(draw: Any, body: bytes) -> tuple[bytes, str | set[str] | None]:
    """A body the manifest is re-signed for, so the Parquet checks decide."""
    table = pq.read_table(io.BytesIO(body))
    tokens = table.column("row_token").to_pylist()
    clk = table.column("clk")
    kind = draw(
        st.sampled_from(
            ["truncate", "flip", "not_parquet", "columns", "rows", "bad_token", "repeated"]
        )
    )
    if kind == "truncate":  # the footer is gone
        return body[: draw(st.integers(1, len(body) - 1))], "encodings_invalid"
    if kind == "flip":  # anywhere, most often in the footer; decided by a local check
        data = bytearray(body)
        tail = draw(st.booleans())
        low = max(0, len(body) - 3000) if tail else 0
        for at in draw(st.lists(st.integers(low, len(body) - 1), min_size=1, max_size=4)):
            data[at] ^= draw(st.integers(1, 255))
        return bytes(data), None
    if kind == "not_parquet":
        new = draw(
            st.sampled_from(
                [
                    b"row_token,clk\n" + "\n".join(tokens[:20]).encode(),
                    json.dumps(
                        {"clks": [base64.b64encode(c).decode() for c in clk.to_pylist()[:5]]}
                    ).encode(),
                    b"PAR1" + bytes(100) + b"PAR1",
                    b"PAR1",
                ]
            )
            | st.binary(min_size=1, max_size=2000)
        )
        return new, "encodings_invalid"
    if kind == "columns":
        n = len(tokens)
        token_col = pa.array(tokens, pa.string())
        variants = {
            "renamed": pa.table({"token": token_col, "clk": clk}),
            "extra": pa.table({"row_token": token_col, "clk": clk, "name": pa.array(["x"] * n)}),
            "field_level": pa.table(
                {
                    "row_token": token_col,
                    "clk": clk,
                    "f_name": pa.array([b"\0" * 16] * n, pa.binary(16)),
                }
            ),
            "no_clk": pa.table({"row_token": token_col}),
            "swapped": pa.table({"clk": clk, "row_token": token_col}),
            "narrow": pa.table(
                {
                    "row_token": token_col,
                    "clk": pa.array([c[:64] for c in clk.to_pylist()], pa.binary(64)),
                }
            ),
            "variable": pa.table({"row_token": token_col, "clk": clk.cast(pa.binary())}),
            "binary_tokens": pa.table({"row_token": token_col.cast(pa.binary()), "clk": clk}),
            "large_tokens": pa.table({"row_token": token_col.cast(pa.large_string()), "clk": clk}),
            "nullable": pa.Table.from_arrays(
                [token_col, clk.combine_chunks()],
                schema=pa.schema([("row_token", pa.string()), ("clk", pa.binary(128))]),
            ),
        }
        chosen = draw(st.sampled_from(sorted(variants)))
        return parquet_bytes(variants[chosen]), "encodings_invalid"
    if kind == "rows":  # a valid file of another size than the manifest says
        keep = draw(st.integers(1, 2 * len(tokens)).filter(lambda k: k != len(tokens)))
        picked = np.arange(keep) % len(tokens)
        new_tokens = [secrets.token_hex(16) for _ in range(keep)]
        new = pa.table(
            {"row_token": pa.array(new_tokens, pa.string()), "clk": clk.take(pa.array(picked))},
            schema=arrow_schema(128),
        )
        return parquet_bytes(new), "record_count_mismatch"
    new_tokens = list(tokens)
    at = draw(st.integers(0, len(tokens) - 1))
    if kind == "bad_token":
        good = tokens[at]
        new_tokens[at] = draw(
            st.sampled_from(
                [
                    good.upper(),
                    good[:31],
                    good + "0",
                    "g" + good[1:],
                    "",
                    " " + good[1:],
                    good[:31] + "é"[:1],
                    "０" + good[1:],
                ]
            )
            | st.text(max_size=40).filter(lambda t: not re.fullmatch(r"[0-9a-f]{32}", t))
        )
        code = "row_token_invalid"
    else:
        other = draw(st.integers(0, len(tokens) - 1).filter(lambda k: k != at))
        new_tokens[at] = tokens[other]
        code = "row_token_repeated"
    new = pa.table(
        {"row_token": pa.array(new_tokens, pa.string()), "clk": clk}, schema=arrow_schema(128)
    )
    row_group = draw(st.sampled_from([None, 7, 64]))
    return parquet_bytes(new, row_group_size=row_group, compression="zstd"), code


def test_malformed_body(scene: Scene) -> None:
    key = scene.agencies["clinic"].key
    benign = []

    # a signed file whose row tokens are fine but whose clk page does not decompress
    corrupt = clk_corrupt_file()
    scene.check_refused(
        scene.upload(resign(scene.manifest, key, content_hash=sha256(corrupt)), corrupt),
        "encodings_invalid",
        422,
    )

    @settings(FUZZ, max_examples=60)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        if data.draw(st.booleans(), label="signed"):
            body, code = data.draw(signed_bodies(scene.body))
            if code is None:  # a flipped byte: refused unless the file is still valid
                if local_verdict(body, ROWS):
                    benign.append(1)
                    event("flip left a valid file (not sent)")
                    return
            manifest = resign(scene.manifest, key, content_hash=sha256(body))
        else:
            body, code = data.draw(unsigned_bodies(scene.body))
            manifest = scene.manifest
        scene.check_refused(scene.upload(manifest, body), code)

    run()
    # larger than the hub's upload limit: refused while it streams in
    big = scene.body + secrets.token_bytes(MAX_UPLOAD)
    scene.check_refused(
        scene.upload(resign(scene.manifest, key, content_hash=sha256(big)), big),
        "upload_too_large",
        413,
    )
    scene.finish()


# -- 4. the token ------------------------------------------------------------------------
def test_wrong_tokens(scene: Scene) -> None:
    cases = [
        ("other_upload", "clinic", PROJECT, "forbidden", 403),
        ("results", "clinic", PROJECT, "forbidden", 403),
        ("admin", "clinic", PROJECT, "forbidden", 403),
        ("revoked", "clinic", PROJECT, "token_revoked", 401),
        ("upload", "shelter", PROJECT, "forbidden", 403),
        ("upload", "mallory", PROJECT, "forbidden", 403),
        ("upload", "clinic", "another-project", "forbidden", 403),
        ("", "clinic", PROJECT, "token_missing", 401),
    ]
    for name, agency, project, code, status in cases:
        token = scene.tokens[name] if name else ""
        response = scene.upload(
            scene.manifest, scene.body, token=token, agency=agency, project=project
        )
        scene.check_refused(response, code, status)

    valid = scene.tokens["upload"]

    @settings(FUZZ, max_examples=20)
    @given(
        token=st.one_of(
            st.text(
                alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=80
            ),
            st.builds(
                lambda i, s: f"htl_{i}_{s}",
                st.text("0123456789abcdef", min_size=12, max_size=12),
                st.text("abcdefABCDEF0123456789_-", min_size=43, max_size=43),
            ),
            # the valid token with one character changed
            st.tuples(st.integers(4, len(valid) - 1), st.sampled_from("0aZ_-"))
            .map(lambda t: valid[: t[0]] + t[1] + valid[t[0] + 1 :])
            .filter(lambda t: t != valid),
        )
    )
    def run(token: str) -> None:
        scene.check_refused(
            scene.upload(scene.manifest, scene.body, token=token), "token_invalid", 401
        )

    run()
    scene.finish()


# -- a repeat check that is not fooled by shared prefixes --------------------------------
def test_row_tokens_sharing_a_prefix_are_accepted(live_hub: LiveHub, tmp_path: Path) -> None:
    """The hub's repeat check keeps only 64 bits per token; equal prefixes are no repeat."""
    agencies = [make_agency("clinic"), make_agency("shelter")]
    created = live_hub.client().create_project(
        {
            "name": PROJECT,
            "linkage_schema": person_schema().raw,
            "agencies": [{"name": a.name, "public_key_pem": a.public_pem} for a in agencies],
            "matching": {"threshold": 0.8},
        }
    )
    folder = write_submission(tmp_path / "sub", agencies[0], population(300, seed=5), seed=5)
    table = pq.read_table(folder / "encodings.parquet")
    tokens = table.column("row_token").to_pylist()
    for k in range(1, 40):  # 39 tokens share token 0's first 16 hex digits
        tokens[k] = tokens[0][:16] + tokens[k][16:]
    tokens[299] = tokens[0][:31] + ("1" if tokens[0][31] != "1" else "2")
    body = parquet_bytes(
        pa.table(
            {"row_token": pa.array(tokens, pa.string()), "clk": table.column("clk")},
            schema=arrow_schema(128),
        ),
        row_group_size=50,
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest = resign(manifest, agencies[0].key, content_hash=sha256(body))
    http = live_hub.http(created["tokens"]["clinic"]["upload"])
    ok = http.put(
        f"/api/v1/projects/{PROJECT}/submissions/clinic",
        content=body,
        headers={"X-Htlink-Manifest": b64(manifest)},
    )
    assert ok.status_code == 201, ok.text
    # and the same file with one real repeat among them is refused
    tokens[39] = tokens[1]
    body = parquet_bytes(
        pa.table(
            {"row_token": pa.array(tokens, pa.string()), "clk": table.column("clk")},
            schema=arrow_schema(128),
        ),
        row_group_size=50,
    )
    manifest = resign(manifest, agencies[0].key, content_hash=sha256(body))
    again = http.put(
        f"/api/v1/projects/{PROJECT}/submissions/clinic",
        params={"replace": "true"},
        content=body,
        headers={"X-Htlink-Manifest": b64(manifest)},
    )
    assert again.status_code == 422 and again.json()["error"]["code"] == "row_token_repeated"
