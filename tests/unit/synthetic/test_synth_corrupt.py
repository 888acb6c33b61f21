"""String corruptions and transliteration: never fail, always text, deterministic."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htlink.synthetic.corrupt import (
    digit_typo,
    keyboard_typo,
    ocr_error,
    phonetic_misspelling,
)
from htlink.synthetic.transliterate import SCHEMES, strip_marks, transliterate

FUNCTIONS = [keyboard_typo, ocr_error, phonetic_misspelling, digit_typo]
NAMES = st.one_of(
    st.text(),
    st.sampled_from(["Elizabeth", "GARCÍA LÓPEZ", "Nguyễn Thị", "Екатерина", "O'Brien", "", " ",
                     "03/14/1987", "02134-1234", "(617) 555-0134", "\x00", "ß", "İ"]),
)


@settings(max_examples=300, deadline=None)
@given(text=NAMES, seed=st.integers(0, 2**32))
def test_corruptions_never_fail_and_return_text(text: str, seed: int) -> None:
    for fn in FUNCTIONS:
        out = fn(text, random.Random(seed))
        assert isinstance(out, str)
        assert out == fn(text, random.Random(seed))
        if text.strip():
            assert out.strip(), "a corruption must not turn a value into a missing one"


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", min_size=2, max_size=20),
       seed=st.integers(0, 2**32))
def test_a_typo_is_one_small_edit(text: str, seed: int) -> None:
    out = keyboard_typo(text, random.Random(seed))
    assert abs(len(out) - len(text)) <= 1
    assert sum(a != b for a, b in zip(out, text, strict=False)) <= len(text)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="0123456789/-. ", min_size=1), seed=st.integers(0, 2**32))
def test_digit_typo_changes_exactly_one_digit(text: str, seed: int) -> None:
    out = digit_typo(text, random.Random(seed))
    assert len(out) == len(text)
    diff = [(a, b) for a, b in zip(text, out, strict=True) if a != b]
    if any(c.isdigit() for c in text):
        assert len(diff) == 1 and diff[0][1].isdigit()
    else:
        assert out == text


def test_known_confusions() -> None:
    rnd = random.Random(3)
    seen = {ocr_error("Marni", rnd) for _ in range(200)}
    assert "Mami" in seen  # rn -> m
    seen = {phonetic_misspelling("Stephanie", rnd) for _ in range(300)}
    assert "Stefanie" in seen  # ph -> f
    assert "Stephany" in seen  # ie -> y
    assert phonetic_misspelling("NGUYEN", random.Random(1)).isupper()


@pytest.mark.parametrize(
    ("cyrillic", "language", "spellings"),
    [
        ("Екатерина", "ru", ("Yekaterina", "Ekaterina", "Jekaterina")),
        ("Юлия", "ru", ("Yuliya", "Iuliia", "Julija")),
        ("Соловьёв", "ru", ("Solovyov", "Solovev", "Solowjow")),
        ("Дмитрий", "ru", ("Dmitriy", "Dmitrii", "Dmitrij")),
        ("Андрій", "uk", ("Andrii", "Andriy", "Andriy")),
        ("Гнатюк", "uk", ("Hnatiuk", "Hnatyuk", "Gnatyuk")),
    ],
)
def test_transliteration_schemes(cyrillic: str, language: str, spellings: tuple) -> None:
    assert tuple(transliterate(cyrillic, s, language) for s in SCHEMES) == spellings
    assert transliterate(cyrillic.upper(), "bgn", language) == spellings[0].upper()


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_transliteration_and_mark_stripping_never_fail(text: str) -> None:
    for scheme in SCHEMES:
        for language in ("ru", "uk"):
            assert isinstance(transliterate(text, scheme, language), str)
    assert isinstance(strip_marks(text), str)


def test_strip_marks() -> None:
    assert strip_marks("Nguyễn Đặng Wójcik Łukasz García") == "Nguyen Dang Wojcik Lukasz Garcia"
    assert strip_marks("Ольга") == "Ольга"
