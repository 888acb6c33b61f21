"""Role tokens and the audit chain, on an in-memory SQLite database."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htlink.hub import audit, tokens
from htlink.hub.database import Database, migrate
from htlink.hub.models import AuditEntry, AuditHead


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    migrate(database.engine)
    yield database
    database.dispose()


def test_a_token_authenticates_as_its_role_and_is_stored_only_as_a_hash(db: Database) -> None:
    with db.session() as s:
        text, row = tokens.issue(s, "admin", label="ops")
    assert text.startswith(f"htl_{row.id}_")
    secret = text.split("_", 2)[2]
    with db.session() as s:
        who = tokens.authenticate(s, text)
        assert (who.role, who.project_id, who.agency) == ("admin", None, None)
        stored = s.get(type(row), row.id)
        assert secret not in repr(vars(stored)) and stored.secret_sha256 != secret


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_nothing_but_the_token_authenticates(db: Database, guess: str) -> None:
    with db.session() as s:
        text, _ = tokens.issue(s, "admin")
    with db.session() as s:
        if guess.strip() != text:
            with pytest.raises(tokens.TokenRejectedError):
                tokens.authenticate(s, guess)


def test_a_token_with_a_changed_secret_is_refused(db: Database) -> None:
    with db.session() as s:
        text, _ = tokens.issue(s, "admin")
    last = "A" if text[-1] != "A" else "B"
    with db.session() as s, pytest.raises(tokens.TokenRejectedError) as err:
        tokens.authenticate(s, text[:-1] + last)
    assert err.value.code == "token_invalid"


def test_revoked_and_expired_tokens_are_refused(db: Database) -> None:
    with db.session() as s:
        revoked, row = tokens.issue(s, "admin")
        expired, _ = tokens.issue(s, "admin", expires_in_days=1e-12)
        tokens.revoke(s, row.id)
    with db.session() as s:
        for text, code in ((revoked, "token_revoked"), (expired, "token_expired")):
            with pytest.raises(tokens.TokenRejectedError) as err:
                tokens.authenticate(s, text)
            assert err.value.code == code


def test_agency_tokens_need_a_project_and_admin_tokens_must_not_have_one(db: Database) -> None:
    with db.session() as s, pytest.raises(ValueError):
        tokens.issue(s, "upload")
    with db.session() as s, pytest.raises(ValueError):
        tokens.issue(s, "admin", project_id=1)


def _fill(db: Database, n: int) -> None:
    with db.session() as s:
        for k in range(n):
            audit.append(
                s, actor="admin:x", action=f"act{k}", target="t", outcome="ok", detail={"k": k}
            )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(n=st.integers(2, 12), data=st.data())
def test_any_single_edit_or_deletion_breaks_the_chain(db: Database, n: int, data) -> None:
    with db.session() as s:
        s.query(AuditEntry).delete()
        s.execute(AuditHead.__table__.update().values(seq=0, entry_hash=audit.GENESIS))
    _fill(db, n)
    with db.session() as s:
        assert audit.verify_chain(s).ok
    victim = data.draw(st.integers(1, n))
    field = data.draw(
        st.sampled_from(["at", "actor", "action", "target", "outcome", "detail", "delete"])
    )
    with db.session() as s:
        entry = s.get(AuditEntry, victim)
        if field == "delete":
            s.delete(entry)
        elif field == "detail":
            entry.detail_json = json.dumps({"k": -1})
        else:
            setattr(entry, field, getattr(entry, field) + "x")
    with db.session() as s:
        report = audit.verify_chain(s)
    assert not report.ok


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_appends_from_many_threads_keep_one_chain(tmp_path, backend: str) -> None:
    """Threads appending at once (as requests and runs do) never fork or break the chain."""
    import threading

    from tests.hub.hubtools import create_postgres_database

    drop = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    else:
        url, drop = create_postgres_database()
    database = Database(url)
    try:
        migrate(database.engine)
        errors: list[str] = []

        def worker(k: int) -> None:
            try:
                for j in range(15):
                    with database.session() as s:
                        s.execute(AuditEntry.__table__.select().limit(1))  # a read first
                        audit.append(s, actor=f"t{k}", action="act", target=str(j), outcome="ok")
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[:3]
        with database.session() as s:
            report = audit.verify_chain(s)
        assert report.ok, report.problems
        assert report.entries == 90 and report.head_seq == 90
    finally:
        database.dispose()
        if drop:
            drop()
