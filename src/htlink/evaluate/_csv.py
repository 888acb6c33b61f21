"""Reading the evaluation's CSV inputs as strings, with errors that name no value.

Every problem is reported by file, column and line number.  A file without a
header line would make its first record the "column names", so the names found
are never echoed either -- only how many there were.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from htlink.errors import InputDataError

_CSV_HINT = "Save it as a UTF-8 CSV file with a header line; quote values that contain commas."


def header_names(path: Path, what: str, *, strip: bool = True) -> list[str]:
    """The column names in a CSV file's header line (stripped unless ``strip=False``)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            row = next(csv.reader(fh), None)
    except UnicodeDecodeError:
        raise InputDataError(f"The {what} file {path} is not UTF-8 text.", _CSV_HINT) from None
    except csv.Error:
        raise InputDataError(
            f"The {what} file {path} has a malformed header line.", _CSV_HINT
        ) from None
    except OSError as exc:
        raise InputDataError(
            f"The {what} file {path} could not be read ({exc.strerror or type(exc).__name__}).",
            "Check the path and that you may read the file.",
        ) from None
    if row is None:
        raise InputDataError(f"The {what} file {path} is empty.", _CSV_HINT)
    return [c.strip() for c in row] if strip else row


def read_string_table(
    path: Path | str,
    *,
    what: str,
    required: Sequence[str] | Sequence[Sequence[str]],
    optional: Sequence[str] = (),
) -> pd.DataFrame:
    """The named columns of a CSV file, every value a stripped ``str`` ("" when empty).

    ``required`` lists column names; an entry that is itself a sequence of names
    means "at least one of these".  Missing columns and unreadable files raise
    :class:`~htlink.errors.InputDataError`.  The frame's index is the row number
    (0 = the first line after the header).
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(
            f"The {what} file {path} does not exist.", "Check the path (and the working folder)."
        )
    header = header_names(path, what)
    present = set(header)
    missing: list[str] = []
    for entry in required:
        names = [entry] if isinstance(entry, str) else list(entry)
        if not present.intersection(names):
            missing.append(" or ".join(names))
    if missing:
        raise InputDataError(
            f"The {what} file {path} has no column {', '.join(missing)} "
            f"(its header line has {len(header)} columns).",
            "The first line must be a header naming the columns; see docs/evaluation.md "
            "for the columns each file needs.",
        )
    wanted: list[str] = []
    for entry in [*required, *optional]:
        for name in [entry] if isinstance(entry, str) else entry:
            if name in present and name not in wanted:
                wanted.append(name)
    raw = {}
    for name in header_names(path, what, strip=False):
        raw.setdefault(name.strip(), name)
    if len(raw) != len(header):
        raise InputDataError(
            f"The {what} file {path} names a column twice in its header line.", _CSV_HINT
        )
    try:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in raw.values()},
                include_columns=[raw[name] for name in wanted],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:  # the message quotes the offending line: never pass it on
        if "UTF8" in str(exc):
            raise InputDataError(f"The {what} file {path} is not UTF-8 text.", _CSV_HINT) from None
        line = _first_bad_line(path, len(header))
        where = f" at line {line}" if line else ""
        raise InputDataError(
            f"The {what} file {path} is not a well-formed CSV file{where}: a line has a "
            "different number of fields than the header.",
            _CSV_HINT,
        ) from None
    except OSError as exc:
        raise InputDataError(
            f"The {what} file {path} could not be read ({type(exc).__name__}).", _CSV_HINT
        ) from None
    return pd.DataFrame(
        {name: strip_strings(table.column(raw[name])) for name in wanted}, dtype=object
    )


def strip_strings(values: pa.ChunkedArray | pa.Array | pd.Series | np.ndarray) -> np.ndarray:
    """Strings with surrounding white space removed, as an object array of ``str``."""
    if not isinstance(values, pa.ChunkedArray | pa.Array):
        series = pd.Series(np.asarray(values, dtype=object), dtype=object)
        series = series.where(series.notna(), "")  # a missing value is an empty one
        values = pa.array(series.astype(str).to_numpy(dtype=object), type=pa.string())
    return pc.utf8_trim_whitespace(values).to_numpy(zero_copy_only=False).astype(object)


def _first_bad_line(path: Path, width: int) -> int | None:
    """The line number of the first record whose field count differs from the header's."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            start = reader.line_num  # the line before the next record begins
            for row in reader:
                if row and len(row) != width:
                    return start + 1
                start = reader.line_num
    except (csv.Error, UnicodeDecodeError):
        return None
    return None


def line_numbers(mask: np.ndarray | pd.Series, limit: int = 3) -> str:
    """The file line numbers (header = line 1) of the first rows where ``mask`` holds."""
    rows = np.flatnonzero(np.asarray(mask))[:limit]
    text = ", ".join(str(int(r) + 2) for r in rows)
    return f"line {text}" if len(rows) == 1 else f"lines {text}"


def require_nonempty(frame: pd.DataFrame, columns: Sequence[str], path: Path, what: str) -> None:
    """Refuse rows where one of ``columns`` is empty, naming lines, never values."""
    for col in columns:
        empty = (frame[col] == "").to_numpy()
        if empty.any():
            raise InputDataError(
                f"{int(empty.sum())} rows of the {what} file {path} have an empty {col} "
                f"(first at {line_numbers(empty)}).",
                f"Every row needs a {col}.",
            )
