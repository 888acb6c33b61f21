"""The ``given_name`` and ``surname`` rules.

A name goes through these steps (each one documented in docs/normalization.md):

1. the ``text`` rule, except that apostrophes are removed without a space
   (``O'Brien`` -> ``obrien``);
2. leading titles are removed (``Dr. Ana`` -> ``ana``) and trailing
   generational suffixes (``Smith Jr.`` -> ``smith``) as long as a word remains;
3. placeholders (``unknown``, ``n/a``, ``baby boy``, ...) become missing with
   reason ``placeholder``; names that still contain digits become missing with
   reason ``digits_in_name``;
4. surnames only: ``Mc``/``Mac``/``O`` written as a separate word are always
   joined to the next word, the connectors ``y``/``e``/``i`` between two words
   are dropped, then the ``particles`` and ``compound`` options apply;
   given names only: the ``keep`` option applies.

Steps 2-4 are repeated until the result no longer changes, so normalizing a
normalized name gives the same name back.
"""

from __future__ import annotations

from functools import partial
from itertools import pairwise

from htlink.normalize._fold import fold, run_check
from htlink.normalize.reasons import ValueResult, invalid

NAME_PARTS = ("given", "surname")
PARTICLE_MODES = ("join", "drop", "keep")
COMPOUND_MODES = ("space", "join", "first")
KEEP_MODES = ("all", "first")

#: Removed from the front of a name.  Words that are also common names
#: (Don, Lord, Sig, Hon, Ing, ...) are deliberately not in this list.
TITLES = frozenset(
    {
        # English
        "mr", "mrs", "ms", "mx", "miss", "mister", "mstr", "madam", "madame",
        "dr", "doctor", "prof", "professor", "rev", "revd", "reverend", "fr", "pastor",
        "capt", "sgt", "cpl", "pvt", "lt",
        # Spanish / Portuguese
        "sr", "sra", "srta", "sres", "dra", "senor", "senora", "senorita",
        # French
        "mme", "mlle", "mmes", "monsieur",
        # German / Dutch
        "herr", "frau", "hr", "dhr", "mevr",
    }
)  # fmt: skip

#: Removed from the end of a name when at least one word remains before them.
SUFFIXES = frozenset(
    {"jr", "jnr", "junior", "sr", "snr", "senior", "ii", "iii", "iv",
     "2nd", "3rd", "4th", "esq", "phd"}
)  # fmt: skip

#: Surname particles (handled by the ``particles`` option) when another word follows.
PARTICLES = frozenset(
    {
        "de", "del", "della", "delle", "dei", "degli", "dello", "di", "da", "dal", "dalla",
        "das", "do", "dos", "du", "des", "la", "las", "los", "le", "lo",
        "van", "vanden", "vander", "von", "der", "den", "dem", "ter", "ten", "te", "op",
        "zu", "zum", "zur", "af", "av",
        "al", "el", "bin", "ibn", "ben", "bint", "abu",
        "st", "ste", "saint", "sainte",
    }
)  # fmt: skip

#: Surname prefixes always joined to the next word ("Mc Donald" -> "mcdonald").
PREFIXES = frozenset({"mc", "mac", "o"})

#: Surname connectors dropped between two words ("Ortega y Gasset" -> "ortega gasset").
CONNECTORS = frozenset({"y", "e", "i"})

#: A name made only of these words is a placeholder.
PLACEHOLDER_WORDS = frozenset(
    {
        "unknown", "unk", "unkn", "unkown", "none", "null", "anonymous", "anon",
        "unnamed", "unidentified", "noname", "fnu", "lnu", "nfn", "nln", "nmn",
        "test", "testing", "patient", "dummy", "refused", "declined", "newborn",
        "babyboy", "babygirl", "boy", "girl", "xx",
    }
)  # fmt: skip

#: A name that is exactly one of these phrases is a placeholder.
PLACEHOLDER_PHRASES = frozenset(
    {
        "n a", "n k", "not known", "not stated", "not given", "not provided",
        "not available", "not applicable", "no name", "no first name", "no last name",
        "jane doe", "john doe", "baby doe", "test patient",
    }
)  # fmt: skip

_NEWBORN_FIRST = frozenset({"baby", "infant", "newborn"})
_NEWBORN_SECOND = frozenset({"boy", "girl", "male", "female", "b", "g", "m", "f"})
_NEWBORN_EXACT = frozenset({"babyboy", "babygirl"})


