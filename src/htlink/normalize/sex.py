"""The ``sex`` rule: many spellings in, one code per category out."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from htlink.normalize._fold import fold, run_check
from htlink.normalize.reasons import ValueResult, invalid

SEX_CATEGORIES = ("male", "female", "other")


@dataclass(frozen=True)
class SexCodes:
    """The output code of each category (rule option ``codes``)."""

    male: str = "m"
    female: str = "f"
    other: str = "x"

    def code(self, category: str) -> str:
        return str(getattr(self, category))


_SPELLINGS: dict[str, tuple[str, ...]] = {
    "male": (
        "m", "male", "man", "boy", "masculine", "masculino", "masc", "h", "hombre", "varon",
        "nino", "homme", "masculin", "mann", "mannlich", "maennlich", "maschio",
    ),
    "female": (
        "f", "female", "woman", "girl", "feminine", "femenino", "fem", "mujer", "nina",
        "femme", "feminin", "frau", "weiblich", "femmina", "feminino",
    ),
    "other": (
        "x", "nonbinary", "non binary", "other", "intersex", "otro", "otra", "no binario",
        "divers", "indeterminate",
    ),
    "unknown": (
        "u", "unknown", "unk", "not known", "not stated", "not recorded", "not specified",
        "declined", "declined to state", "declined to answer", "refused",
        "prefer not to say", "prefer not to answer", "desconocido", "no consta",
    ),
}  # fmt: skip
SPELLINGS: dict[str, str] = {s: cat for cat, spellings in _SPELLINGS.items() for s in spellings}
_ISO5218 = {"1": "male", "2": "female", "0": "unknown", "9": "unknown"}


def _category(folded: str, iso5218: bool) -> str:
    """A category from SEX_CATEGORIES, or a reason code."""
    if folded.isdigit():
        if not iso5218:
            return "numeric_code"
        return _ISO5218.get(folded.lstrip("0") or "0", "unrecognized")
    category = SPELLINGS.get(folded)
    if category is None:
        # "F (female)", "M - Male": every word says the same thing
        found = {SPELLINGS.get(w) for w in folded.split()}
        category = found.pop() if len(found) == 1 else None
    if category is None:
        return "unrecognized"
    return category


def check_sex(text: str, *, codes: SexCodes = SexCodes(), iso5218: bool = False) -> ValueResult:
    folded = fold(text)
    if not folded:
        return invalid("unrecognized")
    category = _category(folded, iso5218)
    if category in SEX_CATEGORIES:
        return ValueResult(codes.code(category))
    return invalid(category)


def normalize_sex(
    value: object, *, codes: SexCodes | None = None, iso5218: bool = False
) -> str | None:
    """``"Female"``, ``"F"``, ``"mujer"`` -> ``"f"``; ``"unknown"``, ``"declined"`` -> None.

    ``codes`` sets the output code of each category (default m/f/x).  Numeric
    codes are read as ISO 5218 (1 male, 2 female, 0/9 unknown) only with
    ``iso5218=True``; otherwise they give None.
    """
    check = partial(check_sex, codes=codes or SexCodes(), iso5218=iso5218)
    return run_check(value, check)[1].value
