"""Verified streaming uploads: nothing is kept until everything is checked.

An upload is ``PUT /api/v1/projects/{project}/submissions/{agency}`` with the
signed manifest (base64url JSON) in the ``X-Htlink-Manifest`` header and
``encodings.parquet`` as the body.  The hub checks, in this order, refusing
with a 4xx and a stable code at the first failure:

1. the manifest: well-formed, for this agency, signed by the agency's
   registered Ed25519 key, the project's schema fingerprint and bit length,
   a record count within the limit (all before reading the body);
2. the body, streamed to a staging file in 1 MiB blocks while hashing: no
   larger than the manifest's record count can need and the hub's limit, and
   its SHA-256 equal to the signed content hash (so any truncation or
   tampering is caught);
3. the Parquet file, batch by batch, every page of both columns decoded:
   exactly the columns row_token and clk of the project's width, the
   manifest's record count, every row token 32 lower-case hex digits and none
   repeated.

Only then are the files renamed into place and the database updated.  The
body is held on disk once and read back in batches, never held whole in
memory; the repeat check keeps 8 bytes per record.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from starlette.concurrency import run_in_threadpool

from htlink.crypto.signing import SigningKeyError, load_public_key, verify_document
from htlink.encode.submission import (
    ENCODINGS_FILE,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_FILE,
    arrow_schema,
)
from htlink.hub.errors import HubError

MANIFEST_HEADER = "X-Htlink-Manifest"
BLOCK_BYTES = 1 << 20
MAX_MANIFEST_BYTES = 8192
# Parquet overhead per row beyond the CLK: the 32-character token and framing.
ROW_OVERHEAD_BYTES = 64
FIXED_OVERHEAD_BYTES = 16 << 20
READ_BUFFER_BYTES = 1 << 20
BATCH_ROWS = 16_384


def refused(code: str, message: str, hint: str | None = None, status: int = 422) -> HubError:
    return HubError(status, code, message, hint)


def parse_manifest_header(value: str | None) -> dict[str, Any]:
    if not value:
        raise refused(
            "manifest_missing",
            f"The upload has no {MANIFEST_HEADER} header.",
            "Upload with `htlink submit`, which sends the signed manifest with the encodings.",
            status=400,
        )
    if len(value) > MAX_MANIFEST_BYTES:
        raise refused("manifest_invalid", "The manifest header is too large.", status=400)
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        manifest = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: JSON nested thousands deep fits in the header and would
        # otherwise end as a 500 (json's C parser refuses deep nesting that way).
        raise refused(
            "manifest_invalid",
            "The manifest header is not base64url-encoded JSON.",
            "Upload with `htlink submit`.",
            status=400,
        ) from None
    if not isinstance(manifest, dict):
        raise refused("manifest_invalid", "The manifest is not a JSON object.", status=400)
    return manifest


def _is_int(value: Any) -> bool:
    """A JSON integer (1024.0 and true compare equal to integers in Python but are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    """A manifest value for a message, cut short (it came from the client)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def check_manifest(
    manifest: dict[str, Any],
    *,
    agency: str,
    public_key_pem: str,
    schema_fingerprint: str,
    bit_length: int,
    max_records: int,
) -> None:
    """Everything about the manifest that can be checked before the body arrives."""
    if manifest.get("format") != FORMAT or not (
        _is_int(manifest.get("format_version")) and manifest["format_version"] == FORMAT_VERSION
    ):
        raise refused(
            "manifest_invalid",
            f"The manifest is not an htlink submission manifest of format version "
            f"{FORMAT_VERSION}.",
            "Encode with the same htlink version as the hub.",
        )
    required = ("agency", "schema_fingerprint", "record_count", "bit_length", "content_hash")
    absent = [k for k in required if k not in manifest]
    if absent:
        raise refused("manifest_invalid", f"The manifest lacks {', '.join(absent)}.")
    if manifest.get("field_encodings"):
        raise refused(
            "field_level_not_accepted",
            "The submission carries field-level encodings; this hub links CLKs only.",
            "Field-level encodings are much easier to attack (see docs/threat-model.md); "
            "encode again without --field-level.",
        )
    signature = manifest.get("signature")
    if signature is None:
        raise refused(
            "signature_missing",
            "The submission is not signed.",
            "Encode with --signing-key using the key registered with the hub for your agency.",
        )
    try:
        key = load_public_key(public_key_pem)
    except SigningKeyError:  # pragma: no cover - keys are checked when projects are made
        raise refused(
            "server_key_invalid", "The agency's registered key is unusable.", status=500
        ) from None
    body = {k: v for k, v in manifest.items() if k != "signature"}
    if not verify_document(body, signature, key):
        raise refused(
            "signature_invalid",
            "The manifest's signature does not match your agency's registered key: the "
            "manifest was altered, or signed with another agency's key.",
            "Sign with the key whose .pub file the operator registered for your agency.",
        )
    if manifest["agency"] != agency:
        raise refused(
            "agency_mismatch",
            f"The submission was made for agency {_shown(manifest['agency'])}, not {agency!r}.",
            "Encode with --agency set to the name the hub operator registered.",
        )
    if manifest["schema_fingerprint"] != schema_fingerprint:
        raise refused(
            "schema_mismatch",
            "The submission was encoded with a different linkage schema than the project's "
            f"(project {schema_fingerprint[:19]}…, submission "
            f"{str(manifest['schema_fingerprint'])[:19]}…).",
            "Re-encode with the project's schema file; `htlink schema check` prints its "
            "fingerprint.",
        )
    if not _is_int(manifest["bit_length"]) or manifest["bit_length"] != bit_length:
        raise refused(
            "bit_length_mismatch",
            f"The submission has {_shown(manifest['bit_length'])}-bit encodings; the project uses "
            f"{bit_length} bits.",
            "Re-encode with the project's schema file.",
        )
    count = manifest["record_count"]
    if not _is_int(count) or count < 1:
        raise refused("manifest_invalid", "The manifest's record count is not a positive number.")
    if count > max_records:
        raise refused(
            "too_many_records",
            f"The submission announces {count:,} records; this hub accepts at most "
            f"{max_records:,} per submission.",
            "Ask the hub operator to raise --max-records.",
            status=413,
        )
    content_hash = manifest["content_hash"]
    if not isinstance(content_hash, str) or not content_hash.startswith("sha256:"):
        raise refused("manifest_invalid", "The manifest's content hash is not a SHA-256 hash.")


def size_limit(manifest: dict[str, Any], max_upload_bytes: int) -> int:
    width = (int(manifest["bit_length"]) + 7) // 8
    need = int(manifest["record_count"]) * (width + ROW_OVERHEAD_BYTES) + FIXED_OVERHEAD_BYTES
    return min(need, max_upload_bytes)


async def receive_body(chunks: AsyncIterator[bytes], path: Path, limit: int) -> tuple[str, int]:
    """Write the streamed body to ``path``; return its SHA-256 and size.

    Chunks are gathered into blocks of about 1 MiB, and each block is hashed and
    written on a worker thread, so a large upload never stalls the event loop
    that serves other requests.
    """
    digest = hashlib.sha256()
    size = 0
    pending: list[bytes] = []
    pending_bytes = 0

    def write_block(fh: Any, block: bytes) -> None:
        digest.update(block)
        fh.write(block)

    with path.open("wb") as fh:
        async for chunk in chunks:
            if not chunk:
                continue
            size += len(chunk)
            if size > limit:
                raise refused(
                    "upload_too_large",
                    f"The upload is larger than its record count can need or than this hub's "
                    f"limit ({limit:,} bytes).",
                    "Send the encodings.parquet written by `htlink encode`, unchanged.",
                    status=413,
                )
            pending.append(chunk)
            pending_bytes += len(chunk)
            if pending_bytes >= BLOCK_BYTES:
                await run_in_threadpool(write_block, fh, b"".join(pending))
                pending, pending_bytes = [], 0
        if pending:
            await run_in_threadpool(write_block, fh, b"".join(pending))
    return "sha256:" + digest.hexdigest(), size


def verify_encodings(path: Path, manifest: dict[str, Any], content_hash: str, size: int) -> None:
    """Check the received file against the signed manifest, reading it in batches.

    Every page of both columns is decoded (so a file that would fail in a run is refused
    here), but only 8 bytes per record are kept: the first 64 bits of each row token,
    sorted to find repeats; a repeated prefix is then settled by a second pass over the
    tokens that carry it.
    """
    if size == 0:
        raise refused("body_missing", "The upload has no encodings.", "Send encodings.parquet.")
    if content_hash != manifest["content_hash"]:
        raise refused(
            "content_hash_mismatch",
            "The encodings do not match the manifest's signed content hash: the file was "
            "truncated or altered after encoding.",
            "Copy the submission folder again from the agency's machine and resend it.",
        )
    width = (int(manifest["bit_length"]) + 7) // 8
    expected = int(manifest["record_count"])
    try:
        # pre_buffer=False with a read buffer: pyarrow's default pre-buffering reads
        # every selected column chunk of the file into memory up front.
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER_BYTES)
        if parquet.schema_arrow != arrow_schema(width):
            raise refused(
                "encodings_invalid",
                f"The encodings file does not have the columns row_token and clk of "
                f"{manifest['bit_length']} bits.",
            )
        if parquet.metadata.num_rows != expected:
            raise refused(
                "record_count_mismatch",
                f"The encodings file holds {parquet.metadata.num_rows:,} records; the manifest "
                f"says {expected:,}.",
            )
        prefixes = np.empty(expected, dtype=np.uint64)
        filled = 0
        for batch in parquet.iter_batches(
            batch_size=BATCH_ROWS, columns=["row_token", "clk"], use_threads=False
        ):
            tokens, clks = batch.column(0), batch.column(1)
            if filled + len(tokens) > expected:
                raise _count_differs()
            if tokens.null_count or clks.null_count:
                raise refused("encodings_invalid", "The encodings file has empty values.")
            prefixes[filled : filled + len(tokens)] = _token_prefixes(tokens)
            filled += len(tokens)
        if filled != expected:
            raise _count_differs()
        prefixes.sort()
        repeated = np.unique(prefixes[1:][prefixes[1:] == prefixes[:-1]])
        del prefixes
        if len(repeated) and _repeats(parquet, repeated):
            raise refused(
                "row_token_repeated",
                "The submission repeats a row token; each record needs its own.",
            )
    except (pa.ArrowException, OSError, ValueError):
        raise refused("encodings_invalid", "The encodings file is not readable Parquet.") from None


def _count_differs() -> HubError:
    return refused(
        "encodings_invalid",
        "The encodings file's data does not match its own record count.",
    )


_HEX_VALUES = np.full(256, 255, dtype=np.uint8)
_HEX_VALUES[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10, dtype=np.uint8)
_HEX_VALUES[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16, dtype=np.uint8)


def _token_chars(tokens: pa.Array) -> np.ndarray:
    """The row tokens of a batch as an ``(n, 32)`` array of ASCII codes; refuses bad tokens."""
    if not len(tokens):
        return np.zeros((0, 32), dtype=np.uint8)
    offsets = np.frombuffer(tokens.buffers()[1], dtype=np.int32)[
        tokens.offset : tokens.offset + len(tokens) + 1
    ]
    if not np.all(np.diff(offsets) == 32):
        raise _bad_token()
    data = np.frombuffer(tokens.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].reshape(len(tokens), 32)


def _bad_token() -> HubError:
    return refused("row_token_invalid", "A row token is not 32 lower-case hex digits.")


def _token_prefixes(tokens: pa.Array) -> np.ndarray:
    """The first 64 bits of each row token (32 lower-case hex digits, checked here)."""
    chars = _token_chars(tokens)
    if len(chars) and _HEX_VALUES[chars].max() == 255:
        raise _bad_token()
    head = np.ascontiguousarray(chars[:, :16]).tobytes().decode("ascii")
    return np.frombuffer(bytes.fromhex(head), dtype=">u8").astype(np.uint64)


def _repeats(parquet: pq.ParquetFile, prefixes: np.ndarray) -> bool:
    """Whether a row token whose first 64 bits are among ``prefixes`` occurs twice."""
    seen: set[bytes] = set()
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=["row_token"]):
        tokens = batch.column(0)
        hits = np.isin(_token_prefixes(tokens), prefixes)
        for row in _token_chars(tokens)[hits]:
            token = row.tobytes()
            if token in seen:
                return True
            seen.add(token)
    return False


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def encodings_path(folder: Path) -> Path:
    return folder / ENCODINGS_FILE