def _is_placeholder(words: list[str]) -> bool:
    words = [w for w in words if not w.isdigit()]
    if not words:
        return False
    if " ".join(words) in PLACEHOLDER_PHRASES:
        return True
    if all(w in PLACEHOLDER_WORDS or (len(w) >= 3 and len(set(w)) == 1) for w in words):
        return True
    # newborn registrations: "Baby Boy", "Baby Girl A", "Smith Baby Girl", "Babygirl Smith"
    if any(w in _NEWBORN_EXACT for w in words):
        return True
    return any(a in _NEWBORN_FIRST and b in _NEWBORN_SECOND for a, b in pairwise(words))


def _strip_titles_and_suffixes(words: list[str]) -> list[str]:
    start = 0
    while start < len(words) and words[start] in TITLES:
        start += 1
    words = words[start:]
    end = len(words)
    while end > 1 and words[end - 1] in SUFFIXES:
        end -= 1
    return words[:end]


def _surname(words: list[str], particles: str, compound: str) -> str:
    # Mc / Mac / O as separate words are joined to the next word.
    joined: list[str] = []
    i = 0
    while i < len(words):
        if words[i] in PREFIXES and i + 1 < len(words):
            joined.append(words[i] + words[i + 1])
            i += 2
        else:
            joined.append(words[i])
            i += 1
    words = [w for k, w in enumerate(joined) if not (w in CONNECTORS and 0 < k < len(joined) - 1)]
    # Group each run of particles with the word that follows it.
    units: list[list[str]] = []
    pending: list[str] = []
    for w in words:
        pending.append(w)
        if w not in PARTICLES:
            units.append(pending)
            pending = []
    if pending:  # trailing particles with no word after them are ordinary words
        units.extend([w] for w in pending)
    if particles == "join":
        parts = ["".join(u) for u in units]
    elif particles == "drop":
        parts = [u[-1] for u in units]
    else:
        parts = [" ".join(u) for u in units]
    if compound == "first":
        return parts[0]
    return ("" if compound == "join" else " ").join(parts)


def _name_once(folded: str, part: str, particles: str, compound: str, keep: str) -> ValueResult:
    words = _strip_titles_and_suffixes(folded.split())
    if not words:
        return invalid("empty")
    if _is_placeholder(words):
        return invalid("placeholder")
    if any(c.isdigit() for w in words for c in w):
        return invalid("digits_in_name")
    if part == "surname":
        return ValueResult(_surname(words, particles, compound))
    return ValueResult(words[0] if keep == "first" else " ".join(words))


def check_name(
    text: str,
    *,
    part: str = "given",
    particles: str = "join",
    compound: str = "space",
    keep: str = "all",
) -> ValueResult:
    """Normalize one name (text already known to be present); see the module docstring."""
    current = fold(text, drop_apostrophes=True)
    if not current:
        return invalid("empty")
    while True:
        result = _name_once(current, part, particles, compound, keep)
        if result.value is None or result.value == current:
            return result
        current = result.value


def normalize_name(
    value: object,
    part: str = "given",
    *,
    particles: str = "join",
    compound: str = "space",
    keep: str = "all",
) -> str | None:
    """A given name or surname in its canonical form, or None.

    ``part`` is ``"given"`` or ``"surname"``.  Surname options: ``particles``
    (``"join"``, ``"drop"``, ``"keep"``) and ``compound`` (``"space"``,
    ``"join"``, ``"first"``); given-name option: ``keep`` (``"all"``,
    ``"first"``).  Examples: ``normalize_name("José")`` -> ``"jose"``,
    ``normalize_name("de la Cruz", "surname")`` -> ``"delacruz"``,
    ``normalize_name("García-López", "surname")`` -> ``"garcia lopez"``.
    None when the value is missing, a placeholder, has digits or is empty.
    """
    if part not in NAME_PARTS:
        raise ValueError(f"part must be one of {NAME_PARTS}")
    if particles not in PARTICLE_MODES:
        raise ValueError(f"particles must be one of {PARTICLE_MODES}")
    if compound not in COMPOUND_MODES:
        raise ValueError(f"compound must be one of {COMPOUND_MODES}")
    if keep not in KEEP_MODES:
        raise ValueError(f"keep must be one of {KEEP_MODES}")
    check = partial(check_name, part=part, particles=particles, compound=compound, keep=keep)
    return run_check(value, check)[1].value
