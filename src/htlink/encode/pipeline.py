"""``htlink encode`` as a library call: an agency's file in, a submission folder out.

The run reads the input in chunks (memory stays bounded whatever the file
size), keeps out records without consent, normalizes each mapped column by the
schema's rules, encodes, and writes::

    OUT/submission/encodings.parquet   send to the hub (with field_level=True also one
                                       Bloom filter per feature, f_<feature>)
    OUT/submission/manifest.json       send to the hub (signed)
    OUT/submission/clks.clkhash.json   only with clkhash-json output
    OUT/private/row-tokens.csv         KEEP: row token -> your record id (mode 0600)
    OUT/report/quality.{json,html}     the data-quality report (with report=True)

Everything is written to a temporary folder beside OUT and moved into place
only when the whole run has succeeded, so a failed run leaves nothing behind.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from htlink.crypto.secret import load_secret
from htlink.crypto.signing import load_private_key
from htlink.encode.bloom import ClkEncoder, EncodedChunk
from htlink.encode.mapping import ColumnMapping, check_mapping, split_full_names
from htlink.encode.quality import QualityAccumulator, QualityReport
from htlink.encode.reader import InputSpec, iter_chunks, read_header
from htlink.encode.submission import (
    CLKHASH_FILE,
    ENCODINGS_FILE,
    MANIFEST_FILE,
    ClkhashJsonWriter,
    EncodingsWriter,
    build_manifest,
    check_agency_name,
    file_sha256,
    sign_manifest,
    token_hex,
)
from htlink.errors import HtlinkError, InputDataError
from htlink.normalize import AgencyOptions, normalize_column
from htlink.schema.model import LinkageSchema

CONSENT_YES = {"y", "yes", "true", "t", "1", "consented", "consent", "granted"}
CONSENT_NO = {"n", "no", "false", "f", "0", "declined", "refused", "withdrawn", ""}
TOKEN_BYTES = 16


class ShuffleSpool:
    """An external shuffle: rows go to random bucket files, come back bucket by bucket."""

    def __init__(self, folder: Path, row_bytes: int, buckets: int = 64) -> None:
        folder.mkdir(mode=0o700)
        self.folder = folder
        self.row_bytes = row_bytes
        self._rng = np.random.default_rng(secrets.randbits(128))
        self._files = [(folder / f"{b:03d}.bin").open("wb") for b in range(buckets)]

    def add(self, rows: np.ndarray) -> None:
        bucket = self._rng.integers(0, len(self._files), size=len(rows))
        order = np.argsort(bucket, kind="stable")
        counts = np.bincount(bucket, minlength=len(self._files))
        for fh, part in zip(
            self._files, np.split(rows[order], np.cumsum(counts)[:-1]), strict=True
        ):
            if len(part):
                fh.write(np.ascontiguousarray(part).tobytes())

    def close_inputs(self) -> None:
        for fh in self._files:
            fh.close()

    def shuffled(self) -> Iterator[np.ndarray]:
        for fh in self._files:
            path = Path(fh.name)
            rows = np.fromfile(path, dtype=np.uint8).reshape(-1, self.row_bytes)
            path.unlink()
            yield rows[self._rng.permutation(len(rows))]

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class EncodeRequest:
    schema: LinkageSchema
    secret_path: Path
    input: InputSpec
    mapping: ColumnMapping
    agency: str
    out_dir: Path
    signing_key: Path | None = None
    signing_passphrase: bytes | None = None
    clkhash_json: bool = False
    #: also write one Bloom filter per feature (for ``htlink match --method probabilistic``);
    #: easier to attack than CLKs -- see docs/threat-model.md
    field_level: bool = False
    report: bool = False
    overwrite: bool = False
    chunk_size: int = 20_000
    workers: int = 1
    on_progress: Callable[[int, int], None] | None = None  # (bytes read, records done)


@dataclass
class EncodeResult:
    out_dir: Path
    records: int
    consent_excluded: int
    manifest: dict[str, Any]
    report: QualityReport
    paths: dict[str, Path] = field(default_factory=dict)


@dataclass
class _Prepared:
    """One chunk after consent filtering and normalization, ready to encode."""

    ids: list[str]
    columns: dict[str, list[str | None]]
    normalization: dict[str, dict[str, Any]]
    distinct_inputs: dict[str, pd.Series]
    excluded: int
    unrecognized: int


def _consent_mask(values: pd.Series) -> tuple[np.ndarray, int]:
    """Rows with recorded consent; unrecognized answers are treated as no consent."""
    folded = values.fillna("").astype(str).str.strip().str.lower()
    yes = folded.isin(CONSENT_YES).to_numpy()
    unrecognized = int((~folded.isin(CONSENT_YES | CONSENT_NO)).sum())
    return yes, unrecognized


def prepare_chunk(
    chunk: pd.DataFrame,
    schema: LinkageSchema,
    mapping: ColumnMapping,
    row_offset: int,
) -> _Prepared:
    """Consent filter and normalize one chunk (runs in a worker process when parallel)."""
    excluded = unrecognized = 0
    if mapping.consent_column:
        keep, unrecognized = _consent_mask(chunk[mapping.consent_column])
        excluded = int((~keep).sum())
        chunk = chunk[keep]
        positions = np.flatnonzero(keep)
    else:
        positions = np.arange(len(chunk))
    if mapping.id_column:
        ids = ["" if v is None else str(v) for v in chunk[mapping.id_column].tolist()]
    else:
        ids = [str(row_offset + p + 1) for p in positions]
    options = AgencyOptions(date_order=mapping.date_order)
    columns: dict[str, list[str | None]] = {}
    normalization: dict[str, dict[str, Any]] = {}
    values_for_distinct: dict[str, pd.Series] = {}
    for feature in schema.hashed_features:
        name = feature.identifier
        if name in mapping.absent:
            columns[name] = [None] * len(chunk)
            normalization[name] = {"input_missing": len(chunk), "invalid": 0}
            values_for_distinct[name] = pd.Series([], dtype=object)
            continue
        spec = mapping.columns[name]
        raw = chunk[spec.column].reset_index(drop=True)
        mismatched = 0
        if spec.part is not None and spec.name_format is not None:
            parts, mismatched = split_full_names(raw.tolist(), spec.part, spec.name_format)
            raw = pd.Series(parts, dtype=object)
        if feature.normalize is not None:
            result = normalize_column(raw, feature.normalize, options)
            values = result.values
            normalization[name] = {
                "input_missing": result.n_input_missing,
                "invalid": result.n_invalid,
                "reasons": dict(result.invalid_reasons),
                "repaired": result.n_repaired,
                "changed": result.n_changed,
            }
            if mismatched:
                # values the full-name format could not split: present in the file, unusable
                stats = normalization[name]
                stats["input_missing"] -= mismatched
                stats["invalid"] += mismatched
                stats["reasons"]["name_format_mismatch"] = mismatched
        else:
            # a pure clkhash feature: values are encoded exactly as written
            values = raw.astype(object)
            blank = values.isna() | (values == "")
            normalization[name] = {"input_missing": int(blank.sum()), "invalid": 0}
            values = values.where(~values.isna(), None)
        columns[name] = values.tolist()
        values_for_distinct[name] = values.where(values != "", None)
    return _Prepared(ids, columns, normalization, values_for_distinct, excluded, unrecognized)


_WORKER: dict[str, Any] = {}


def _worker_init(
    schema: LinkageSchema, secret: bytes, mapping: ColumnMapping, field_level: bool = False
) -> None:
    _WORKER["encoder"] = ClkEncoder(schema, secret, field_level=field_level)
    _WORKER["schema"] = schema
    _WORKER["mapping"] = mapping


def _worker_run(chunk: pd.DataFrame, offset: int) -> tuple[_Prepared, EncodedChunk]:
    prepared = prepare_chunk(chunk, _WORKER["schema"], _WORKER["mapping"], offset)
    return prepared, _WORKER["encoder"].encode(prepared.columns)


class _InlineExecutor:
    """Runs work in this process, with the same interface as the process pool."""

    def __init__(
        self, schema: LinkageSchema, secret: bytes, mapping: ColumnMapping, field_level: bool
    ) -> None:
        _worker_init(schema, secret, mapping, field_level)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def shutdown(self, cancel_futures: bool = False) -> None:
        _WORKER.clear()


def encode_file(request: EncodeRequest) -> EncodeResult:
    """Run the whole encode step; raise :class:`HtlinkError` with a clear message on bad input."""
    check_agency_name(request.agency)
    schema = request.schema
    out_dir = request.out_dir
    if out_dir.exists() and any(out_dir.iterdir()) and not request.overwrite:
        raise HtlinkError(
            f"The output folder {out_dir} already exists and is not empty.",
            "Choose a new --out folder, or pass --force to replace it.",
        )
    secret = load_secret(request.secret_path)
    signing_key = (
        load_private_key(request.signing_key, request.signing_passphrase)
        if request.signing_key
        else None
    )
    header = read_header(request.input)
    check_mapping(request.mapping, schema, header)
    needed = list(
        dict.fromkeys(
            [
                *(spec.column for spec in request.mapping.columns.values()),
                *([request.mapping.id_column] if request.mapping.id_column else []),
                *([request.mapping.consent_column] if request.mapping.consent_column else []),
            ]
        )
    )

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.partial-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        result = _run(request, schema, secret, signing_key, needed, staging)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    result.out_dir = out_dir
    result.paths = {k: out_dir / v.relative_to(staging) for k, v in result.paths.items()}
    return result


def _run(
    request: EncodeRequest,
    schema: LinkageSchema,
    secret: bytes,
    signing_key: Any,
    needed: list[str],
    staging: Path,
) -> EncodeResult:
    submission_dir, private_dir = staging / "submission", staging / "private"
    submission_dir.mkdir()
    private_dir.mkdir(mode=0o700)
    mapping = request.mapping
    quality = QualityAccumulator(
        {
            f.identifier: (spec.column if (spec := mapping.columns.get(f.identifier)) else None)
            for f in schema.hashed_features
        },
        schema.encoding_length,
    )
    tokens_path = private_dir / "row-tokens.csv"
    fd = os.open(tokens_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    # Encodings are spooled to disk, each record into a random bucket; at the end each
    # bucket is shuffled in memory and written out. Buckets in a fixed order, each in
    # uniformly random order, give a uniformly random permutation, and memory holds
    # one bucket at a time whatever the number of records.
    clk_bytes = (schema.encoding_length + 7) // 8
    field_names = [f.identifier for f in schema.hashed_features] if request.field_level else []
    # a spooled row: raw token | CLK | one field-level encoding per feature (if any)
    spool = ShuffleSpool(staging / "spool", TOKEN_BYTES + clk_bytes * (1 + len(field_names)))
    clkhash_writer = (
        ClkhashJsonWriter(submission_dir / CLKHASH_FILE) if request.clkhash_json else None
    )
    bytes_read = 0
    records_done = 0

    def on_bytes(n: int) -> None:
        nonlocal bytes_read
        bytes_read += n

    executor: Executor | _InlineExecutor
    if request.workers > 1:
        executor = ProcessPoolExecutor(
            max_workers=request.workers,
            initializer=_worker_init,
            initargs=(schema, secret, mapping, request.field_level),
        )
    else:
        executor = _InlineExecutor(schema, secret, mapping, request.field_level)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as token_file:
            writer = csv.writer(token_file)
            writer.writerow(["row_token", "record_id", "clkhash_index"])
            pending: list[Future[tuple[_Prepared, EncodedChunk]]] = []
            offset = 0

            def collect(future: Future[tuple[_Prepared, EncodedChunk]]) -> None:
                nonlocal records_done
                prepared, encoded = future.result()
                for name, stats in prepared.normalization.items():
                    quality.add_normalization(name, prepared.distinct_inputs[name], **stats)
                quality.add_encoded(encoded)
                quality.consent_excluded += prepared.excluded
                quality.consent_unrecognized += prepared.unrecognized
                raw_tokens = np.frombuffer(
                    os.urandom(TOKEN_BYTES * len(prepared.ids)), dtype=np.uint8
                ).reshape(-1, TOKEN_BYTES)
                writer.writerows(
                    zip(
                        token_hex(raw_tokens),
                        prepared.ids,
                        range(records_done, records_done + len(prepared.ids)),
                        strict=True,
                    )
                )
                field_rows = [encoded.fields[n] for n in field_names] if encoded.fields else []
                spool.add(np.concatenate([raw_tokens, encoded.clks, *field_rows], axis=1))
                if clkhash_writer is not None:
                    clkhash_writer.write(encoded.clks)  # input order, as clkhash writes it
                records_done += len(prepared.ids)
                if request.on_progress:
                    request.on_progress(bytes_read, records_done)

            for chunk in iter_chunks(request.input, needed, request.chunk_size, on_bytes):
                pending.append(executor.submit(_worker_run, chunk, offset))
                offset += len(chunk)
                while len(pending) > max(1, 2 * request.workers) or (pending and pending[0].done()):
                    collect(pending.pop(0))
            while pending:
                collect(pending.pop(0))
    finally:
        executor.shutdown(cancel_futures=True)
        spool.close_inputs()
        if clkhash_writer is not None:
            clkhash_writer.close()

    if records_done == 0:
        excluded = quality.consent_excluded
        raise InputDataError(
            f"{request.input.path} has no records to encode"
            + (f" ({excluded} were kept out for lack of consent)." if excluded else "."),
            "Check that the file holds data rows below the header.",
        )
    paths: dict[str, Path] = {}
    if request.clkhash_json:
        # index i is the row-token map's clkhash_index i
        paths["clkhash_json"] = submission_dir / CLKHASH_FILE
    enc_path = submission_dir / ENCODINGS_FILE
    writer = EncodingsWriter(enc_path, clk_bytes, {name: clk_bytes for name in field_names})
    try:
        for rows in spool.shuffled():
            fields = {
                name: rows[:, TOKEN_BYTES + clk_bytes * (k + 1) : TOKEN_BYTES + clk_bytes * (k + 2)]
                for k, name in enumerate(field_names)
            }
            writer.write(
                rows[:, :TOKEN_BYTES], rows[:, TOKEN_BYTES : TOKEN_BYTES + clk_bytes], fields
            )
    finally:
        writer.close()
        spool.remove()
    manifest = build_manifest(
        agency=request.agency,
        schema_fingerprint=schema.fingerprint,
        record_count=records_done,
        bit_length=schema.encoding_length,
        content_hash=file_sha256(enc_path),
        field_encodings={name: schema.encoding_length for name in field_names} or None,
    )
    if signing_key is not None:
        manifest = sign_manifest(manifest, signing_key)
    (submission_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    paths.update(
        encodings=enc_path, manifest=submission_dir / MANIFEST_FILE, row_tokens=tokens_path
    )
    report = quality.finish()
    if request.report:
        report_dir = staging / "report"
        report_dir.mkdir()
        report.write_json(report_dir / "quality.json")
        report.write_html(
            report_dir / "quality.html",
            agency=request.agency,
            schema_fingerprint=schema.fingerprint,
        )
        paths["report_json"] = report_dir / "quality.json"
        paths["report_html"] = report_dir / "quality.html"
    return EncodeResult(
        out_dir=staging,
        records=records_done,
        consent_excluded=quality.consent_excluded,
        manifest=manifest,
        report=report,
        paths=paths,
    )
