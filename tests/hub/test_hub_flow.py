"""The whole flow over real HTTP: project, uploads, a run, and each agency's own links."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from htlink.hub.client import HubRequestError
from tests.hub.hubtools import (
    LiveHub,
    make_agency,
    noisy,
    person_schema,
    population,
    write_submission,
)

AGENCIES = ("clinic", "shelter", "court")


def setup_project(hub: LiveHub, tmp_path: Path, threshold: float | str = 0.8, n: int = 400):
    """Three agencies sharing part of a population; returns agencies, tokens, folders."""
    base = population(n, seed=1)
    agencies = {name: make_agency(name) for name in AGENCIES}
    folders = {}
    for k, name in enumerate(AGENCIES):
        rows = base[k * n // 6 : k * n // 6 + n // 2]
        folders[name] = write_submission(
            tmp_path / "subs" / name, agencies[name], noisy(rows, 6, seed=k), seed=k
        )
    body = {
        "name": "trafficking-2026",
        "linkage_schema": person_schema().raw,
        "agencies": [{"name": a.name, "public_key_pem": a.public_pem} for a in agencies.values()],
        "matching": {"threshold": threshold},
    }
    created = hub.client().create_project(body)
    return agencies, created["tokens"], folders


def test_upload_run_and_fetch_own_links(live_hub: LiveHub, tmp_path: Path) -> None:
    from htlink.encode.submission import read_submission
    from htlink.match.engine import link_submissions
    from htlink.match.pseudonyms import load_or_create_project_key

    _, tokens, folders = setup_project(live_hub, tmp_path)
    for name in AGENCIES:
        accepted = live_hub.client(tokens[name]["upload"]).upload("trafficking-2026", folders[name])
        assert accepted["record_count"] == 200 and not accepted["replaced"]

    admin = live_hub.client()
    status = admin.status("trafficking-2026")
    assert all(s["submitted"] for s in status["submissions"])
    run = admin.start_run("trafficking-2026")
    info = admin.wait_run("trafficking-2026", run["id"], interval=0.1)
    assert info["status"] == "completed", info
    assert info["progress"] == 1.0
    summary = info["summary"]
    assert set(summary["agencies"]) == set(AGENCIES)
    assert sum(summary["similarity_histogram"]["counts"]) > 0

    key, _ = load_or_create_project_key(
        live_hub.data_dir / "projects" / "trafficking-2026" / "project.key"
    )
    local = link_submissions([read_submission(folders[a]) for a in sorted(AGENCIES)], 0.8, key)
    for name in AGENCIES:
        out = tmp_path / f"{name}.links.csv"
        meta = live_hub.client(tokens[name]["results"]).fetch_links("trafficking-2026", out)
        assert meta["run"] == run["id"]
        got = pd.read_csv(out, dtype={"row_token": str, "pseudonym": str})
        own = set(read_submission(folders[name]).row_tokens)
        assert set(got["row_token"]) == own  # its own rows, all of them, nothing else
        expected = local.links[name].sort_values("row_token").reset_index(drop=True)
        got = got.sort_values("row_token").reset_index(drop=True)
        pd.testing.assert_series_equal(got["pseudonym"], expected["pseudonym"])
        # no scores: a record's confidence is its best link's Dice, a pair's similarity
        assert list(got.columns) == ["row_token", "pseudonym"]
    # people shared between agencies got the same pseudonym on both sides
    clinic = pd.read_csv(tmp_path / "clinic.links.csv", dtype=str)
    shelter = pd.read_csv(tmp_path / "shelter.links.csv", dtype=str)
    assert len(set(clinic["pseudonym"]) & set(shelter["pseudonym"])) > 50


def test_second_upload_needs_replace_and_is_recorded(live_hub: LiveHub, tmp_path: Path) -> None:
    _, tokens, folders = setup_project(live_hub, tmp_path)
    uploader = live_hub.client(tokens["clinic"]["upload"])
    first = uploader.upload("trafficking-2026", folders["clinic"])
    with pytest.raises(HubRequestError) as err:
        uploader.upload("trafficking-2026", folders["clinic"])
    assert err.value.status == 409 and err.value.code == "submission_exists"
    second = uploader.upload("trafficking-2026", folders["clinic"], replace=True)
    assert second["replaced"] and second["submission_id"] != first["submission_id"]
    status = uploader.status("trafficking-2026")
    assert [s["agency"] for s in status["submissions"]] == ["clinic"]  # its own row only
    assert status["submissions"][0]["replaced_count"] == 1
    actions = [e["action"] for e in live_hub.client().audit()]
    assert "submission.upload" in actions and "submission.replace" in actions


def test_run_refused_until_agencies_have_submitted(live_hub: LiveHub, tmp_path: Path) -> None:
    _, tokens, folders = setup_project(live_hub, tmp_path)
    live_hub.client(tokens["clinic"]["upload"]).upload("trafficking-2026", folders["clinic"])
    admin = live_hub.client()
    with pytest.raises(HubRequestError) as err:
        admin.start_run("trafficking-2026")
    assert err.value.code == "submissions_missing"
    assert "shelter" in err.value.message and "court" in err.value.message
    live_hub.client(tokens["court"]["upload"]).upload("trafficking-2026", folders["court"])
    run = admin.start_run("trafficking-2026", ["clinic", "court"])  # a chosen subset
    info = admin.wait_run("trafficking-2026", run["id"], interval=0.1)
    assert info["status"] == "completed" and info["agencies"] == ["clinic", "court"]
    with pytest.raises(HubRequestError) as err:
        live_hub.client(tokens["shelter"]["results"]).fetch_links(
            "trafficking-2026", tmp_path / "x.csv"
        )
    assert err.value.code == "links_not_ready"
    assert not (tmp_path / "x.csv").exists()


def test_runs_on_a_dask_cluster_give_the_same_links(tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    from tests.hub.hubtools import start_live_hub

    results = {}
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        for label, scheduler in (("local", None), ("dask", cluster.scheduler_address)):
            hub = start_live_hub(tmp_path / label / "hub", None, scheduler=scheduler)
            try:
                _, tokens, folders = setup_project(hub, tmp_path / label)
                key_file = hub.data_dir / "projects" / "trafficking-2026" / "project.key"
                if label == "dask":  # the same project key, so the same pseudonyms
                    key_file.write_text((tmp_path / "key").read_text())
                else:
                    (tmp_path / "key").write_text(key_file.read_text())
                for name in AGENCIES:
                    hub.client(tokens[name]["upload"]).upload("trafficking-2026", folders[name])
                run = hub.client().start_run("trafficking-2026")
                info = hub.client().wait_run("trafficking-2026", run["id"], interval=0.1)
                assert info["status"] == "completed", info
                out = tmp_path / label / "clinic.csv"
                hub.client(tokens["clinic"]["results"]).fetch_links("trafficking-2026", out)
                results[label] = (out.read_bytes(), info["summary"]["pairs"])
            finally:
                hub.stop()
    assert results["dask"] == results["local"]


def test_an_internal_error_is_a_bare_500_and_logs_no_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """An unexpected failure answers 500 with a generic JSON error; nothing else leaks."""
    from htlink.hub import api as api_pkg
    from tests.hub.hubtools import start_live_hub

    hub = start_live_hub(tmp_path / "hub", None)
    original = api_pkg.projects.project_info

    def explode(*_args: object) -> None:
        raise RuntimeError("Maria Garcia 1987-03-14")  # a value that must not be printed

    try:
        hub.client().create_project(
            {
                "name": "p",
                "linkage_schema": person_schema().raw,
                "agencies": [
                    {"name": n, "public_key_pem": make_agency(n).public_pem} for n in "ab"
                ],
            }
        )
        api_pkg.projects.project_info = explode
        response = hub.http(hub.admin_token).get("/api/v1/projects")
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"
        assert "Maria" not in response.text
        assert hub.http(hub.admin_token).get("/api/v1/whoami").status_code == 200
    finally:
        api_pkg.projects.project_info = original
        hub.stop()
    captured = capfd.readouterr()
    log = (hub.data_dir / "logs" / "hub.log").read_text()
    assert "internal error (RuntimeError)" in log
    for text in (captured.out, captured.err, log):
        assert "Maria" not in text and "Traceback" not in text


def test_every_response_carries_the_security_headers(live_hub: LiveHub) -> None:
    for token, path in ((live_hub.admin_token, "/api/v1/whoami"), (None, "/api/v1/projects"),
                        (None, "/dashboard/login")):  # fmt: skip
        response = live_hub.http(token).get(path)
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_a_project_with_balanced_encodings_takes_their_doubled_length(
    live_hub: LiveHub, tmp_path: Path
) -> None:
    from htlink.schema import load_schema_file
    from tests.hub.hubtools import ROOT

    schema = load_schema_file(ROOT / "configs" / "schemas" / "person-v1-balanced-blip.json")
    agencies = {n: make_agency(n) for n in ("a", "b")}
    created = live_hub.client().create_project(
        {
            "name": "balanced",
            "linkage_schema": schema.raw,
            "agencies": [{"name": n, "public_key_pem": a.public_pem} for n, a in agencies.items()],
        }
    )
    assert created["bit_length"] == schema.encoding_length == 2 * schema.clk.l
    folder = write_submission(
        tmp_path / "a",
        agencies["a"],
        population(50, bits=schema.encoding_length, seed=2),
        fingerprint=schema.fingerprint,
    )
    accepted = live_hub.client(created["tokens"]["a"]["upload"]).upload("balanced", folder)
    assert accepted["record_count"] == 50
