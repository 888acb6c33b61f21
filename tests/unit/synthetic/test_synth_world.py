"""A generated world: determinism, structure, truth kept apart, formats, error rates."""

from __future__ import annotations

import filecmp
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from tests.unit.synthetic.conftest import SMALL_WORLD_PEOPLE

from htlink.encode.mapping import load_mapping_file
from htlink.synthetic import OutputFolderError, SynthResult, generate, scenario_from_dict
from htlink.synthetic.defaults import DEFAULT_SCENARIO

AGENCIES = ("healthcare", "social_services", "prosecution")
FILES = ["healthcare.csv", "social_services.csv", "prosecution.csv", "truth.csv",
         "summary.json", "mappings/healthcare.yaml", "mappings/social_services.yaml",
         "mappings/prosecution.yaml"]


def read(world: SynthResult, name: str) -> pd.DataFrame:
    return pd.read_csv(world.out_dir / name, dtype=str, keep_default_na=False)


def small(people: int = 600, **changes: object) -> dict:
    return {"population": {"people": people}, **changes}


def test_same_seed_same_bytes_other_seed_other_files(tmp_path: Path) -> None:
    a = generate(scenario_from_dict(small()), 5, tmp_path / "a")
    b = generate(scenario_from_dict(small()), 5, tmp_path / "b")
    c = generate(scenario_from_dict(small()), 6, tmp_path / "c")
    for name in FILES:
        assert filecmp.cmp(a.out_dir / name, b.out_dir / name, shallow=False), name
    for name in FILES[:5]:
        assert not filecmp.cmp(a.out_dir / name, c.out_dir / name, shallow=False), name
    assert sorted(p.name for p in a.out_dir.iterdir()) == sorted(
        ["healthcare.csv", "social_services.csv", "prosecution.csv", "truth.csv",
         "summary.json", "mappings"]
    )


def test_overlap_matches_the_scenario(small_world: SynthResult) -> None:
    summary = small_world.summary
    shares = DEFAULT_SCENARIO["membership"]["agencies_per_person"]
    exactly = summary["overlap"]["people_in_exactly"]
    assert summary["people"] == SMALL_WORLD_PEOPLE
    for k, share in shares.items():
        assert exactly[str(k)] == round(SMALL_WORLD_PEOPLE * share)
    # recount the overlap from truth.csv, which the summary must agree with
    truth = read(small_world, "truth.csv")
    agencies_of = truth.groupby("person_id")["agency"].agg(lambda s: frozenset(s))
    counts = agencies_of.map(len).value_counts()
    assert {str(k): int(v) for k, v in counts.items()} == exactly
    for pair, n in summary["overlap"]["people_per_pair"].items():
        a, b = pair.split("+")
        assert n == int(agencies_of.map(lambda s, a=a, b=b: a in s and b in s).sum())
    # agencies are chosen by weight: healthcare holds the most people, then prosecution
    per_agency = summary["overlap"]["people_per_agency"]
    assert per_agency["healthcare"] > per_agency["prosecution"] > per_agency["social_services"]


def test_duplicates_match_the_scenario(small_world: SynthResult) -> None:
    truth = read(small_world, "truth.csv")
    for agency in AGENCIES:
        wanted = DEFAULT_SCENARIO["agencies"][agency]["records_per_person"]
        per_person = truth[truth.agency == agency].groupby("person_id").size()
        realized = per_person.value_counts(normalize=True)
        assert set(realized.index) <= set(wanted)
        for k, share in wanted.items():
            assert abs(realized.get(k, 0.0) - share) < 0.03, (agency, k)
        assert small_world.summary["duplicates"][agency]["records"] == int(per_person.sum())


