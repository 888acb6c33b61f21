"""String corruptions: keyboard typos, OCR confusions, spellings by sound, digit slips.

Each function takes a text and a :class:`random.Random` and returns a text
(possibly the same one: a name with nothing to confuse stays as it is).  They
never fail, whatever the text, so they can be applied blindly to a column.
Capitals stay capitals: a replacement for ``Ph`` in ``Philip`` is ``F``.
"""

from __future__ import annotations

import random

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, str]:
    pos = {c: (r, i) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}
    out: dict[str, str] = {}
    for c, (r, i) in pos.items():
        near = []
        for rr in (r - 1, r, r + 1):
            if 0 <= rr < len(_ROWS):
                for ii in (i - 1, i, i + 1):
                    if 0 <= ii < len(_ROWS[rr]) and (rr, ii) != (r, i):
                        near.append(_ROWS[rr][ii])
        out[c] = "".join(near)
    for d in "0123456789":
        k = int(d)
        out[d] = "".join(str(x) for x in (k - 1, k + 1) if 0 <= x <= 9)
    return out


#: Keys next to each key on a US QWERTY keyboard (digits: the digits beside them).
KEYBOARD_NEIGHBOURS = _neighbours()

#: (seen, read as): what OCR confuses, both ways round where that happens.
OCR_CONFUSIONS: tuple[tuple[str, str], ...] = (
    ("0", "O"), ("O", "0"), ("1", "l"), ("l", "1"), ("1", "I"), ("I", "1"),
    ("5", "S"), ("S", "5"), ("8", "B"), ("B", "8"), ("2", "Z"), ("6", "G"),
    ("rn", "m"), ("m", "rn"), ("cl", "d"), ("vv", "w"), ("w", "vv"), ("li", "h"),
    ("e", "c"), ("c", "e"), ("a", "o"), ("n", "h"), ("h", "b"), ("u", "v"),
    ("i", "l"), ("l", "i"), ("g", "q"), ("y", "v"), ("E", "F"), ("P", "F"),
    ("U", "V"), ("N", "H"), ("Q", "O"), ("C", "G"),
)

#: (written, sounds the same as), lower case; applied to one occurrence.
PHONETIC_RULES: tuple[tuple[str, str], ...] = (
    ("ph", "f"), ("f", "ph"), ("ie", "y"), ("y", "ie"), ("ey", "y"), ("y", "i"),
    ("i", "y"), ("ck", "k"), ("c", "k"), ("k", "c"), ("ch", "sh"), ("sh", "ch"),
    ("s", "z"), ("z", "s"), ("ei", "ie"), ("ou", "u"), ("ll", "l"), ("l", "ll"),
    ("tt", "t"), ("t", "tt"), ("nn", "n"), ("n", "nn"), ("ss", "s"), ("s", "ss"),
    ("rr", "r"), ("r", "rr"), ("mm", "m"), ("m", "mm"), ("th", "t"), ("x", "ks"),
    ("qu", "kw"), ("v", "w"), ("w", "v"), ("b", "v"), ("v", "b"), ("j", "h"),
    ("h", ""), ("ee", "i"), ("oo", "u"), ("ae", "e"), ("kh", "h"), ("dzh", "j"),
    ("zh", "j"), ("ya", "ia"), ("yu", "iu"), ("ai", "ay"), ("ay", "ai"), ("gh", "g"),
    ("dt", "t"), ("ts", "tz"), ("an", "en"), ("en", "an"), ("er", "ar"), ("ar", "er"),
)


def _match_case(original: str, replacement: str, all_caps: bool) -> str:
    if not replacement or not original[:1].isupper():
        return replacement
    if all_caps or (len(original) > 1 and original.isupper()):
        return replacement.upper()
    return replacement[0].upper() + replacement[1:]


def _replace_one(text: str, rules: tuple[tuple[str, str], ...], rnd: random.Random,
                 *, fold_case: bool) -> str:
    """Apply one randomly chosen applicable rule at one of its occurrences."""
    haystack = text.lower() if fold_case else text
    options: list[tuple[int, str, str]] = []
    for seen, read in rules:
        start = haystack.find(seen)
        while start != -1:
            options.append((start, seen, read))
            start = haystack.find(seen, start + 1)
    if not options:
        return text
    start, seen, read = options[rnd.randrange(len(options))]
    original = text[start : start + len(seen)]
    new = _match_case(original, read, text.isupper()) if fold_case else read
    out = text[:start] + new + text[start + len(seen) :]
    # a replacement that empties the text would be a missing value, not a misspelling
    return out if out.strip() else text


def keyboard_typo(text: str, rnd: random.Random) -> str:
    """One slip of the finger: a neighbouring key, an extra or lost letter, or two swapped."""
    letters = [i for i, c in enumerate(text) if c.isalnum()]
    if not letters:
        return text
    i = letters[rnd.randrange(len(letters))]
    char = text[i]
    near = KEYBOARD_NEIGHBOURS.get(char.lower(), "")
    kind = rnd.randrange(4)
    if kind == 0 and near:  # substitution
        new = rnd.choice(near)
        return text[:i] + (new.upper() if char.isupper() else new) + text[i + 1 :]
    if kind == 1 and near:  # insertion of a neighbouring key
        new = rnd.choice(near)
        caps = char.isupper() and text.isupper()
        return text[: i + 1] + (new.upper() if caps else new) + text[i + 1 :]
    if kind == 2 and len(letters) > 1:  # deletion
        return text[:i] + text[i + 1 :]
    if i + 1 < len(text) and text[i + 1].isalnum() and text[i + 1] != char:  # transposition
        a, b = text[i], text[i + 1]
        if i == 0 and a.isupper():
            a, b = a.lower(), b.upper()
        return text[:i] + b + a + text[i + 2 :]
    if len(letters) > 1:
        return text[:i] + text[i + 1 :]
    return text


def ocr_error(text: str, rnd: random.Random) -> str:
    """One confusion a scanner makes: ``0``/``O``, ``1``/``l``, ``rn``/``m``, ``cl``/``d``..."""
    return _replace_one(text, OCR_CONFUSIONS, rnd, fold_case=False)


def phonetic_misspelling(text: str, rnd: random.Random) -> str:
    """The name written the way it sounds: ``Stephen``/``Steven``, ``Kathy``/``Cathy``..."""
    return _replace_one(text, PHONETIC_RULES, rnd, fold_case=True)


def digit_typo(text: str, rnd: random.Random) -> str:
    """One digit of ``text`` replaced by another digit (dates, ZIP codes, phones)."""
    digits = [i for i, c in enumerate(text) if "0" <= c <= "9"]
    if not digits:
        return text
    i = digits[rnd.randrange(len(digits))]
    near = KEYBOARD_NEIGHBOURS[text[i]]
    new = rnd.choice(near + "0123456789".replace(text[i], ""))
    return text[:i] + new + text[i + 1 :]
