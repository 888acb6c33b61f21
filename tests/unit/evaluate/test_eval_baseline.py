"""The exact-match baseline: normalized given name, surname and DOB must all agree."""

from __future__ import annotations

import pandas as pd
import pytest

from htlink.errors import HtlinkError
from htlink.evaluate import BaselineColumns, Truth, evaluate_linkage, exact_keys, exact_match_links


def test_exact_keys_normalize_before_comparing() -> None:
    frame = pd.DataFrame(
        {
            "given_name": ["José", "jose", "Jose", "", "Ann"],
            "surname": ["García-López", "GARCIA LOPEZ", "Garcia", "Smith", "Lee"],
            "dob": ["1987-03-14", "14 Mar 1987", "1987-03-14", "1990-01-01", "1990-02-30"],
        }
    )
    keys = exact_keys(frame).tolist()
    assert keys[0] == keys[1] == "jose|garcia lopez|1987-03-14"
    assert keys[2] != keys[0]
    assert keys[3] is None and keys[4] is None  # missing name, impossible date


def test_exact_match_links_cluster_across_and_within_agencies() -> None:
    a = pd.DataFrame(
        {"id": ["a1", "a2", "a3"], "first": ["Mary", "Mary", "Li"],
         "last": ["O'Brien", "OBrien", "Wei"], "born": ["03/04/1990", "03/04/1990", ""]}
    )  # fmt: skip
    b = pd.DataFrame(
        {"record_id": ["b1", "b2"], "given_name": ["mary", "Li"], "surname": ["o'brien", "Wei"],
         "dob": ["1990-03-04", "2001-01-01"]}
    )  # fmt: skip
    columns = {
        "A": BaselineColumns("id", "first", "last", "born", date_order="MDY"),
        "B": BaselineColumns(),
    }
    links = exact_match_links({"A": a, "B": b}, columns)
    assert list(links.columns) == ["agency", "record_id", "pseudonym", "confidence"]
    by_id = dict(zip(links["record_id"], links["pseudonym"], strict=True))
    assert by_id["a1"] == by_id["a2"] == by_id["b1"]  # O'Brien and OBrien normalize alike
    assert len({by_id["a3"], by_id["b2"], by_id["a1"]}) == 3  # a3 has no DOB
    assert not any("mary" in p or "brien" in p for p in by_id.values())  # numbers, not names
    truth = Truth.from_frame(
        pd.DataFrame(
            {
                "agency": ["A", "A", "A", "B", "B"],
                "record_id": ["a1", "a2", "a3", "b1", "b2"],
                "person_id": ["m", "m", "l", "m", "l"],
            }
        )
    )
    ev = evaluate_linkage(truth, links)
    assert ev.pairwise is not None
    assert ev.pairwise["all"].precision == 1.0
    assert ev.pairwise["all"].recall == pytest.approx(3 / 4)  # a3-b2 missed


def test_missing_key_columns_are_refused() -> None:
    with pytest.raises(HtlinkError, match="no column dob"):
        exact_keys(pd.DataFrame({"given_name": ["x"], "surname": ["y"]}))
    with pytest.raises(HtlinkError, match="no record id column"):
        exact_match_links({"A": pd.DataFrame({"given_name": ["x"]})})
