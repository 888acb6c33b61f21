"""Reading truth, links, row-token maps and pairs: what is accepted and what is refused.

Every refusal is an HtlinkError naming the file, column, line or count -- never
a record value (the values below all start with SECRET so a leak is easy to see).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from htlink.errors import HtlinkError
from htlink.evaluate import (
    Truth,
    agency_from_path,
    combine_links,
    evaluate_files,
    evaluate_linkage,
    load_links,
    load_pairs,
    load_row_tokens,
    load_truth,
    locate_pairs,
    parse_token_specs,
    predicted_labels,
)

TRUTH = (
    "agency,record_id,person_id\n"
    "A,SECRET-a1,SECRET-p1\n"
    "A,SECRET-a2,SECRET-p1\n"
    "B,SECRET-b1,SECRET-p1\n"
    "B,SECRET-b2,SECRET-p2\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def refused(fn, *args, **kwargs) -> HtlinkError:
    with pytest.raises(HtlinkError) as info:
        fn(*args, **kwargs)
    text = str(info.value)
    assert "SECRET" not in text, text
    return info.value


@pytest.fixture
def truth_file(tmp_path: Path) -> Path:
    return write(tmp_path / "truth.csv", TRUTH)


def test_truth_loads_and_locates_records(truth_file: Path) -> None:
    truth = load_truth(truth_file)
    assert len(truth) == 4 and truth.agencies == ["A", "B"]
    assert truth.sizes() == {"A": 2, "B": 2}
    assert truth.person_labels.tolist() == [0, 0, 0, 1]
    assert truth.positions(["B", "A", "A"], ["SECRET-b2", "SECRET-a1", "nope"]).tolist() == [
        3, 0, -1,
    ]  # fmt: skip
    assert len(truth.restrict(["B"])) == 2


def test_truth_tolerates_spaces_bom_and_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfnote, agency ,record_id,person_id\nx, A, r1 ,p\n")
    truth = load_truth(path)
    assert truth.table.to_dict("records") == [{"agency": "A", "record_id": "r1", "person_id": "p"}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("agency,record_id\nA,SECRET\n", "no column person_id"),
        ("SECRET-x,SECRET-y,SECRET-z\nA,r,p\n", "no column agency, record_id, person_id"),
        (TRUTH + "A,SECRET-a1,SECRET-p9\n", "repeat an agency and record_id"),
        ("agency,record_id,person_id\nA,,SECRET\n", "empty record_id (first at line 2)"),
        ("agency,record_id,person_id\n", "has no records"),
        ("", "is empty"),
        ('agency,record_id,person_id\nA,"SECRET,x\n', "not a well-formed CSV"),
        (
            "agency,record_id,person_id\nA,SECRET,p,extra,more\nB,c,d\n",
            "well-formed CSV file at line 2",
        ),
    ],
)
def test_truth_problems_are_refused_without_values(
    tmp_path: Path, text: str, expected: str
) -> None:
    error = refused(load_truth, write(tmp_path / "truth.csv", text))
    assert expected in str(error)
    assert error.hint


def test_unreadable_truth_files(tmp_path: Path) -> None:
    assert "does not exist" in str(refused(load_truth, tmp_path / "missing.csv"))
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("agency,record_id,person_id\nA,SECRET-é,p\n".encode("latin-1"))
    assert "not UTF-8" in str(refused(load_truth, bad))


def test_links_with_row_tokens_resolve_through_the_map(tmp_path: Path) -> None:
    tokens = write(
        tmp_path / "row-tokens.csv",
        "row_token,record_id,clkhash_index\nt1,SECRET-a1,0\nt2,SECRET-a2,1\n",
    )
    links = write(tmp_path / "A.links.csv", "row_token,pseudonym,confidence\nt2,X,0.5\nt1,,\n")
    frame = load_links(links, {"A": tokens})
    assert frame["agency"].tolist() == ["A", "A"]
    assert frame["record_id"].tolist() == ["SECRET-a2", "SECRET-a1"]
    assert frame["pseudonym"].tolist() == ["X", ""]
    assert frame["confidence"].iloc[0] == 0.5 and np.isnan(frame["confidence"].iloc[1])
    # the map may also be given as a frame already read
    again = load_links(links, {"A": load_row_tokens(tokens)})
    assert again["record_id"].tolist() == frame["record_id"].tolist()


def test_links_with_record_ids_and_agency_column(tmp_path: Path) -> None:
    path = write(
        tmp_path / "all-links.csv",
        "agency,record_id,pseudonym\nA,SECRET-a1,X\nB,SECRET-b1,X\n",
    )
    frame = load_links(path)
    assert frame[["agency", "record_id"]].values.tolist() == [
        ["A", "SECRET-a1"], ["B", "SECRET-b1"],
    ]  # fmt: skip
    assert frame["confidence"].isna().all()


def test_agency_from_path() -> None:
    assert agency_from_path("out/county-hospital.links.csv") == "county-hospital"
    assert agency_from_path("B.LINKS.CSV") == "B"
    assert agency_from_path("clinic.csv") == "clinic"


def test_link_problems_are_refused_without_values(tmp_path: Path, truth_file: Path) -> None:
    tokens = write(
        tmp_path / "row-tokens.csv", "row_token,record_id,clkhash_index\nSECRET-t1,SECRET-a1,0\n"
    )
    no_map = write(tmp_path / "A.links.csv", "row_token,pseudonym\nSECRET-t1,X\n")
    error = refused(load_links, no_map)
    assert "no row-token map was given for A" in str(error)
    assert "--tokens A=" in str(error.hint)
    unknown = write(tmp_path / "A.links.csv", "row_token,pseudonym\nSECRET-t9,X\n")
    assert "1 row tokens of agency A" in str(refused(load_links, unknown, {"A": tokens}))
    bad_conf = write(tmp_path / "A.links.csv", "record_id,pseudonym,confidence\nr,X,SECRET\n")
    assert "confidence" in str(refused(load_links, bad_conf))
    too_big = write(tmp_path / "A.links.csv", "record_id,pseudonym,confidence\nr,X,1.5\n")
    assert "between 0 and 1" in str(refused(load_links, too_big))
    no_pseudonym = write(tmp_path / "A.links.csv", "record_id,confidence\nr,0.5\n")
    assert "no column pseudonym" in str(refused(load_links, no_pseudonym))
    no_id = write(tmp_path / "A.links.csv", "pseudonym\nX\n")
    assert "no column record_id or row_token" in str(refused(load_links, no_id))
    dup_tokens = write(
        tmp_path / "dup.csv", "row_token,record_id\nSECRET-t,SECRET-1\nSECRET-t,SECRET-2\n"
    )
    assert "appear twice" in str(refused(load_row_tokens, dup_tokens))


def test_links_must_match_the_truth(tmp_path: Path, truth_file: Path) -> None:
    truth = load_truth(truth_file)
    other = pd.DataFrame(
        {"agency": ["Z"], "record_id": ["SECRET-z"], "pseudonym": ["X"], "confidence": [1.0]}
    )
    assert "agency Z" in str(refused(predicted_labels, truth, other))
    stray = other.assign(agency="A")
    assert "1 of A" in str(refused(predicted_labels, truth, stray))
    twice = pd.concat([stray.assign(record_id="SECRET-a1")] * 2)
    assert "more than once" in str(refused(combine_links, [twice]))


def test_predicted_labels_make_unlinked_records_singletons(truth_file: Path) -> None:
    truth = load_truth(truth_file)
    links = pd.DataFrame(
        {
            "agency": ["A", "B", "A"],
            "record_id": ["SECRET-a1", "SECRET-b1", "SECRET-a2"],
            "pseudonym": ["X", "X", ""],
            "confidence": [1.0, 1.0, np.nan],
        }
    )
    labels = predicted_labels(truth, links)
    assert labels[0] == labels[2]  # truth order a1, a2, b1, b2: a1 and b1 share X
    assert len(set(labels.tolist())) == 3  # X, a2 alone, b2 alone


def test_pairs_load_locate_and_deduplicate(tmp_path: Path, truth_file: Path) -> None:
    tokens = write(tmp_path / "B-tokens.csv", "row_token,record_id\ntb1,SECRET-b1\ntb2,SECRET-b2\n")
    path = write(
        tmp_path / "pairs.csv",
        "agency_a,record_a,agency_b,row_token_b,similarity\n"
        "A,SECRET-a1,B,tb1,0.9\n"
        "A,SECRET-a2,B,tb2,0.4\n"
        "A,SECRET-a1,B,tb1,0.7\n",
    )
    pairs = load_pairs(path, {"B": tokens})
    assert pairs["record_b"].tolist() == ["SECRET-b1", "SECRET-b2", "SECRET-b1"]
    located = locate_pairs(load_truth(truth_file), pairs)
    assert len(located) == 2 and located.duplicates_dropped == 1
    assert located.similarity.tolist() == [0.9, 0.4]
    assert located.is_match.tolist() == [True, False]
    assert located.same_agency.tolist() == [False, False]


def test_pair_problems_are_refused_without_values(tmp_path: Path, truth_file: Path) -> None:
    head = "agency_a,record_a,agency_b,record_b,similarity\n"
    bad = write(tmp_path / "p.csv", head + "A,SECRET-a1,B,SECRET-b1,SECRET\n")
    assert "not a number (first at line 2)" in str(refused(load_pairs, bad))
    empty = write(tmp_path / "p.csv", head)
    assert "no pairs" in str(refused(load_pairs, empty))
    self_pair = write(tmp_path / "p.csv", head + "A,SECRET-a1,A,SECRET-a1,0.3\n")
    truth = load_truth(truth_file)
    assert "with itself" in str(refused(locate_pairs, truth, load_pairs(self_pair)))
    stray = write(tmp_path / "p.csv", head + "A,SECRET-a1,B,SECRET-b7,0.3\n")
    assert "not in the truth" in str(refused(locate_pairs, truth, load_pairs(stray)))


def test_token_specs() -> None:
    assert parse_token_specs(["A=x/row-tokens.csv", " B = y.csv"]) == {
        "A": Path("x/row-tokens.csv"), "B": Path("y.csv"),
    }  # fmt: skip
    assert "AGENCY=PATH" in str(refused(parse_token_specs, ["x.csv"]))
    assert "twice" in str(refused(parse_token_specs, ["A=x", "A=y"]))


def test_evaluate_linkage_scope_and_universe(truth_file: Path) -> None:
    truth = Truth.from_frame(
        pd.concat(
            [load_truth(truth_file).table, pd.DataFrame([{"agency": "C", "record_id": "c1",
                                                          "person_id": "SECRET-p2"}])]
        )
    )  # fmt: skip
    links = pd.DataFrame(
        {
            "agency": ["A", "A", "B"],
            "record_id": ["SECRET-a1", "SECRET-a2", "SECRET-b1"],
            "pseudonym": ["X", "X", "X"],
            "confidence": [1.0, 1.0, 1.0],
        }
    )
    ev = evaluate_linkage(truth, links)
    assert ev.agencies == ["A", "B"] and ev.not_evaluated == ["C"]
    assert ev.pairwise is not None and ev.pairwise["all"].f1 == 1.0
    assert any("agency C" in n for n in ev.notes)
    pairs = pd.DataFrame(
        {"agency_a": ["A", "A"], "record_a": ["SECRET-a1", "SECRET-a1"],
         "agency_b": ["B", "A"], "record_b": ["SECRET-b1", "SECRET-a2"],
         "similarity": [0.9, 0.8]}
    )  # fmt: skip
    auto = evaluate_linkage(truth, None, pairs)  # a within-agency pair -> scope all
    assert auto.sweep is not None and auto.sweep.scope == "all"
    assert auto.sweep.total_true_pairs == 3
    cross = evaluate_linkage(truth, None, pairs, scope="cross")
    assert cross.sweep is not None and cross.sweep.total_true_pairs == 2
    assert cross.sweep.scored_pairs == 1
    assert any("outside the cross-agency scope" in n for n in cross.notes)
    assert "without scored pairs" in str(refused(evaluate_linkage, truth, links, threshold=0.5))
    assert "Nothing to evaluate" in str(refused(evaluate_linkage, truth))
    assert "--scope" in str(refused(evaluate_linkage, truth, links, scope="within"))


def test_an_empty_links_file_still_names_its_agency(tmp_path: Path, truth_file: Path) -> None:
    write(tmp_path / "A.links.csv", "agency,record_id,pseudonym\nA,SECRET-a1,X\nA,SECRET-a2,X\n")
    write(tmp_path / "B.links.csv", "row_token,pseudonym,confidence\n")
    ev = evaluate_files(truth_file, [tmp_path / "A.links.csv", tmp_path / "B.links.csv"], tokens={})
    assert ev.agencies == ["A", "B"] and ev.records == 4
    assert ev.pairwise is not None
    assert ev.pairwise["all"].true_pairs == 3 and ev.pairwise["all"].true_positives == 1
    assert ev.linked_records == 2
