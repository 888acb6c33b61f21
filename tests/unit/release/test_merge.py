"""Merging payloads into people, and fresh release IDs per release."""

from __future__ import annotations

import pandas as pd
import pytest

from htlink.release.merge import MergeError, assign_release_ids, merge_people
from htlink.release.payload import Payload
from htlink.release.policy import parse_policy

RAW = {
    "version": 1,
    "name": "t",
    "people": {
        "attributes": {
            "age": {"from": ["a.age", "b.age"], "take": "min"},
            "sex": {"from": ["b.sex", "a.sex"], "take": "first"},
            "visits": {"from": "a.age", "take": "count"},
            "reason": {"from": "a.reason", "take": "mode"},
        }
    },
    "tables": [{"name": "x", "dimensions": ["sex"]}],
}


def payloads() -> list[Payload]:
    a = pd.DataFrame(
        {"pseudonym": ["p1", "p1", "p2", "p3"], "age": ["30", "9", None, "41"],
         "sex": ["F", "F", "M", None], "reason": ["inj", "sti", "inj", None]}
    )  # fmt: skip
    b = pd.DataFrame({"pseudonym": ["p1", "p4"], "age": ["12", "50"], "sex": ["female", None]})
    return [Payload({"agency": "a"}, a), Payload({"agency": "b"}, b)]


def test_take_rules_and_presence_flags() -> None:
    people = merge_people(parse_policy(RAW), payloads())
    assert people.loc["p1", "age"] == "9"  # numeric min, not text min
    assert people.loc["p1", "sex"] == "female"  # b first
    assert people.loc["p2", "sex"] == "M"
    assert people.loc["p1", "visits"] == "2"
    assert people.loc["p1", "reason"] == "inj"  # a tie goes to the smallest value
    assert pd.isna(people.loc["p4", "reason"])
    assert people["in_a"].tolist() == ["1", "1", "1", "0"]


def test_missing_column_is_named() -> None:
    raw = {**RAW, "people": {"attributes": {"x": {"from": "a.nope"}, "y": {"from": "c.z"}}}}
    raw["tables"] = [{"name": "x", "dimensions": ["x"]}]
    with pytest.raises(MergeError) as info:
        merge_people(parse_policy(raw), payloads())
    assert "'nope'" in info.value.message and "'c'" in info.value.message


def test_release_ids_are_fresh_every_release() -> None:
    people = merge_people(parse_policy(RAW), payloads())
    one, two = assign_release_ids(people), assign_release_ids(people)
    assert one["release_id"].is_unique and len(one) == 4
    assert not set(one["release_id"]) & set(two["release_id"])
    assert "pseudonym" not in one.columns and "p1" not in one.to_string()
