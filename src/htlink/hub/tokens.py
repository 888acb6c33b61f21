"""Role tokens: ``htl_<id>_<secret>``, stored only as the SHA-256 of the secret.

A token is 12 hex digits of id (to find its row) and 256 random bits of secret
(base64url).  The hub stores the id and SHA-256 of the secret; a presented
token is checked by recomputing that hash and comparing in constant time
(``hmac.compare_digest``).  Because secrets are random 256-bit values, a fast
hash is enough: there is nothing to brute-force.  Roles:

``admin``   the hub operator: projects, tokens, runs, aggregates, audit.
``upload``  one agency in one project: send and replace its submission, see its status.
``results`` one agency in one project: fetch its own links, see its status.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from htlink.hub import timeutil
from htlink.hub.models import Token

ROLES = ("admin", "upload", "results")
TOKEN_RE = re.compile(r"^htl_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class Principal:
    """Who is asking: the role and, for agency roles, which project and agency."""

    token_id: str
    role: str
    project_id: int | None = None
    agency: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this principal (never the token's secret)."""
        if self.role == "admin":
            return f"admin:{self.token_id}"
        return f"{self.role}:{self.agency}:{self.token_id}"


class TokenRejectedError(Exception):
    """The presented token is not valid; ``reason`` is safe to show."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def issue(
    session: Session,
    role: str,
    *,
    project_id: int | None = None,
    agency: str | None = None,
    label: str = "",
    expires_in_days: float | None = None,
) -> tuple[str, Token]:
    """Make a token; return its full text (shown once, never stored) and its row."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if (role == "admin") != (project_id is None):
        raise ValueError("admin tokens have no project; agency tokens need one")
    token_id = secrets.token_hex(6)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    row = Token(
        id=token_id,
        secret_sha256=_digest(secret),
        role=role,
        project_id=project_id,
        agency=agency,
        label=label[:200],
        created_at=timeutil.now(),
        expires_at=timeutil.after(expires_in_days) if expires_in_days else None,
    )
    session.add(row)
    session.flush()
    return f"htl_{token_id}_{secret}", row


def authenticate(session: Session, presented: str | None) -> Principal:
    """The principal behind ``presented``, or :class:`TokenRejectedError`."""
    if not presented:
        raise TokenRejectedError(
            "token_missing",
            "This endpoint needs a token: send 'Authorization: Bearer <token>'.",
        )
    match = TOKEN_RE.match(presented.strip())
    if not match:
        raise TokenRejectedError("token_invalid", "The token is not valid.")
    token_id, secret = match.groups()
    row = session.get(Token, token_id)
    # Compare against a dummy digest when the id is unknown, so both paths do the same work.
    stored = row.secret_sha256 if row is not None else "0" * 64
    if not hmac.compare_digest(stored, _digest(secret)) or row is None:
        raise TokenRejectedError("token_invalid", "The token is not valid.")
    if row.revoked_at is not None:
        raise TokenRejectedError("token_revoked", "The token was revoked; ask the hub operator.")
    if row.expires_at is not None and row.expires_at <= timeutil.now():
        raise TokenRejectedError("token_expired", "The token has expired; ask the hub operator.")
    return Principal(token_id=row.id, role=row.role, project_id=row.project_id, agency=row.agency)


def revoke(session: Session, token_id: str) -> Token | None:
    row = session.get(Token, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = timeutil.now()
    return row


def list_tokens(session: Session, project_id: int | None = None) -> list[Token]:
    query = select(Token).order_by(Token.created_at)
    if project_id is not None:
        query = query.where(Token.project_id == project_id)
    return list(session.scalars(query))
