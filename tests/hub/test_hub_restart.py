"""A hub killed during a run comes back with that run failed and earlier results intact;
a run can be cancelled while it compares."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from htlink.cli.main import app
from htlink.hub.client import HubClient
from tests.hub.hubtools import (
    HubProcess,
    LiveHub,
    init_hub,
    make_agency,
    noisy,
    person_schema,
    population,
    write_submission,
)


def _project(client: HubClient, agencies: dict, blocking: str = "none") -> dict:
    return client.create_project(
        {
            "name": "p",
            "linkage_schema": person_schema().raw,
            "agencies": [
                {"name": a.name, "public_key_pem": a.public_pem} for a in agencies.values()
            ],
            # exhaustive comparisons and within-agency de-duplication: a run that takes a while
            "matching": {"threshold": 0.9, "blocking": blocking},
        }
    )


def _wait_for(predicate, timeout: float = 120.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out")


def test_killed_hub_marks_the_run_failed_and_keeps_earlier_results(
    tmp_path: Path, db_url: str | None
) -> None:
    data_dir = tmp_path / "hub"
    _, admin_token = init_hub(data_dir, db_url)
    agencies = {n: make_agency(n) for n in ("a", "b", "c")}
    small = population(300, seed=5)
    big = population(60_000, seed=6)
    folders = {
        "a": write_submission(tmp_path / "a", agencies["a"], noisy(small, 4, 1), seed=1),
        "b": write_submission(tmp_path / "b", agencies["b"], noisy(small, 4, 2), seed=2),
        "c": write_submission(tmp_path / "c", agencies["c"], big, seed=3),
    }
    hub = HubProcess(data_dir, db_url)
    hub.start()
    try:
        admin = HubClient(hub.url, admin_token)
        tokens = _project(admin, agencies)["tokens"]
        for name, folder in folders.items():
            HubClient(hub.url, tokens[name]["upload"]).upload("p", folder)
        first = admin.start_run("p", ["a", "b"])
        assert admin.wait_run("p", first["id"], interval=0.1)["status"] == "completed"
        results_a = HubClient(hub.url, tokens["a"]["results"])
        results_a.fetch_links("p", tmp_path / "before.csv")

        second = admin.start_run("p")  # includes the big agency: many comparisons
        _wait_for(
            lambda: (r := admin.run("p", second["id"]))["status"] == "running"
            and r["stage"] not in ("loading", "verifying submissions")
        )
        hub.kill()
    finally:
        hub.kill()

    hub = HubProcess(data_dir, db_url)
    hub.start()
    try:
        admin = HubClient(hub.url, admin_token)
        run = admin.run("p", second["id"])
        assert run["status"] == "failed"
        assert "stopped during this run" in run["error"]
        assert admin.run("p", first["id"])["status"] == "completed"
        meta = HubClient(hub.url, tokens["a"]["results"]).fetch_links("p", tmp_path / "after.csv")
        assert meta["run"] == first["id"]
        assert (tmp_path / "after.csv").read_bytes() == (tmp_path / "before.csv").read_bytes()
        assert not any((data_dir / "staging").iterdir())
        assert not (data_dir / "projects" / "p" / "runs" / second["id"]).exists()
        status = admin.status("p")
        assert all(s["submitted"] for s in status["submissions"])  # submissions survived
        entries = admin.audit()
        assert any(e["action"] == "run.recover" and e["outcome"] == "failed" for e in entries)
    finally:
        hub.stop()
    verify = ["hub", "audit", "verify", "--data-dir", str(data_dir)]
    if db_url:
        verify += ["--database-url", db_url]
    result = CliRunner().invoke(app, verify)
    assert result.exit_code == 0, result.output


def test_a_running_run_can_be_cancelled(live_hub: LiveHub, tmp_path: Path) -> None:
    agencies = {n: make_agency(n) for n in ("a", "b")}
    base = population(50_000, seed=8)
    admin = live_hub.client()
    tokens = _project(admin, agencies)["tokens"]
    for k, name in enumerate(agencies):
        folder = write_submission(tmp_path / name, agencies[name], noisy(base, 3, k), seed=k)
        live_hub.client(tokens[name]["upload"]).upload("p", folder)
    run = admin.start_run("p")
    _wait_for(lambda: admin.run("p", run["id"])["stage"] not in ("queued", "loading",
                                                                  "verifying submissions"))
    admin.cancel_run("p", run["id"])
    final = admin.wait_run("p", run["id"], interval=0.05)
    assert final["status"] == "cancelled"
    assert final["summary"] is None
    assert not (live_hub.data_dir / "projects" / "p" / "runs" / run["id"]).exists()
    # the project can run again afterwards
    with httpx.Client() as http:
        response = http.post(
            f"{live_hub.url}/api/v1/projects/p/runs/{run['id']}/cancel",
            headers={"Authorization": f"Bearer {live_hub.admin_token}"},
        )
    assert response.status_code == 409 and response.json()["error"]["code"] == "run_not_active"
