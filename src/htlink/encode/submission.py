"""The submission: what an agency sends to the linkage hub, and nothing more.

A submission is a folder with two files::

    encodings.parquet   row_token (32 hex digits, random per record) | clk (l/8 bytes)
                        [| f_<feature> (l/8 bytes) for each feature, with field-level
                        encodings]
    manifest.json       agency, schema fingerprint, record count, bit length,
                        created time, SHA-256 of encodings.parquet, signature
                        [, field_encodings: {feature: bits}]

Records are shuffled before they are written, so their order says nothing
about the agency's file (which may be sorted by name or date).  The row token
is random and means something only to the agency, through the row-token map
it keeps.  The manifest is signed with the agency's Ed25519 key over its
canonical JSON; :func:`read_submission` checks everything a receiver must.
The clkhash JSON format (``{"clks": [base64, ...]}``) can be written beside it
and imported for interoperability with anonlink tooling.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from htlink import __version__
from htlink.crypto.signing import sign_document, verify_document
from htlink.errors import SubmissionError

FORMAT = "htlink-submission"
FORMAT_VERSION = 1
ENCODINGS_FILE = "encodings.parquet"
MANIFEST_FILE = "manifest.json"
CLKHASH_FILE = "clks.clkhash.json"
FIELD_PREFIX = "f_"  # column of a field-level encoding: f_<feature>
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
AGENCY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def arrow_schema(clk_bytes: int, field_bytes: dict[str, int] | None = None) -> pa.Schema:
    """Columns of ``encodings.parquet``; ``field_bytes`` adds one ``f_<feature>`` column each."""
    return pa.schema(
        [
            pa.field("row_token", pa.string(), nullable=False),
            pa.field("clk", pa.binary(clk_bytes), nullable=False),
            *(
                pa.field(FIELD_PREFIX + name, pa.binary(width), nullable=False)
                for name, width in (field_bytes or {}).items()
            ),
        ]
    )


def _fixed_binary(rows: np.ndarray, width: int) -> pa.FixedSizeBinaryArray:
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), len(rows), [None, pa.py_buffer(np.ascontiguousarray(rows).tobytes())]
    )


def _rows_of(column: pa.ChunkedArray, width: int, n: int) -> np.ndarray:
    """A fixed-size binary column as an ``(n, width)`` uint8 array."""
    combined = column.combine_chunks()
    raw = np.frombuffer(combined.buffers()[1], dtype=np.uint8)
    start = combined.offset * width
    return raw[start : start + width * n].reshape(n, width)


def token_hex(raw: np.ndarray) -> list[str]:
    """Hex strings of an ``(n, 16)`` uint8 array of raw row tokens."""
    text = np.ascontiguousarray(raw).tobytes().hex()
    width = 2 * raw.shape[1] if raw.ndim == 2 else 32
    return [text[i : i + width] for i in range(0, len(text), width)]


def check_agency_name(name: str) -> str:
    if not AGENCY_RE.match(name):
        raise SubmissionError(
            f"The agency name {name!r} is not usable.",
            "Use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit "
            "(for example county-hospital).",
        )
    return name


class EncodingsWriter:
    """Writes ``encodings.parquet`` batch by batch (row tokens as hex, CLKs as fixed binary).

    With ``field_bytes`` (feature -> bytes) it also writes one field-level encoding
    column per feature, ``f_<feature>``.
    """

    def __init__(
        self, path: Path, clk_bytes: int, field_bytes: dict[str, int] | None = None
    ) -> None:
        self.schema = arrow_schema(clk_bytes, field_bytes)
        self.clk_bytes = clk_bytes
        self.field_bytes = dict(field_bytes or {})
        self.rows = 0
        self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")

    def write(
        self, tokens: np.ndarray, clks: np.ndarray, fields: dict[str, np.ndarray] | None = None
    ) -> None:
        """Append ``tokens`` (n x 16 raw bytes), ``clks`` (n x clk_bytes) and ``fields``."""
        if not len(clks):
            return
        fields = fields or {}
        if set(fields) != set(self.field_bytes):
            raise ValueError("the field-level encodings do not match the writer's features")
        hexed = token_hex(tokens)
        columns = [pa.array(hexed, pa.string()), _fixed_binary(clks, self.clk_bytes)]
        for name, width in self.field_bytes.items():
            if fields[name].shape != (len(clks), width):
                raise ValueError(f"field-level encodings of {name} have the wrong shape")
            columns.append(_fixed_binary(fields[name], width))
        batch = pa.record_batch(columns, schema=self.schema)
        self._writer.write_batch(batch)
        self.rows += len(hexed)

    def close(self) -> None:
        if self.rows == 0:
            self._writer.write_table(self.schema.empty_table())
        self._writer.close()


def write_encodings(
    path: Path,
    tokens: np.ndarray,
    clks: np.ndarray,
    batch_rows: int = 100_000,
    fields: dict[str, np.ndarray] | None = None,
) -> None:
    """Write ``tokens`` (n x 16 raw bytes), ``clks`` (n x bytes) and ``fields`` as Parquet."""
    fields = fields or {}
    writer = EncodingsWriter(path, clks.shape[1], {k: v.shape[1] for k, v in fields.items()})
    try:
        for start in range(0, len(clks), batch_rows):
            part = slice(start, start + batch_rows)
            writer.write(tokens[part], clks[part], {k: v[part] for k, v in fields.items()})
    finally:
        writer.close()


def build_manifest(
    *,
    agency: str,
    schema_fingerprint: str,
    record_count: int,
    bit_length: int,
    content_hash: str,
    field_encodings: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The manifest; ``field_encodings`` (feature -> bits) only for field-level submissions."""
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "agency": agency,
        "schema_fingerprint": schema_fingerprint,
        "record_count": record_count,
        "bit_length": bit_length,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "encodings_file": ENCODINGS_FILE,
        "content_hash": content_hash,
        "htlink_version": __version__,
    }
    if field_encodings:
        manifest["field_encodings"] = dict(field_encodings)
    return manifest


