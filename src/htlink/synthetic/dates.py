"""Dates as whole days since 1970-01-01, the unit the generator computes in."""

from __future__ import annotations

import datetime as dt

import numpy as np

EPOCH = dt.date(1970, 1, 1)
DAYS_PER_YEAR = 365.2425
#: "No such day" (no marriage, no further move): later than any real date.
NEVER = np.iinfo(np.int32).max


def to_day(date: dt.date) -> int:
    """Days from 1970-01-01 to ``date``."""
    return (date - EPOCH).days


def split_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day arrays of day numbers."""
    d = days.astype("datetime64[D]")
    years = d.astype("datetime64[Y]")
    months = d.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years).astype(np.int64) + 1
    day = (d - months).astype(np.int64) + 1
    return year, month, day


def days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """The number of days of each (year, month)."""
    first = (year - 1970) * 12 + (month - 1)
    start = first.astype("datetime64[M]").astype("datetime64[D]")
    end = (first + 1).astype("datetime64[M]").astype("datetime64[D]")
    return (end - start).astype(np.int64)


def format_ymd(year: np.ndarray, month: np.ndarray, day: np.ndarray, pattern: str) -> list[str]:
    """Dates written by ``pattern``: ``"MDY/"`` -> 03/14/1987, ``"YMD-"`` -> 1987-03-14,
    ``"DMY."`` -> 14.03.1987."""
    order, sep = pattern[:3], pattern[3]
    y, m, d = year.tolist(), month.tolist(), day.tolist()
    if order == "MDY":
        return [f"{b:02d}{sep}{c:02d}{sep}{a:04d}" for a, b, c in zip(y, m, d, strict=True)]
    if order == "DMY":
        return [f"{c:02d}{sep}{b:02d}{sep}{a:04d}" for a, b, c in zip(y, m, d, strict=True)]
    return [f"{a:04d}{sep}{b:02d}{sep}{c:02d}" for a, b, c in zip(y, m, d, strict=True)]
