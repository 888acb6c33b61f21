"""Every endpoint x every role: who may do what on the hub, over real HTTP.

The matrix below must name every API route the app serves (a test checks
that), so a new endpoint cannot be added without deciding who may call it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from htlink.hub.api import b64url_manifest
from tests.hub.hubtools import LiveHub, make_agency, person_schema, population, write_submission

P = "alpha"
Q = "beta"
ROLES = (
    "anonymous", "malformed", "unknown", "revoked", "expired",
    "admin", "upload", "results", "upload_other_agency", "results_other_agency",
    "upload_other_project", "results_other_project",
)  # fmt: skip
UNAUTHENTICATED = {"anonymous", "malformed", "unknown", "revoked", "expired"}
VALID = [r for r in ROLES if r not in UNAUTHENTICATED]


def _project(name: str, agencies: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "linkage_schema": person_schema().raw,
        "agencies": [{"name": a.name, "public_key_pem": a.public_pem} for a in agencies.values()],
        "matching": {"threshold": 0.8},
    }


@pytest.fixture
def world(live_hub: LiveHub, tmp_path: Path) -> dict[str, Any]:
    admin = live_hub.client()
    agencies = {n: make_agency(n) for n in ("clinic", "shelter")}
    tokens = admin.create_project(_project(P, agencies))["tokens"]
    other = admin.create_project(_project(Q, {n: make_agency(n) for n in ("clinic", "court")}))
    base = population(60, seed=3)
    folders = {
        n: write_submission(tmp_path / n, agencies[n], base[k * 20 : k * 20 + 40], seed=k)
        for k, n in enumerate(agencies)
    }
    for n in agencies:
        live_hub.client(tokens[n]["upload"]).upload(P, folders[n])
    run = admin.start_run(P)
    assert admin.wait_run(P, run["id"], interval=0.1)["status"] == "completed"
    revoked = admin.issue_token(P, {"role": "results", "agency": "clinic"})
    admin.revoke_token(revoked["info"]["id"])
    expired = admin.issue_token(P, {"role": "results", "agency": "clinic", "expires_in_days": 1e-9})
    time.sleep(0.01)
    victim = admin.issue_token(P, {"role": "results", "agency": "shelter"})
    return {
        "tokens": {
            "anonymous": None,
            "malformed": "not-a-token",
            "unknown": "htl_0123456789ab_" + "A" * 43,
            "revoked": revoked["token"],
            "expired": expired["token"],
            "admin": live_hub.admin_token,
            "upload": tokens["clinic"]["upload"],
            "results": tokens["clinic"]["results"],
            "upload_other_agency": tokens["shelter"]["upload"],
            "results_other_agency": tokens["shelter"]["results"],
            "upload_other_project": other["tokens"]["clinic"]["upload"],
            "results_other_project": other["tokens"]["clinic"]["results"],
        },
        "run": run["id"],
        "victim_token_id": victim["info"]["id"],
        "clinic_folder": folders["clinic"],
    }


def _upload_request(world: dict[str, Any]) -> dict[str, Any]:
    from htlink.encode.submission import read_manifest

    folder = world["clinic_folder"]
    return {
        "content": (folder / "encodings.parquet").read_bytes(),
        "headers": {"X-Htlink-Manifest": b64url_manifest(read_manifest(folder))},
        "params": {"replace": "true"},
    }


def matrix(world: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], set[str], set[int]]]:
    """(method, path, request kwargs, roles allowed, statuses that count as allowed)."""
    run = world["run"]
    everyone = set(VALID)
    project_agencies = {"admin", "upload", "results", "upload_other_agency", "results_other_agency"}
    new_project = _project("gamma", {n: make_agency(n) for n in ("a1", "a2")})
    return [
        ("GET", "/api/v1/whoami", {}, everyone, {200}),
        ("GET", "/api/v1/openapi.json", {}, everyone, {200}),
        ("GET", "/api/v1/projects", {}, {"admin"}, {200}),
        ("POST", "/api/v1/projects", {"json": new_project}, {"admin"}, {201}),
        ("GET", f"/api/v1/projects/{P}", {}, {"admin"}, {200}),
        ("GET", f"/api/v1/projects/{P}/status", {}, project_agencies, {200}),
        ("GET", f"/api/v1/projects/{P}/tokens", {}, {"admin"}, {200}),
        ("POST", f"/api/v1/projects/{P}/tokens",
         {"json": {"role": "results", "agency": "clinic"}}, {"admin"}, {201}),
        ("DELETE", f"/api/v1/tokens/{world['victim_token_id']}", {}, {"admin"}, {200}),
        ("PUT", f"/api/v1/projects/{P}/submissions/clinic", _upload_request(world),
         {"upload"}, {201}),
        ("POST", f"/api/v1/projects/{P}/runs", {"json": {}}, {"admin"}, {202, 409}),
        ("GET", f"/api/v1/projects/{P}/runs", {}, {"admin"}, {200}),
        ("GET", f"/api/v1/projects/{P}/runs/{run}", {}, {"admin"}, {200}),
        ("POST", f"/api/v1/projects/{P}/runs/{run}/cancel", {}, {"admin"}, {409}),
        ("GET", f"/api/v1/projects/{P}/links", {}, {"results", "results_other_agency"}, {200}),
        ("GET", "/api/v1/audit", {}, {"admin"}, {200}),
    ]  # fmt: skip


def test_every_endpoint_and_role(live_hub: LiveHub, world: dict[str, Any]) -> None:
    from htlink.hub.app import create_app
    from htlink.hub.settings import HubSettings

    cases = matrix(world)
    covered = {(m, _template(p)) for m, p, *_ in cases}
    app = create_app(HubSettings.create(live_hub.data_dir))
    served = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert served == covered, "every API route needs a row in the authorization matrix"

    failures = []
    clients = {role: live_hub.http(world["tokens"][role]) for role in ROLES}
    for method, path, kwargs, allowed, ok_statuses in cases:
        for role in ROLES:
            http = clients[role]
            response = http.request(method, path, **kwargs)
            status = response.status_code
            if role in UNAUTHENTICATED:
                good = status == 401 and response.json()["error"]["code"].startswith("token_")
            elif role in allowed:
                good = status in ok_statuses
            else:
                good = status == 403 and response.json()["error"]["code"] == "forbidden"
            if not good:
                failures.append(f"{role:>22} {method} {path}: {status} {response.text[:120]}")
    assert not failures, "\n".join(failures)

    # every refusal is in the audit log, with its reason code and never a token
    entries = live_hub.client().audit(limit=1000)
    refused = [e for e in entries if e["outcome"] == "refused"]
    assert {e["detail"]["code"] for e in refused} >= {
        "token_missing",
        "token_invalid",
        "token_revoked",
        "token_expired",
        "forbidden",
    }
    text = repr(entries)
    for role in VALID:
        secret = world["tokens"][role].split("_", 2)[2]
        assert secret not in text


def _template(path: str) -> str:
    parts = path.split("/")
    out = []
    for k, part in enumerate(parts):
        if k == 4 and parts[3] == "projects":
            out.append("{project}")
        elif k == 4 and parts[3] == "tokens":
            out.append("{token_id}")
        elif k == 6 and parts[5] == "submissions":
            out.append("{agency}")
        elif k == 6 and parts[5] == "runs":
            out.append("{run_id}")
        else:
            out.append(part)
    return "/".join(out)


def test_agency_sees_only_its_own_status_and_links(
    live_hub: LiveHub, world: dict[str, Any]
) -> None:
    own = live_hub.client(world["tokens"]["results"]).status(P)
    assert [s["agency"] for s in own["submissions"]] == ["clinic"]
    operator = live_hub.client().status(P)
    assert {s["agency"] for s in operator["submissions"]} == {"clinic", "shelter"}
    # the operator has aggregates but no row-level links anywhere in the run
    run = live_hub.client().run(P, world["run"])
    text = repr(run)
    links = live_hub.http(world["tokens"]["results"]).get(f"/api/v1/projects/{P}/links").text
    assert links.splitlines()[0] == "row_token,pseudonym"  # no pair scores for anyone
    for line in links.splitlines()[1:6]:
        token, pseudonym = line.split(",")
        assert token not in text and pseudonym not in text


def test_tokens_are_stored_only_as_hashes(live_hub: LiveHub, world: dict[str, Any]) -> None:
    from sqlalchemy import text

    from htlink.hub.database import Database

    db = Database(live_hub.database_url)
    with db.engine.connect() as conn:
        dump = repr(conn.execute(text("SELECT * FROM tokens")).all())
    db.dispose()
    for role in VALID:
        token = world["tokens"][role]
        assert token not in dump and token.split("_", 2)[2] not in dump
