"""The given_name and surname rules."""

import pytest

from htlink.normalize import NormalizationRule, normalize_name, normalize_value


def surname(value, **options):
    return normalize_name(value, "surname", **options)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("José", "jose"),
        ("Müller", "muller"),
        ("MÜLLER", "muller"),
        ("Иванов", "ivanov"),
        ("Παπαδόπουλος", "papadopoylos"),
        ("محمد", "mhmd"),
        ("Nguyễn", "nguyen"),
        ("Đặng", "dang"),
        ("王", "wang"),
        ("小明", "xiaoming"),
        ("Łukasz", "lukasz"),
        ("  Anne   Marie ", "anne marie"),
        ("Jean-Pierre", "jean pierre"),
        ("J. Robert", "j robert"),
        ("Игорь", "igor"),  # the soft sign transliterates to an apostrophe, which is dropped
    ],
)
def test_transliteration_and_cleanup(raw, expected):
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("O'Brien", "obrien"),
        ("O’Brien", "obrien"),
        ("O´Brien", "obrien"),
        ("D'Angelo", "dangelo"),
        ("N'Diaye", "ndiaye"),
    ],
)
def test_apostrophes_are_dropped_without_a_space(raw, expected):
    assert surname(raw) == expected


@pytest.mark.parametrize(
    ("raw", "part", "expected"),
    [
        ("Mr. John", "given", "john"),
        ("Dr. Ana María", "given", "ana maria"),
        ("Sra. Pérez", "surname", "perez"),
        ("Prof. Dr. Weber", "surname", "weber"),
        ("Mme Dubois", "surname", "dubois"),
        ("Smith Jr.", "surname", "smith"),
        ("Smith, Jr", "surname", "smith"),
        ("Smith Sr", "surname", "smith"),
        ("Smith III", "surname", "smith"),
        ("King 2nd", "surname", "king"),
        ("John II", "given", "john"),
        ("Junior", "given", "junior"),  # a suffix alone is kept: it is the name
        ("Jr", "surname", "jr"),
    ],
)
def test_titles_and_suffixes(raw, part, expected):
    assert normalize_name(raw, part) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("de la Cruz", "delacruz"),
        ("De La Cruz", "delacruz"),
        ("van der Berg", "vanderberg"),
        ("McDonald", "mcdonald"),
        ("Mc Donald", "mcdonald"),
        ("Mac Donald", "macdonald"),
        ("O Brien", "obrien"),
        ("al-Hassan", "alhassan"),
        ("von Trapp", "vontrapp"),
        ("Le", "le"),  # a particle with nothing after it is the name itself
        ("Van", "van"),
    ],
)
def test_particles_join_is_the_default(raw, expected):
    assert surname(raw) == expected


@pytest.mark.parametrize(
    ("raw", "drop", "keep"),
    [
        ("de la Cruz", "cruz", "de la cruz"),
        ("van der Berg", "berg", "van der berg"),
        ("Mc Donald", "mcdonald", "mcdonald"),  # Mc is a prefix, always joined
        ("Le", "le", "le"),
    ],
)
def test_particles_drop_and_keep(raw, drop, keep):
    assert surname(raw, particles="drop") == drop
    assert surname(raw, particles="keep") == keep


@pytest.mark.parametrize(
    ("raw", "space", "join", "first"),
    [
        ("Garcia-Lopez", "garcia lopez", "garcialopez", "garcia"),
        ("García López", "garcia lopez", "garcialopez", "garcia"),
        ("García–López", "garcia lopez", "garcialopez", "garcia"),  # en dash
        ("Ortega y Gasset", "ortega gasset", "ortegagasset", "ortega"),
        ("de la Cruz-Pérez", "delacruz perez", "delacruzperez", "delacruz"),
        ("Smith", "smith", "smith", "smith"),
    ],
)
def test_compound(raw, space, join, first):
    assert surname(raw) == space
    assert surname(raw, compound="join") == join
    assert surname(raw, compound="first") == first


def test_keep_first_given_name():
    assert normalize_name("Mary Ann", keep="first") == "mary"
    assert normalize_name("Jean-Pierre", keep="first") == "jean"
    assert normalize_name("Dr. Mary Ann", keep="first") == "mary"
    assert normalize_name("Mary Ann") == "mary ann"


def test_particles_only_apply_to_surnames():
    assert normalize_name("María de los Ángeles") == "maria de los angeles"


@pytest.mark.parametrize(
    "raw",
    [
        "unknown", "UNKNOWN", "Unk", "n/a", "N/A", "none", "None", "null", "baby boy",
        "Baby Girl", "BABY GIRL A", "Baby Girl Smith", "Babygirl", "Infant Boy", "jane doe",
        "John Doe", "xxx", "XXXX", "test", "Test Patient", "FNU", "not stated", "zzz",
        "Unknown Unknown", "Boy", "Baby Boy 2",
    ],
)  # fmt: skip
def test_placeholders(raw):
    rule = NormalizationRule("first_name", "given_name")
    assert normalize_value(raw, rule).reason == "placeholder"
    assert normalize_name(raw) is None


@pytest.mark.parametrize("raw", ["Baby", "Nan", "Na", "Doe", "Jane", "Xu", "Ng"])
def test_real_names_are_not_placeholders(raw):
    assert normalize_name(raw) == raw.lower()


@pytest.mark.parametrize("raw", ["John3", "J0hn", "Smith 2", "3rd Smith", "123"])
def test_digits_make_a_name_invalid(raw):
    rule = NormalizationRule("last_name", "surname")
    result = normalize_value(raw, rule)
    assert result.value is None
    assert result.reason == "digits_in_name"


@pytest.mark.parametrize("raw", ["Mr.", "Dr", "---", "?", "☺"])
def test_nothing_left_is_empty(raw):
    rule = NormalizationRule("last_name", "surname")
    assert normalize_value(raw, rule).reason == "empty"


@pytest.mark.parametrize(
    "raw", ["de Mr", "van der", "Mc", "O", "y", "de la Cruz-Pérez y Gasset Jr", "Mr de Mc Jr"]
)
def test_idempotent_on_edge_cases(raw):
    for particles in ("join", "drop", "keep"):
        for compound in ("space", "join", "first"):
            once = surname(raw, particles=particles, compound=compound)
            if once is not None:
                assert surname(once, particles=particles, compound=compound) == once


def test_bad_option_raises_value_error():
    with pytest.raises(ValueError, match="particles"):
        normalize_name("x", "surname", particles="glue")
    with pytest.raises(ValueError, match="part"):
        normalize_name("x", "middle")
