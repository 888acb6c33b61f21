"""The htlink side of benchmarks/bench_splink.py: splink's output scored by htlink.evaluate.

Needs neither splink nor the peers' virtualenv: splink's output is made up here in the
shapes the worker writes (``source_dataset, unique_id, cluster_id`` and the prediction
columns).  All values are synthetic.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_splink as bs  # noqa: E402
from htlink.evaluate import Truth, evaluate_files, evaluate_linkage  # noqa: E402

TRUTH = pd.DataFrame(
    {
        "agency": ["healthcare", "healthcare", "prosecution", "prosecution", "social_services"],
        "record_id": ["h1", "h2", "p1", "p2", "s1"],
        "person_id": ["A", "B", "A", "C", "B"],
    }
)


def clusters() -> pd.DataFrame:
    # splink put h1+p1 together (right), h2 alone (missed s1), p2+s1 together (wrong)
    return pd.DataFrame(
        {
            "source_dataset": ["healthcare", "prosecution", "healthcare", "prosecution",
                               "social_services"],
            "unique_id": ["h1", "p1", "h2", "p2", "s1"],
            "cluster_id": ["healthcare-__-h1", "healthcare-__-h1", "healthcare-__-h2",
                           "prosecution-__-p2", "prosecution-__-p2"],
        }
    )  # fmt: skip


def test_splink_links_scores_like_the_truth_says() -> None:
    links = bs.splink_links(clusters())
    assert list(links.columns) == ["agency", "record_id", "pseudonym"]
    # pseudonyms are opaque numbers, never a record id
    assert not links["pseudonym"].str.contains("h1|p2").any()
    ev = evaluate_linkage(Truth.from_frame(TRUTH), links)
    pw = ev.pairwise["all"]
    assert (pw.true_pairs, pw.predicted_pairs, pw.true_positives) == (2, 2, 1)
    assert pw.f1 == pytest.approx(0.5)


def test_links_and_pairs_files_go_through_htlink_evaluate(tmp_path: Path) -> None:
    truth = tmp_path / "truth.csv"
    TRUTH.to_csv(truth, index=False)
    paths = bs.write_links_files(bs.splink_links(clusters()), tmp_path / "links")
    assert [p.name for p in paths] == [f"{a}.links.csv" for a in bs.AGENCIES]
    predictions = pd.DataFrame(
        {
            "source_dataset_l": ["healthcare", "prosecution", "healthcare"],
            "unique_id_l": ["h1", "p2", "h2"],
            "source_dataset_r": ["prosecution", "social_services", "social_services"],
            "unique_id_r": ["p1", "s1", "s1"],
            "match_weight": [9.0, 1.0, -1.0],
            "match_probability": [0.998, 0.66, 0.33],
        }
    )
    pairs = tmp_path / "pairs.csv"
    bs.splink_pairs(predictions).to_csv(pairs, index=False)
    ev = evaluate_files(truth, paths, pairs=pairs, threshold=0.5)
    assert ev.pairwise["all"].true_positives == 1
    # the sweep over match probabilities: at 0.33 both true pairs are found, one false
    best = ev.sweep.best
    assert best.true_positives == 2 and best.predicted_pairs == 3


@pytest.mark.parametrize(
    ("x", "y", "status"),
    [
        ("maria", "maria", "same"),
        ("maria", None, "missing"),
        ("maria elena", "maria", "shares a word"),
        ("garcia lopez", "garcia", "shares a word"),
        ("katherine", "kathrine", "spelling"),
        ("elizabeth", "liz", "different"),
    ],
)
def test_name_status(x: str, y: str | None, status: str) -> None:
    assert bs.name_status(x, y) == status


@pytest.mark.parametrize(
    ("x", "y", "status"),
    [
        ("1990-03-04", "1990-03-04", "same"),
        ("1990-03-04", "1990-04-03", "day/month swapped"),
        ("1990-03-04", "1990-01-01", "January 1"),
        ("1990-03-04", "1991-03-04", "year differs"),
        ("1990-03-04", "1990-03-07", "one digit"),
        ("1990-03-04", "1985-11-20", "different"),
        ("1990-03-04", None, "missing"),
    ],
)
def test_dob_status(x: str, y: str | None, status: str) -> None:
    assert bs.dob_status(x, y) == status


def test_pair_class() -> None:
    a = {"given_name": "anna", "surname": "kowalska", "dob": "1990-03-04"}
    assert bs.pair_class(a, dict(a)) == "given name, surname, dob identical"
    swapped = {"given_name": "kowalska", "surname": "anna", "dob": "1990-03-04"}
    assert bs.pair_class(a, swapped) == "given name and surname swapped"
    assert bs.pair_class(a, {**a, "surname": "kowalski"}) == "surname: spelling"
    assert bs.pair_class(a, {**a, "dob": None}) == "a name or the date of birth missing"
    two = {**a, "surname": "nowak", "dob": "1991-03-04"}
    assert bs.pair_class(a, two) == "two or three of them differ"


def test_group_pairs_and_error_analysis() -> None:
    i, j = bs.group_pairs(np.array(["x", "y", "x", "x", "z"], dtype=object))
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 2), (0, 3), (2, 3)]
    assert bs.group_pairs(np.array(["x"] * 10, dtype=object), limit=44) is None

    records = pd.DataFrame(
        {
            "given_name": ["anna", "anna", "jan", "jan"],
            "surname": ["nowak", "nowak", "kowalski", "kowalsky"],
            "dob": ["1990-01-02", "1990-01-02", "1980-05-06", "1980-05-06"],
        }
    )
    person = np.array(["A", "A", "B", "B"], dtype=object)
    out = bs.error_analysis(
        records,
        person,
        {
            "exact": np.array(["1", "1", "2", "3"], dtype=object),
            "merged": np.array(["1", "1", "1", "1"], dtype=object),
        },
    )
    table = out["true_pairs_by_class"]
    assert table["given name, surname, dob identical"]["exact_recall"] == 1.0
    assert table["surname: spelling"]["exact_recall"] == 0.0
    assert table["surname: spelling"]["merged_recall"] == 1.0
    assert out["false_links_by_class"]["exact"] == {}
    assert sum(out["false_links_by_class"]["merged"].values()) == 4


def test_labels_for_unlinked_records_are_singletons() -> None:
    links = pd.DataFrame(
        {
            "agency": ["healthcare", "prosecution"],
            "record_id": ["h1", "p1"],
            "pseudonym": ["q", "q"],
        }
    )
    labels = bs.labels_for(TRUTH, links)
    assert labels[0] == labels[2] == "q"
    assert len(set(labels.tolist())) == 4
