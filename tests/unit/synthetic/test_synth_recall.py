"""The exact-match baseline, on a folder small enough to count by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from htlink.encode.mapping import split_full_names
from htlink.synthetic import exact_match_recall, split_full_name


def test_split_full_name_reads_like_htlink_encode() -> None:
    cases = ["García López, Ana María", "Smith,", ", Ana", "ANA GARCIA LOPEZ", "ANA", "", None]
    for fmt in ("last_comma_first", "first_last"):
        for part in ("given", "surname"):
            assert [split_full_name(c, part, fmt) for c in cases] == split_full_names(
                cases, part, fmt
            )[0]
    assert split_full_name("García López, Ana", "surname", "last_comma_first") == "García López"
    assert split_full_name("ANA GARCIA LOPEZ", "surname", "first_last") == "GARCIA LOPEZ"
    with pytest.raises(ValueError):
        split_full_name("a b", "given", "last_first")


def test_exact_match_recall_by_hand(tmp_path: Path) -> None:
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "a.yaml").write_text(
        "id_column: id\ndate_order: MDY\ncolumns: {given_name: first, surname: last, dob: dob}\n",
        encoding="utf-8",
    )
    (tmp_path / "mappings" / "b.yaml").write_text(
        "id_column: rid\ndate_order: DMY\ncolumns:\n"
        "  given_name: {column: name, part: given, name_format: first_last}\n"
        "  surname: {column: name, part: surname, name_format: first_last}\n"
        "  dob: dob\n",
        encoding="utf-8",
    )
    (tmp_path / "a.csv").write_text(
        "id,first,last,dob\n"
        "a1,José,García,03/04/1990\n"  # person 1
        "a2,Jose,Garcia,03/04/1990\n"  # person 1: same after normalization
        "a3,Ann,Lee,\n"  # person 2: no date of birth, never matches
        "a4,Ann,Lee,12/01/1980\n",  # person 2
        encoding="utf-8",
    )
    (tmp_path / "b.csv").write_text(
        "rid,name,dob\n"
        "b1,JOSE GARCIA,04.03.1990\n"  # person 1: matches a1 and a2
        "b2,ANN LEE,01.12.1980\n"  # person 2: matches a4
        "b3,LEE ANN,01.12.1980\n",  # person 2: swapped, matches nothing
        encoding="utf-8",
    )
    (tmp_path / "truth.csv").write_text(
        "agency,record_id,person_id\n"
        "a,a1,P1\na,a2,P1\na,a3,P2\na,a4,P2\nb,b1,P1\nb,b2,P2\nb,b3,P2\n",
        encoding="utf-8",
    )
    result = exact_match_recall(tmp_path)
    # person 1: 3 records, 3 pairs, all exact.  person 2: 4 records, 6 pairs, only a4-b2 exact.
    assert (result.true_pairs, result.exact_pairs, result.records) == (9, 4, 7)
    assert result.recall == pytest.approx(4 / 9)