def sign_manifest(manifest: dict[str, Any], key: Any) -> dict[str, Any]:
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return {**body, "signature": sign_document(body, key)}


class ClkhashJsonWriter:
    """Streams clkhash's interchange format, ``{"clks": [base64 of each CLK]}``."""

    def __init__(self, path: Path) -> None:
        self._fh = path.open("w", encoding="utf-8")
        self._fh.write('{"clks": [')
        self._first = True

    def write(self, clks: np.ndarray) -> None:
        for row in clks:
            self._fh.write(("" if self._first else ",") + '"')
            self._fh.write(base64.b64encode(row.tobytes()).decode() + '"')
            self._first = False

    def close(self) -> None:
        self._fh.write("]}\n")
        self._fh.close()


def write_clkhash_json(path: Path, clks: np.ndarray) -> None:
    writer = ClkhashJsonWriter(path)
    try:
        writer.write(clks)
    finally:
        writer.close()


def read_clkhash_json(path: Path, bit_length: int | None = None) -> np.ndarray:
    """Import clkhash JSON CLKs as an ``(n, bytes)`` uint8 array, checking they are uniform."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise SubmissionError(f"{path} is not a readable clkhash JSON file.") from None
    clks = data.get("clks") if isinstance(data, dict) else None
    if not isinstance(clks, list) or not clks:
        raise SubmissionError(f'{path} has no "clks" list.')
    try:
        rows = [base64.b64decode(c, validate=True) for c in clks]
    except (ValueError, TypeError):
        raise SubmissionError(f"{path} contains an encoding that is not base64.") from None
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise SubmissionError(f"{path} mixes encodings of different lengths.")
    (width,) = widths
    if bit_length is not None and width != (bit_length + 7) // 8:
        raise SubmissionError(
            f"{path} holds {width * 8}-bit encodings; the schema says {bit_length} bits."
        )
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), width)


@dataclass
class Submission:
    manifest: dict[str, Any]
    row_tokens: list[str]
    clks: np.ndarray  # (n, bytes) uint8
    #: field-level encodings, feature -> (n, bytes) uint8 (all zero = value missing);
    #: None for a CLK-only submission
    fields: dict[str, np.ndarray] | None = None


def read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        raise SubmissionError(
            f"{folder} has no {MANIFEST_FILE}.",
            "Pass the submission folder written by `htlink encode` (OUT/submission).",
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SubmissionError(f"{path} is not valid JSON; the file was damaged.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SubmissionError(f"{path} is not an htlink submission manifest.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise SubmissionError(
            f"{path} has format version {manifest.get('format_version')}; this htlink reads "
            f"version {FORMAT_VERSION}.",
            "Encode again with the same htlink version as the hub.",
        )
    return manifest


def read_submission(
    folder: str | Path, *, public_key: Any = None, require_signature: bool = False
) -> Submission:
    """Read a submission and check it is complete, unaltered and consistent."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    required = ("agency", "schema_fingerprint", "record_count", "bit_length", "content_hash")
    absent = [k for k in required if k not in manifest]
    if absent:
        raise SubmissionError(f"The manifest lacks {', '.join(absent)}.")
    signature = manifest.get("signature")
    body = {k: v for k, v in manifest.items() if k != "signature"}
    if public_key is not None:
        if signature is None:
            raise SubmissionError(
                "The submission is not signed.",
                "Encode with --signing-key so the hub can tell who sent it.",
            )
        if not verify_document(body, signature, public_key):
            raise SubmissionError(
                "The manifest's signature does not match the agency's registered key: the "
                "manifest was altered or signed with another key."
            )
    elif require_signature and signature is None:
        raise SubmissionError("The submission is not signed.")
    enc_path = folder / ENCODINGS_FILE
    if not enc_path.is_file():
        raise SubmissionError(f"{folder} has no {ENCODINGS_FILE}.")
    if file_sha256(enc_path) != manifest["content_hash"]:
        raise SubmissionError(
            f"{ENCODINGS_FILE} does not match the manifest's content hash: the file was "
            "altered or truncated after encoding.",
            "Copy the submission folder again from the agency's machine.",
        )
    try:
        table = pq.read_table(enc_path)
    except (pa.ArrowInvalid, OSError):
        raise SubmissionError(f"{ENCODINGS_FILE} is not a readable Parquet file.") from None
    width = (int(manifest["bit_length"]) + 7) // 8
    field_bits = _field_encodings(manifest)
    field_bytes = {name: (bits + 7) // 8 for name, bits in field_bits.items()}
    if table.schema != arrow_schema(width, field_bytes):
        extra = [n for n in table.schema.names if n.startswith(FIELD_PREFIX)]
        if field_bits or extra:
            raise SubmissionError(
                f"{ENCODINGS_FILE} does not have the columns row_token, clk of "
                f"{manifest['bit_length']} bits and the {len(field_bits)} field-level "
                f"encodings that the manifest announces (it has {len(extra)} field-level "
                "columns, or one of another width).",
                "Copy the submission folder again from the agency's machine.",
            )
        raise SubmissionError(
            f"{ENCODINGS_FILE} does not have the columns row_token and clk of "
            f"{manifest['bit_length']} bits that the manifest announces."
        )
    if table.num_rows != manifest["record_count"]:
        raise SubmissionError(
            f"{ENCODINGS_FILE} holds {table.num_rows} records; the manifest says "
            f"{manifest['record_count']}."
        )
    tokens = table.column("row_token").to_pylist()
    if len(set(tokens)) != len(tokens):
        raise SubmissionError("The submission repeats a row token; each record needs its own.")
    if not all(TOKEN_RE.match(t) for t in tokens):
        raise SubmissionError("The submission has a row token that is not 32 hex digits.")
    clks = _rows_of(table.column("clk"), width, len(tokens))
    fields = {
        name: _rows_of(table.column(FIELD_PREFIX + name), nbytes, len(tokens))
        for name, nbytes in field_bytes.items()
    }
    return Submission(
        manifest=manifest, row_tokens=tokens, clks=clks, fields=fields if field_bits else None
    )


def _field_encodings(manifest: dict[str, Any]) -> dict[str, int]:
    """The manifest's ``field_encodings`` (feature -> bits), checked; {} when absent."""
    if "field_encodings" not in manifest:
        return {}
    announced = manifest["field_encodings"]
    if (
        not isinstance(announced, dict)
        or not announced
        or not all(
            isinstance(name, str)
            and name
            and isinstance(bits, int)
            and not isinstance(bits, bool)
            and bits == manifest["bit_length"]
            for name, bits in announced.items()
        )
    ):
        raise SubmissionError(
            "The manifest's field_encodings is not a mapping of feature names to the "
            f"encoding length ({manifest['bit_length']} bits).",
            "Encode again with `htlink encode --field-level`.",
        )
    return announced