def test_truth_never_leaks_into_agency_files(small_world: SynthResult) -> None:
    truth = read(small_world, "truth.csv")
    person_ids = set(truth.person_id)
    hex_parts = {p[1:].lower() for p in person_ids}
    assert all(re.fullmatch(r"P[0-9a-f]{8}", p) for p in person_ids)
    for agency in AGENCIES:
        frame = read(small_world, f"{agency}.csv")
        cells = set(frame.to_numpy().ravel().tolist())
        assert not cells & person_ids
        tokens = {t.lower() for c in cells for t in re.split(r"[^0-9A-Za-z]+", c) if t}
        assert not tokens & hex_parts and not tokens & {p.lower() for p in person_ids}
        assert not any("personid" in c.lower().replace("_", "") for c in frame.columns)
        # one row per record, the same records as in truth.csv, in another order
        id_column = small_world.summary["files"][agency]["id_column"]
        ids = frame[id_column]
        assert ids.is_unique
        mine = truth[truth.agency == agency]
        assert set(ids) == set(mine.record_id) and len(ids) == len(mine)
        # rows are not grouped by person: neighbours are rarely the same person
        person_of = dict(zip(mine.record_id, mine.person_id, strict=True))
        seq = ids.map(person_of).to_numpy()
        assert np.mean(seq[1:] == seq[:-1]) < 0.05
    summary_text = (small_world.out_dir / "summary.json").read_text(encoding="utf-8")
    assert not any(p in summary_text for p in person_ids)


def share_matching(values: pd.Series, pattern: str) -> float:
    present = values[values != ""]
    return float(present.str.fullmatch(pattern).mean())


def test_each_agency_has_its_own_columns_and_formats(small_world: SynthResult) -> None:
    h = read(small_world, "healthcare.csv")
    assert list(h.columns) == ["MRN", "VisitID", "PatientFirst", "PatientLast", "DOB", "Sex",
                               "Address", "City", "ZIP", "Phone", "VisitDate", "ReasonCode",
                               "ReasonCategory"]
    assert share_matching(h.DOB, r"\d{2}/\d{2}/\d{4}") > 0.98
    assert set(h.Sex) <= {"M", "F", "U"}
    assert share_matching(h.ZIP, r"0\d{4}(-\d{4})?") > 0.9
    assert share_matching(h.ZIP, r"\d{5}-\d{4}") > 0.2
    assert share_matching(h.Phone, r"\(\d{3}\) \d{3}-\d{4}") > 0.75
    assert set(h.ReasonCategory) == {"injury", "sti", "pregnancy", "substance_use", "other"}
    assert h.MRN.nunique() < len(h)  # a patient keeps the MRN across visits (mostly)

    s = read(small_world, "social_services.csv")
    assert list(s.columns) == ["case_id", "report_id", "report_date", "child_name",
                               "birth_date", "gender", "guardian_address", "county", "zip",
                               "report_type", "placement"]
    assert share_matching(s.birth_date, r"\d{4}-\d{2}-\d{2}") > 0.98
    assert set(s.gender) <= {"male", "female", "unknown"}
    assert share_matching(s.child_name, r"[^,]+, [^,]+") > 0.97
    dob = pd.to_datetime(s.birth_date, errors="coerce", format="%Y-%m-%d")
    age = (pd.to_datetime(s.report_date) - dob).dt.days / 365.25
    assert (age[dob.notna()] < 18).mean() > 0.9  # children

    p = read(small_world, "prosecution.csv")
    assert list(p.columns) == ["RecordID", "CaseNo", "PersonSeq", "DefendantOrVictimName",
                               "AKA", "DOB", "Role", "ChargeCategory", "Disposition", "County",
                               "FilingDate"]
    assert share_matching(p.DOB, r"\d{2}\.\d{2}\.\d{4}") > 0.98
    names = p.DefendantOrVictimName[p.DefendantOrVictimName != ""]
    assert (names == names.str.upper()).all()
    assert (p.RecordID == p.CaseNo + "-" + p.PersonSeq.str.zfill(2)).all()
    assert set(p.Role) == {"victim", "witness", "defendant"}
    assert (p.AKA != "").mean() > 0.02 and p.AKA.str.contains("; ").any()
    truth = read(small_world, "truth.csv")
    person_of = dict(zip(truth.record_id, truth.person_id, strict=True))
    p["person"] = p.RecordID.map(person_of)
    assert not p.duplicated(["CaseNo", "person"]).any()  # nobody twice in one case
    assert p.CaseNo.nunique() < len(p)


def test_mapping_files_fit_the_files(small_world: SynthResult) -> None:
    for agency in AGENCIES:
        path = small_world.out_dir / "mappings" / f"{agency}.yaml"
        mapping = yaml.safe_load(path.read_text(encoding="utf-8"))
        header = list(read(small_world, f"{agency}.csv").columns)
        assert mapping["id_column"] in header
        mapped = set(mapping["columns"]) | set(mapping.get("absent", []))
        assert mapped == {"given_name", "surname", "dob", "sex", "zip", "phone"}
        for entry in mapping["columns"].values():
            column = entry["column"] if isinstance(entry, dict) else entry
            assert column in header
    assert load_mapping_file(small_world.out_dir / "mappings" / "healthcare.yaml").date_order == (
        "MDY"
    )


