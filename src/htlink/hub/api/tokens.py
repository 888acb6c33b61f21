"""Issuing, listing and revoking agency tokens (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from htlink.hub import audit
from htlink.hub import tokens as tokens_mod
from htlink.hub.api.auth import hub_of, principal, project_for, require_admin
from htlink.hub.api.views import agencies_of, token_info
from htlink.hub.apimodels import TokenCreate, TokenCreated, TokenInfo
from htlink.hub.errors import not_found
from htlink.hub.models import Project
from htlink.hub.tokens import Principal

router = APIRouter()


# -- tokens ------------------------------------------------------------------------------
@router.get("/projects/{project}/tokens", response_model=list[TokenInfo], tags=["tokens"])
def list_project_tokens(
    project: str, request: Request, who: Principal = Depends(principal)
) -> list[TokenInfo]:
    hub = hub_of(request)
    with hub.db.session() as s:
        p = project_for(hub, s, who, project, "token.list", ("admin",))
        return [token_info(t, p.name) for t in tokens_mod.list_tokens(s, p.id)]


@router.post(
    "/projects/{project}/tokens", response_model=TokenCreated, status_code=201, tags=["tokens"]
)
def create_token(
    project: str, body: TokenCreate, request: Request, who: Principal = Depends(principal)
) -> TokenCreated:
    """Issue another upload or results token for an agency (e.g. after revoking one)."""
    hub = hub_of(request)
    with hub.db.session() as s:
        p = project_for(hub, s, who, project, "token.create", ("admin",))
        if body.agency not in {a.name for a in agencies_of(s, p)}:
            raise not_found("agency in this project")
        text, row = tokens_mod.issue(
            s,
            body.role,
            project_id=p.id,
            agency=body.agency,
            label=body.label,
            expires_in_days=body.expires_in_days,
        )
        audit.append(
            s,
            actor=who.actor,
            action="token.create",
            target=f"token:{row.id}",
            outcome="ok",
            detail={"role": body.role, "project": p.name, "agency": body.agency},
        )
        return TokenCreated(token=text, info=token_info(row, p.name))


@router.delete("/tokens/{token_id}", response_model=TokenInfo, tags=["tokens"])
def revoke_token(token_id: str, request: Request, who: Principal = Depends(principal)) -> TokenInfo:
    """Revoke a token at once; requests with it are refused from now on."""
    hub = hub_of(request)
    require_admin(hub, who, "token.revoke", f"token:{token_id}")
    with hub.db.session() as s:
        row = tokens_mod.revoke(s, token_id)
        if row is None:
            raise not_found("token")
        name = s.get(Project, row.project_id).name if row.project_id else None
        audit.append(
            s, actor=who.actor, action="token.revoke", target=f"token:{token_id}", outcome="ok"
        )
        return token_info(row, name)
