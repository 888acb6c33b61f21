"""Read an agency's extract (CSV or Parquet) in bounded chunks of strings.

Every cell comes back as a Python ``str`` (CSV: exactly as written; Parquet:
dates as ISO ``YYYY-MM-DD``, numbers as plain digits) or ``None`` for a null.
Problems are reported with line numbers, column names and byte offsets only,
never with cell contents: a malformed line in a file of victims' names must
not end up in a ticket.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from htlink.errors import InputDataError

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
PARQUET_SUFFIXES = {".parquet", ".pq"}


@dataclass(frozen=True)
class InputSpec:
    path: Path
    encoding: str = "utf-8"
    delimiter: str | None = None  # None: "," for .csv, tab for .tsv
    file_format: str = "auto"  # "auto" | "csv" | "parquet"

    @property
    def kind(self) -> str:
        if self.file_format != "auto":
            return self.file_format
        return "parquet" if self.path.suffix.lower() in PARQUET_SUFFIXES else "csv"

    @property
    def sep(self) -> str:
        if self.delimiter:
            return self.delimiter
        return "\t" if self.path.suffix.lower() == ".tsv" else ","


class _CountingReader(io.RawIOBase):
    """Wraps a binary file and reports how many bytes were read (for the progress bar)."""

    def __init__(self, raw: io.BufferedReader, on_read: Callable[[int], None] | None) -> None:
        self._raw = raw
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)
        if n and self._on_read:
            self._on_read(n)
        return n or 0


def _suggest_encoding(path: Path) -> str | None:
    from charset_normalizer import from_bytes

    with path.open("rb") as fh:
        sample = fh.read(1 << 20)
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    best = from_bytes(sample).best()
    return best.encoding if best is not None else None


def _decode_error(spec: InputSpec, exc: UnicodeDecodeError) -> InputDataError:
    suggestion = _suggest_encoding(spec.path)
    hint = (
        f"It looks like {suggestion}: re-run with --encoding {suggestion}, "
        "or save the file as UTF-8 and re-run."
        if suggestion and suggestion.replace("_", "-") not in ("utf-8", "ascii")
        else "Save the file as UTF-8 (in Excel: Save As > CSV UTF-8), or pass the file's "
        "encoding with --encoding (for example cp1252 or latin-1)."
    )
    return InputDataError(
        f"{spec.path} is not valid {spec.encoding} text: a byte sequence cannot be decoded "
        f"(near byte offset {exc.start} of a block being read).",
        hint,
    )


def read_header(spec: InputSpec) -> list[str]:
    """The column names of the input, with clear errors for empty or unreadable files."""
    if not spec.path.exists():
        raise InputDataError(
            f"The input file {spec.path} does not exist.", "Check the --input path."
        )
    if spec.path.stat().st_size == 0:
        raise InputDataError(
            f"The input file {spec.path} is empty.",
            "Export the extract again; it needs a header line and at least one record.",
        )
    if spec.kind == "parquet":
        try:
            return list(pq.ParquetFile(spec.path).schema_arrow.names)
        except (pa.ArrowInvalid, OSError):
            raise InputDataError(
                f"{spec.path} is not a readable Parquet file (it may be truncated).",
                "Export it again, or pass a CSV file instead.",
            ) from None
    try:
        with spec.path.open("r", encoding=_python_encoding(spec.encoding), newline="") as fh:
            first = fh.readline()
    except UnicodeDecodeError as exc:
        raise _decode_error(spec, exc) from None
    except LookupError:
        raise InputDataError(
            f"--encoding {spec.encoding} is not an encoding Python knows.",
            "Use a name such as utf-8, cp1252, latin-1 or utf-16.",
        ) from None
    if not first.strip():
        raise InputDataError(
            f"The first line of {spec.path} is empty; htlink needs a header line with "
            "column names.",
            "Remove the blank lines at the top of the file.",
        )
    header = next(csv.reader([first], delimiter=spec.sep))
    names = [h.strip() for h in header]
    if len(names) == 1 and spec.sep == "," and ";" in names[0]:
        raise InputDataError(
            f"{spec.path} has one column only, and its header contains ';'.",
            "The file is probably semicolon-separated: re-run with --delimiter ';'.",
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputDataError(
            f"{spec.path} has more than one column named {', '.join(dupes)}.",
            "Rename the duplicate columns so each name is unique.",
        )
    return names


def _python_encoding(name: str) -> str:
    # a UTF-8 byte-order mark (Excel writes one) is not part of the first column's name
    return "utf-8-sig" if name.replace("_", "-").lower() in ("utf-8", "utf8") else name


_FIELDS_RE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_ROW_RE = re.compile(r"(?:row|line) (\d+)")


def _parser_error(spec: InputSpec, exc: Exception) -> InputDataError:
    text = str(exc)
    m = _FIELDS_RE.search(text)
    if m:
        expected, line, saw = m.groups()
        return InputDataError(
            f"{spec.path}: line {line} has {saw} fields but the header has {expected}.",
            "Check that line for an unquoted delimiter or a stray quote, or pass the right "
            "--delimiter.",
        )
    m = _ROW_RE.search(text)
    where = f" near line {m.group(1)}" if m else ""
    return InputDataError(
        f"{spec.path} is not well-formed CSV{where} (for example a quote that is never closed, "
        "or a file cut off part-way).",
        "Export the file again and check its quoting.",
    )


def iter_chunks(
    spec: InputSpec,
    columns: list[str],
    chunk_size: int,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield DataFrames of ``columns`` (object dtype: str or None), ``chunk_size`` rows each."""
    if spec.kind == "parquet":
        yield from _iter_parquet(spec, columns, chunk_size, on_bytes)
        return
    raw = spec.path.open("rb")
    try:
        stream = io.BufferedReader(_CountingReader(raw, on_bytes), buffer_size=1 << 20)
        reader = pd.read_csv(
            stream,
            sep=spec.sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding=_python_encoding(spec.encoding),
            chunksize=chunk_size,
            skipinitialspace=False,
            engine="c",
        )
        first_line = 2  # line 1 is the header
        with reader:
            for chunk in reader:
                _check_shape(spec, chunk, first_line)
                first_line += len(chunk)
                chunk.columns = [c.strip() for c in chunk.columns]
                yield chunk[columns].astype(object)
    except UnicodeDecodeError as exc:
        raise _decode_error(spec, exc) from None
    except (pd.errors.ParserError, csv.Error) as exc:
        raise _parser_error(spec, exc) from None
    finally:
        raw.close()


