"""The append-only, hash-chained audit log.

Every action on the hub -- accepted or refused -- appends one entry: when, who
(role, agency and token id; never a token secret), what action, on what target,
the outcome, and details that are counts and codes only (never identifiers,
never encodings).  Each entry's hash is SHA-256 over the previous entry's hash
and the entry's canonical JSON, and the newest entry is recorded in a head row.
:func:`verify_chain` recomputes the chain: an edited entry no longer matches its
hash, a deleted entry leaves a gap in the sequence or a broken link, and a
deleted tail no longer reaches the head.  Someone who can rewrite the whole
database can rebuild a consistent chain; to notice that too, record the head
hash that ``htlink hub audit verify`` prints somewhere the hub cannot write
(a ticket, an e-mail) and pass it back with ``--expect-head``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from htlink.hub import timeutil
from htlink.hub.models import AuditEntry, AuditHead

GENESIS = "0" * 64


def _entry_hash(prev_hash: str, content: dict[str, Any]) -> str:
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _content(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": int(entry.seq),
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "outcome": entry.outcome,
        "detail": json.loads(entry.detail_json),
    }


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry inside ``session``'s transaction (committed with it).

    The head row is *updated first*: that takes the database's write lock
    (SQLite) or the row's lock (PostgreSQL) until the transaction ends, so
    concurrent appenders -- threads or hub processes -- queue behind each other
    and each links to the entry committed before it.
    """
    session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1),
        execution_options={"synchronize_session": False},
    )
    seq, prev = session.execute(
        select(AuditHead.seq, AuditHead.entry_hash).where(AuditHead.id == 1)
    ).one()
    entry = AuditEntry(
        seq=int(seq),
        at=timeutil.now(),
        actor=actor[:120],
        action=action,
        target=target[:200],
        outcome=outcome,
        detail_json=json.dumps(detail or {}, sort_keys=True),
        prev_hash=prev,
        entry_hash="",
    )
    entry.entry_hash = _entry_hash(prev, _content(entry))
    session.add(entry)
    session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(entry_hash=entry.entry_hash),
        execution_options={"synchronize_session": False},
    )
    session.flush()
    return entry


def record(db: Any, **entry: Any) -> None:
    """Append an entry in its own transaction (for refusals, whose work was rolled back)."""
    with db.session() as session:
        append(session, **entry)


@dataclass
class ChainReport:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(session: Session, expect_head: str | None = None) -> ChainReport:
    """Recompute every entry's hash and link; report each inconsistency found."""
    report = ChainReport()
    prev_hash = GENESIS
    expected_seq = 1
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(5000):
        report.entries += 1
        seq = int(entry.seq)
        if seq != expected_seq:
            report.problems.append(
                f"entries {expected_seq}-{seq - 1} are missing (deleted)"
                if seq > expected_seq
                else f"entry {seq} is out of order"
            )
        if entry.prev_hash != prev_hash:
            report.problems.append(f"entry {seq} does not follow the entry before it")
        if _entry_hash(entry.prev_hash, _content(entry)) != entry.entry_hash:
            report.problems.append(
                f"entry {seq} was altered: its content no longer matches its hash"
            )
        prev_hash = entry.entry_hash
        expected_seq = seq + 1
        report.head_seq, report.head_hash = seq, entry.entry_hash
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != report.head_seq or head.entry_hash != report.head_hash):
        report.problems.append(
            f"the log ends at entry {report.head_seq} but the head records entry {head.seq}: "
            "the newest entries were deleted or the head was altered"
        )
    if head is None:
        report.problems.append("the chain's head record is missing")
    if expect_head is not None:
        found = session.scalar(select(AuditEntry.seq).where(AuditEntry.entry_hash == expect_head))
        if found is None:
            report.problems.append(
                "the head hash you recorded earlier is not in the log: the log was rewritten"
            )
    return report
