"""Normalizing a whole column: each distinct value once, counts by reason.

Files have up to a million rows but far fewer distinct values, so
:func:`normalize_column` factorizes the column, normalizes the distinct values
and maps the results back through the codes.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from htlink.errors import InputDataError
from htlink.normalize._fold import run_check
from htlink.normalize.dates import DATE_ORDER_HINT, NEEDS_ORDER, check_date_formatted
from htlink.normalize.names import check_name
from htlink.normalize.phone import check_phone
from htlink.normalize.postal import check_us_zip
from htlink.normalize.reasons import ValueResult
from htlink.normalize.rules import AgencyOptions, NormalizationRule
from htlink.normalize.sex import check_sex
from htlink.normalize.text import check_digits, check_postcode, check_text

_DEFAULT_OPTIONS = AgencyOptions()


@dataclass
class NormalizedColumn:
    """A normalized column and what happened to its values.

    ``values`` has the input's index, length and name, object dtype, and holds
    ``str`` (normalized) or ``None`` (missing).  Every row is counted exactly
    once: ``n_input_missing + n_invalid + n_valid == len(values)``.  The counts
    and reason codes never contain record values, so they are safe to log.
    """

    values: pd.Series
    n_input_missing: int = 0
    n_invalid: int = 0
    invalid_reasons: dict[str, int] = field(default_factory=dict)
    n_changed: int = 0
    n_repaired: int = 0

    @property
    def n_valid(self) -> int:
        """Rows with a normalized value."""
        return len(self.values) - self.n_input_missing - self.n_invalid


def _checker(rule: NormalizationRule, options: AgencyOptions) -> Callable[[str], ValueResult]:
    kind = rule.kind
    if kind == "text":
        return check_text
    if kind == "given_name":
        return partial(check_name, part="given", keep=rule.keep)
    if kind == "surname":
        return partial(check_name, part="surname", particles=rule.particles,
                       compound=rule.compound)  # fmt: skip
    if kind == "date":
        assert rule.date_format is not None  # guaranteed by NormalizationRule
        return partial(
            check_date_formatted,
            date_format=rule.date_format,
            order=options.date_order,
            two_digit_year_pivot=rule.two_digit_year_pivot,
            min_year=rule.min_year,
            today=options.today or _dt.date.today(),
        )
    if kind == "sex":
        return partial(check_sex, codes=rule.codes, iso5218=rule.iso5218)
    if kind == "us_zip":
        return partial(check_us_zip, restore_leading_zero=rule.restore_leading_zero)
    if kind == "postcode":
        return check_postcode
    if kind == "phone":
        return partial(check_phone, country=rule.country)
    if kind == "digits":
        return partial(check_digits, length=rule.length)
    raise AssertionError(f"unhandled kind {kind}")  # pragma: no cover - RULE_KINDS is closed


def _needs_order_error(feature: str, count: int) -> InputDataError:
    return InputDataError(
        f'Feature "{feature}": {count} value(s) are dates written with day and month as '
        "numbers (NN/NN/YYYY), which can be read two ways.",
        DATE_ORDER_HINT,
    )


def normalize_value(
    value: object, rule: NormalizationRule, options: AgencyOptions = _DEFAULT_OPTIONS
) -> ValueResult:
    """Normalize one value with ``rule``: the value, or why it is missing.

    Raises :class:`~htlink.errors.InputDataError` for a day/month-ambiguous
    date when ``options.date_order`` is None (as :func:`normalize_column` does).
    """
    _, result = run_check(value, _checker(rule, options))
    if result.reason == NEEDS_ORDER:
        raise _needs_order_error(rule.feature, 1)
    return result


def normalize_column(
    values: pd.Series,
    rule: NormalizationRule,
    options: AgencyOptions = _DEFAULT_OPTIONS,
) -> NormalizedColumn:
    """Normalize every value of a column with ``rule``.

    Missing cells (None, NaN, pd.NA, NaT, empty or whitespace-only text) are
    counted in ``n_input_missing``; present values that are invalid become
    None and are counted in ``n_invalid`` and, by reason code, in
    ``invalid_reasons``.  Raises :class:`~htlink.errors.InputDataError` when
    a ``date`` column holds dates like 03/04/1990 and ``options.date_order``
    is None; the message names the feature and a count, never a value.
    """
    if not isinstance(values, pd.Series):
        values = pd.Series(values, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    codes = np.asarray(codes)
    n_uniques = len(uniques)
    counts = np.bincount(codes[codes >= 0], minlength=n_uniques)
    check = _checker(rule, options)

    out = np.full(n_uniques + 1, None, dtype=object)  # the last slot serves code -1
    n_input_missing = int(np.count_nonzero(codes < 0))
    n_invalid = n_changed = n_repaired = needs_order = 0
    reasons: Counter[str] = Counter()
    for i, unique in enumerate(uniques.tolist()):
        count = int(counts[i])
        text, result = run_check(unique, check)
        if result.value is not None:
            out[i] = result.value
            n_changed += count if result.value != text else 0
            n_repaired += count if result.repaired else 0
        elif result.reason is None:
            n_input_missing += count
        elif result.reason == NEEDS_ORDER:
            needs_order += count
        else:
            n_invalid += count
            reasons[result.reason] += count
    if needs_order:
        raise _needs_order_error(rule.feature, needs_order)

    normalized = pd.Series(out[codes], index=values.index, name=values.name, dtype=object)
    return NormalizedColumn(
        values=normalized,
        n_input_missing=n_input_missing,
        n_invalid=n_invalid,
        invalid_reasons=dict(sorted(reasons.items())),
        n_changed=n_changed,
        n_repaired=n_repaired,
    )
