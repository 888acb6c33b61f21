"""Column mappings: plain columns, full-name columns, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from htlink.encode.mapping import ColumnSpec, load_mapping_file, split_full_names
from htlink.errors import InputDataError


def test_last_comma_first() -> None:
    values = ["Garcia Lopez, Maria Elena", "O'Brien,Sean", "Smith", None, " "]
    given_names, bad = split_full_names(values, "given", "last_comma_first")
    surnames, _ = split_full_names(values, "surname", "last_comma_first")
    assert given_names == ["Maria Elena", "Sean", None, None, None]
    assert surnames == ["Garcia Lopez", "O'Brien", None, None, None]
    assert bad == 1


def test_first_last() -> None:
    values = ["MARIA GARCIA LOPEZ", "Nguyen", "Ann  Lee"]
    assert split_full_names(values, "given", "first_last") == (["MARIA", None, "Ann"], 1)
    assert split_full_names(values, "surname", "first_last")[0] == ["GARCIA LOPEZ", None, "Lee"]


@given(
    st.lists(st.one_of(st.none(), st.text(max_size=20)), max_size=20),
    st.sampled_from(["given", "surname"]),
    st.sampled_from(["last_comma_first", "first_last"]),
)
def test_split_never_fails_and_keeps_length(values: list[str | None], part: str, fmt: str) -> None:
    out, bad = split_full_names(values, part, fmt)
    assert len(out) == len(values) and 0 <= bad <= len(values)
    assert all(v is None or (isinstance(v, str) and v == v.strip() and v) for v in out)


def test_mapping_file_with_name_parts(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "id_column: report_id\n"
        "columns:\n"
        "  given_name: {column: child_name, part: given, name_format: last_comma_first}\n"
        "  surname: {column: child_name, part: surname, name_format: last_comma_first}\n"
        "  dob: birth_date\n"
        "absent: [phone]\n"
    )
    mapping = load_mapping_file(path)
    assert mapping.columns["given_name"] == ColumnSpec("child_name", "given", "last_comma_first")
    assert mapping.columns["dob"] == ColumnSpec("birth_date")


@pytest.mark.parametrize(
    "entry",
    [
        "{column: n, part: middle, name_format: first_last}",
        "{column: n, part: given}",
        "{column: n, part: given, name_format: reversed}",
        "{column: n, colour: red}",
        "[n]",
    ],
)
def test_bad_name_specs_are_refused(tmp_path: Path, entry: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(f"columns:\n  given_name: {entry}\n")
    with pytest.raises(InputDataError, match="given_name"):
        load_mapping_file(path)