def _check_shape(spec: InputSpec, chunk: pd.DataFrame, first_line: int) -> None:
    """Refuse rows with too many or too few fields instead of shifting or padding them.

    pandas reads a row with extra fields by silently turning leading fields into
    an index, and pads a short row with NaN (which ``na_filter=False`` never
    produces otherwise); both would put values under the wrong column.
    """
    if not isinstance(chunk.index, pd.RangeIndex):
        raise InputDataError(
            f"{spec.path}: a record has more fields than the header (from line {first_line}).",
            "Check for an unquoted delimiter inside a value, or pass the right --delimiter.",
        )
    short = chunk.isna().any(axis=1).to_numpy()
    if short.any():
        line = first_line + int(short.argmax())
        raise InputDataError(
            f"{spec.path}: line {line} has fewer fields than the header.",
            "Check that line for a missing delimiter or a line break inside an unquoted value.",
        )


def _iter_parquet(
    spec: InputSpec, columns: list[str], chunk_size: int, on_bytes: Callable[[int], None] | None
) -> Iterator[pd.DataFrame]:
    try:
        pf = pq.ParquetFile(spec.path)
        total_rows = max(pf.metadata.num_rows, 1)
        size = spec.path.stat().st_size
        for batch in pf.iter_batches(batch_size=chunk_size, columns=columns):
            frame = {}
            for name in columns:
                frame[name] = _arrow_to_strings(batch.column(batch.schema.get_field_index(name)))
            if on_bytes:
                on_bytes(int(size * batch.num_rows / total_rows))
            yield pd.DataFrame(frame, dtype=object)
    except (pa.ArrowInvalid, OSError):
        raise InputDataError(
            f"{spec.path} could not be read as Parquet (it may be truncated or corrupt).",
            "Export it again.",
        ) from None


def _arrow_to_strings(array: pa.Array) -> list[str | None]:
    if pa.types.is_timestamp(array.type):
        array = array.cast(pa.date32())
    if pa.types.is_date(array.type):
        return [None if v is None else v.isoformat() for v in array.to_pylist()]
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return array.to_pylist()
    if pa.types.is_floating(array.type):
        return [_float_text(v) for v in array.to_pylist()]
    return [None if v is None else str(v) for v in array.to_pylist()]


def _float_text(value: float | None) -> str | None:
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return str(int(value)) if value == int(value) else repr(value)