def test_default_scenario_is_hard_for_exact_matching(small_world: SynthResult) -> None:
    recall = small_world.summary["exact_match_recall"]
    assert recall["recall"] == round(small_world.recall.recall, 4)
    assert 0.4 < small_world.recall.recall < 0.8
    assert recall["true_pairs"] > 1000


def test_a_clean_world_is_easy_for_exact_matching(tmp_path: Path) -> None:
    agencies = {
        kind: {
            "corruption": {k: 0.0 for k in spec["corruption"]},
            "missing": {k: 0.0 for k in spec["missing"]},
            "native_script": 0.0,
        }
        for kind, spec in DEFAULT_SCENARIO["agencies"].items()
    }
    clean = small(1500, agencies=agencies)
    clean["population"]["married_share"] = 0.0
    world = generate(scenario_from_dict(clean), 3, tmp_path / "clean")
    assert world.recall.recall > 0.97  # only multi-word given names split wrongly remain
    counts = world.summary["corruption"]
    assert all(counts[a].get("typo", 0) == 0 for a in AGENCIES)


def test_corruption_rates_are_realized(tmp_path: Path) -> None:
    rates = {"typo": 0.2, "name_swap": 0.1, "dob_year": 0.15, "nickname": 0.5}
    missing = {"dob": 0.1, "given_name": 0.05}
    scenario = small(
        2000,
        agencies={kind: {"corruption": rates, "missing": missing} for kind in AGENCIES},
    )
    world = generate(scenario_from_dict(scenario), 9, tmp_path / "dirty")
    for agency in AGENCIES:
        n = world.records[agency]
        counts = world.summary["corruption"][agency]
        assert abs(counts["name_swap"] / n - 0.1) < 0.03
        assert abs(counts["dob_year"] / n - 0.15) < 0.03
        assert abs(counts["missing_dob"] / n - 0.1) < 0.03
        # a typo is applied to each of two name fields (a few hit a missing one)
        assert abs(counts["typo"] / n - 0.4) < 0.06
        assert 0.05 < counts["nickname"] / n < 0.5  # only names that have a nickname
    h = read(world, "healthcare.csv")
    assert abs((h.DOB == "").mean() - 0.1) < 0.03
    # prosecution and social services are dirtier than healthcare in the default world


def test_default_prosecution_and_social_services_are_dirtier() -> None:
    agencies = DEFAULT_SCENARIO["agencies"]
    for kind in ("typo", "phonetic", "name_swap", "dob_swap", "transliteration"):
        h = agencies["healthcare"]["corruption"][kind]
        assert agencies["social_services"]["corruption"][kind] > h
        assert agencies["prosecution"]["corruption"][kind] > h


def test_output_folder_rules(tmp_path: Path) -> None:
    scenario = scenario_from_dict(small(200))
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputFolderError, match="not empty") as info:
        generate(scenario, 1, out)
    assert "--force" in (info.value.hint or "")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    generate(scenario, 1, out, force=True)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["seed"] == 1
    assert not any(p.name.startswith(".") for p in out.iterdir())
    with pytest.raises(OutputFolderError, match="is a file"):
        generate(scenario, 1, out / "notes.txt")


def test_people_scales_the_world(tmp_path: Path) -> None:
    world = generate(scenario_from_dict(small(200)), 2, tmp_path / "w", people=400)
    assert world.people == 400
    assert world.summary["scenario"]["population"]["people"] == 400


@pytest.mark.parametrize("people", [1, 2, 7])
def test_tiny_worlds_work(tmp_path: Path, people: int) -> None:
    world = generate(scenario_from_dict(small(people)), 1, tmp_path / "w")
    truth = read(world, "truth.csv")
    assert truth.person_id.nunique() == people
    assert sum(world.records.values()) == len(truth)
    if world.recall.true_pairs == 0:
        assert world.recall.recall is None
        assert world.summary["exact_match_recall"]["recall"] is None
