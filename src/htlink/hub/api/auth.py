"""Who is asking: bearer tokens to principals, and the checks every endpoint makes."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from htlink.hub import audit
from htlink.hub import tokens as tokens_mod
from htlink.hub.errors import HubError, forbidden, not_found
from htlink.hub.models import Project
from htlink.hub.tokens import Principal, TokenRejectedError


# -- who is asking -----------------------------------------------------------------------
def hub_of(request: Request) -> Any:
    return request.app.state.hub


def presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def identify(request: Request, token: str | None) -> Principal:
    """Authenticate ``token``; every refusal is written to the audit log."""
    hub = hub_of(request)
    try:
        with hub.db.session() as s:
            return tokens_mod.authenticate(s, token)
    except TokenRejectedError as exc:
        audit.record(
            hub.db,
            actor="anonymous",
            action="auth",
            target=f"{request.method} {request.url.path}",
            outcome="refused",
            detail={"code": exc.code},
        )
        raise HubError(401, exc.code, exc.reason, "Check the token you were given.") from None


def principal(request: Request) -> Principal:
    return identify(request, presented_token(request))


def refuse(hub: Any, who: Principal, action: str, target: str, error: HubError) -> HubError:
    audit.record(
        hub.db,
        actor=who.actor,
        action=action,
        target=target,
        outcome="refused",
        detail={"code": error.code},
    )
    return error


def require_admin(hub: Any, who: Principal, action: str, target: str) -> None:
    if who.role != "admin":
        raise refuse(hub, who, action, target, forbidden("Only the hub operator may do this."))


def project_for(
    hub: Any, s: Session, who: Principal, name: str, action: str, roles: tuple[str, ...]
) -> Project:
    """The project, if ``who`` may act on it with one of ``roles``; else 403 (or 404 for admin)."""
    target = f"project:{name}"
    if who.role not in roles:
        raise refuse(hub, who, action, target, forbidden())
    project = s.scalar(select(Project).where(Project.name == name))
    if who.role == "admin":
        if project is None:
            raise not_found("project")
        return project
    if project is None or project.id != who.project_id:
        raise refuse(hub, who, action, target, forbidden("This token belongs to another project."))
    return project
