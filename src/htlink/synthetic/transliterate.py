"""Cyrillic to Latin the way different agencies and passports do it.

One Russian or Ukrainian name reaches US records in several Latin spellings:
Екатерина is *Yekaterina* (BGN/PCGN, US government usage), *Ekaterina*
(ICAO passports) or *Jekaterina* (German and Polish usage); Юлия is *Yuliya*,
*Iuliia* or *Julija*.  :func:`transliterate` writes a name in one of the
:data:`SCHEMES`; :func:`strip_marks` drops diacritics from Latin text
(``Nguyễn`` -> ``Nguyen``) the way many agency systems do.
"""

from __future__ import annotations

import unicodedata

from anyascii import anyascii

#: Scheme names, per language.  The first one is the usual US spelling.
SCHEMES = ("bgn", "icao", "german")

_VOWELS = set("аеёиоуыэюяієїАЕЁИОУЫЭЮЯІЄЇ")
_SOFTENERS = set("ъьйЪЬЙ")

# char -> (at word start -- in Russian also after a vowel -- , elsewhere)
_COMMON = {
    "а": "a", "б": "b", "д": "d", "з": "z", "к": "k", "л": "l", "м": "m", "н": "n",
    "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "ь": "",
    "ъ": "",
}

_RU: dict[str, dict[str, tuple[str, str]]] = {
    "bgn": {
        "в": ("v", "v"), "г": ("g", "g"), "е": ("ye", "e"), "ё": ("yo", "yo"),
        "ж": ("zh", "zh"), "и": ("i", "i"), "й": ("y", "y"), "х": ("kh", "kh"),
        "ц": ("ts", "ts"), "ч": ("ch", "ch"), "ш": ("sh", "sh"), "щ": ("shch", "shch"),
        "ы": ("y", "y"), "э": ("e", "e"), "ю": ("yu", "yu"), "я": ("ya", "ya"),
    },
    "icao": {
        "в": ("v", "v"), "г": ("g", "g"), "е": ("e", "e"), "ё": ("e", "e"),
        "ж": ("zh", "zh"), "и": ("i", "i"), "й": ("i", "i"), "х": ("kh", "kh"),
        "ц": ("ts", "ts"), "ч": ("ch", "ch"), "ш": ("sh", "sh"), "щ": ("shch", "shch"),
        "ы": ("y", "y"), "э": ("e", "e"), "ю": ("iu", "iu"), "я": ("ia", "ia"),
        "ъ": ("ie", "ie"),
    },
    "german": {
        "в": ("w", "w"), "г": ("g", "g"), "е": ("je", "e"), "ё": ("jo", "jo"),
        "ж": ("sch", "sch"), "и": ("i", "i"), "й": ("j", "j"), "х": ("ch", "ch"),
        "ц": ("z", "z"), "ч": ("tsch", "tsch"), "ш": ("sch", "sch"),
        "щ": ("schtsch", "schtsch"), "ы": ("y", "y"), "э": ("e", "e"),
        "ю": ("ju", "ju"), "я": ("ja", "ja"), "з": ("s", "s"),
    },
}

_UK: dict[str, dict[str, tuple[str, str]]] = {
    # Ukraine's 2010 national system (passports): positional ye/ie, yu/iu, ...
    "bgn": {
        "в": ("v", "v"), "г": ("h", "h"), "ґ": ("g", "g"), "е": ("e", "e"),
        "є": ("ye", "ie"), "ж": ("zh", "zh"), "и": ("y", "y"), "і": ("i", "i"),
        "ї": ("yi", "i"), "й": ("y", "i"), "х": ("kh", "kh"), "ц": ("ts", "ts"),
        "ч": ("ch", "ch"), "ш": ("sh", "sh"), "щ": ("shch", "shch"),
        "ю": ("yu", "iu"), "я": ("ya", "ia"),
    },
    # the same letters written without the positional rule
    "icao": {
        "в": ("v", "v"), "г": ("h", "h"), "ґ": ("g", "g"), "е": ("e", "e"),
        "є": ("ye", "ye"), "ж": ("zh", "zh"), "и": ("y", "y"), "і": ("i", "i"),
        "ї": ("yi", "yi"), "й": ("y", "y"), "х": ("kh", "kh"), "ц": ("ts", "ts"),
        "ч": ("ch", "ch"), "ш": ("sh", "sh"), "щ": ("shch", "shch"),
        "ю": ("yu", "yu"), "я": ("ya", "ya"),
    },
    # Russian-style reading of Ukrainian letters, common in older records
    "german": {
        "в": ("v", "v"), "г": ("g", "g"), "ґ": ("g", "g"), "е": ("e", "e"),
        "є": ("ye", "ye"), "ж": ("zh", "zh"), "и": ("i", "i"), "і": ("i", "i"),
        "ї": ("yi", "yi"), "й": ("y", "y"), "х": ("kh", "kh"), "ц": ("ts", "ts"),
        "ч": ("ch", "ch"), "ш": ("sh", "sh"), "щ": ("sch", "sch"),
        "ю": ("yu", "yu"), "я": ("ya", "ya"),
    },
}

_TABLES = {"ru": _RU, "uk": _UK}


def transliterate(text: str, scheme: str = "bgn", language: str = "ru") -> str:
    """``text`` with Cyrillic letters written in Latin by ``scheme``.

    ``language`` is ``"ru"`` or ``"uk"``; other characters pass through, and
    letters no table knows fall back to anyascii.  Capitals stay capitals
    (``Щ`` -> ``Shch``; a capital within an all-capital word stays all capitals).
    """
    table = _TABLES[language][scheme]
    out: list[str] = []
    prev = ""
    for i, char in enumerate(text):
        low = char.lower()
        word_start = not prev.isalpha()
        if low in table:
            initial, medial = table[low]
            after_vowel = language == "ru" and (prev in _VOWELS or prev in _SOFTENERS)
            latin = initial if word_start or after_vowel else medial
        elif low in _COMMON:
            latin = _COMMON[low]
        elif "\u0400" <= char <= "\u04ff":
            latin = anyascii(low)
        else:
            latin = char
        if char != low and latin:
            nxt = text[i + 1] if i + 1 < len(text) else ""
            all_caps = nxt.isupper() or (prev.isupper() and not nxt.islower())
            latin = latin.upper() if all_caps else latin[0].upper() + latin[1:]
        out.append(latin)
        prev = char
    return "".join(out)


def is_cyrillic(text: str) -> bool:
    """True when ``text`` has at least one Cyrillic letter."""
    return any("\u0400" <= c <= "\u04ff" for c in text)


def strip_marks(text: str) -> str:
    """Latin text without diacritics: ``Nguyễn`` -> ``Nguyen``, ``Łukasz`` -> ``Lukasz``.

    Letters of other scripts are left as they are (Cyrillic ``й`` stays ``й``).
    """
    if text.isascii():
        return text
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char.isascii() or is_cyrillic(char) or not char.isalpha():
            out.append(char)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        if base.isascii() and base:
            out.append(base)
        elif "LATIN" in unicodedata.name(char, ""):
            out.append(anyascii(char) or char)  # letters such as Ł, Đ, ß
        else:
            out.append(char)
    return "".join(out)
