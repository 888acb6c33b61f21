"""The audit log: every action recorded, and `htlink hub audit verify` catches tampering."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from htlink.cli.main import app
from htlink.hub.database import Database
from tests.hub.hubtools import LiveHub, make_agency, person_schema


def _verify(hub: LiveHub, *extra: str) -> tuple[int, str]:
    args = [
        "hub",
        "audit",
        "verify",
        "--data-dir",
        str(hub.data_dir),
        "--database-url",
        hub.database_url,
        *extra,
    ]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def _activity(hub: LiveHub) -> None:
    admin = hub.client()
    body = {
        "name": "p1",
        "linkage_schema": person_schema().raw,
        "agencies": [{"name": n, "public_key_pem": make_agency(n).public_pem} for n in "ab"],
    }
    created = admin.create_project(body)
    for _ in range(3):
        hub.http("htl_0123456789ab_" + "B" * 43).get("/api/v1/whoami")  # refused, recorded
    admin.issue_token("p1", {"role": "upload", "agency": "a"})
    hub.client(created["tokens"]["a"]["results"]).status("p1")


def _sql(hub: LiveHub, statement: str) -> None:
    db = Database(hub.database_url)
    with db.engine.begin() as conn:
        conn.execute(text(statement))
    db.dispose()


def test_actions_are_recorded_with_who_what_and_outcome(live_hub: LiveHub) -> None:
    _activity(live_hub)
    entries = live_hub.client().audit()
    actions = [(e["actor"].split(":")[0], e["action"], e["outcome"]) for e in entries]
    assert ("hub", "hub.start", "ok") in actions
    assert ("admin", "project.create", "ok") in actions
    assert ("admin", "token.create", "ok") in actions
    assert actions.count(("anonymous", "auth", "refused")) == 3
    assert all(e["at"].endswith("Z") for e in entries)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))


def test_verify_passes_on_an_intact_log_and_prints_the_head(live_hub: LiveHub) -> None:
    _activity(live_hub)
    code, output = _verify(live_hub)
    assert code == 0, output
    assert "intact" in output
    head = output.split("head hash:")[1].split()[0]
    assert len(head) == 64
    live_hub.client().projects()  # reading is not an action, the log may grow by others
    code, output = _verify(live_hub, "--expect-head", head)
    assert code == 0, output


def test_verify_detects_an_edited_entry(live_hub: LiveHub) -> None:
    _activity(live_hub)
    _sql(live_hub, "UPDATE audit_log SET outcome = 'ok' WHERE seq = 3")
    code, output = _verify(live_hub)
    assert code == 1
    assert "entry 3 was altered" in output


def test_verify_detects_a_deleted_entry(live_hub: LiveHub) -> None:
    _activity(live_hub)
    _sql(live_hub, "DELETE FROM audit_log WHERE seq = 4")
    code, output = _verify(live_hub)
    assert code == 1
    assert "entries 4-4 are missing" in output


def test_verify_detects_a_deleted_tail(live_hub: LiveHub) -> None:
    _activity(live_hub)
    _sql(live_hub, "DELETE FROM audit_log WHERE seq > 3")
    code, output = _verify(live_hub)
    assert code == 1
    assert "newest entries were deleted" in output


def test_verify_detects_a_rewritten_log_against_a_recorded_head(
    live_hub: LiveHub, tmp_path: Path
) -> None:
    _activity(live_hub)
    code, output = _verify(live_hub)
    head = output.split("head hash:")[1].split()[0]
    # an attacker with database access rewrites an entry and recomputes the whole chain
    from htlink.hub import audit
    from htlink.hub.models import AuditEntry, AuditHead

    db = Database(live_hub.database_url)
    with db.session() as s:
        entries = list(s.query(AuditEntry).order_by(AuditEntry.seq))
        entries[1].outcome = "tampered"
        prev = audit.GENESIS
        for e in entries:
            e.prev_hash = prev
            e.entry_hash = audit._entry_hash(prev, audit._content(e))
            prev = e.entry_hash
        head_row = s.get(AuditHead, 1)
        head_row.entry_hash = prev
    db.dispose()
    code, output = _verify(live_hub)
    assert code == 0  # a consistent rewrite cannot be seen from inside the database ...
    code, output = _verify(live_hub, "--expect-head", head)
    assert code == 1  # ... but it can against a head recorded outside it
    assert "rewritten" in output
