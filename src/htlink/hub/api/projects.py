"""Identity, the OpenAPI schema, projects and their submission status."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from htlink.crypto.signing import SigningKeyError, load_public_key, public_key_fingerprint
from htlink.errors import SchemaError
from htlink.hub import audit, timeutil
from htlink.hub import tokens as tokens_mod
from htlink.hub.api.auth import hub_of, principal, project_for, refuse, require_admin
from htlink.hub.api.views import project_info, project_status
from htlink.hub.apimodels import (
    AgencyTokens,
    ProjectCreate,
    ProjectCreated,
    ProjectInfo,
    ProjectStatus,
    WhoAmI,
)
from htlink.hub.errors import HubError
from htlink.hub.models import Project, ProjectAgency
from htlink.hub.tokens import Principal

router = APIRouter()


# -- identity and schema -----------------------------------------------------------------
@router.get("/whoami", response_model=WhoAmI, tags=["identity"])
def whoami(request: Request, who: Principal = Depends(principal)) -> WhoAmI:
    """Which role, project and agency the presented token stands for."""
    hub = hub_of(request)
    name = None
    if who.project_id is not None:
        with hub.db.session() as s:
            name = s.get(Project, who.project_id).name
    return WhoAmI(role=who.role, project=name, agency=who.agency, token_id=who.token_id)


@router.get("/openapi.json", tags=["identity"])
def openapi(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """The OpenAPI schema of this API (any valid token)."""
    return request.app.openapi()


# -- projects ----------------------------------------------------------------------------
@router.get("/projects", response_model=list[ProjectInfo], tags=["projects"])
def list_projects(request: Request, who: Principal = Depends(principal)) -> list[ProjectInfo]:
    hub = hub_of(request)
    require_admin(hub, who, "project.list", "projects")
    with hub.db.session() as s:
        return [project_info(s, p) for p in s.scalars(select(Project).order_by(Project.name))]


@router.post("/projects", response_model=ProjectCreated, status_code=201, tags=["projects"])
def create_project(
    body: ProjectCreate, request: Request, who: Principal = Depends(principal)
) -> ProjectCreated:
    """Create a project: its agencies, their signing keys, the schema and matching settings."""
    from htlink.match.pseudonyms import load_or_create_project_key
    from htlink.schema import parse_schema

    hub = hub_of(request)
    target = f"project:{body.name}"
    require_admin(hub, who, "project.create", target)
    try:
        schema = parse_schema(body.linkage_schema, source="linkage_schema")
    except SchemaError as exc:
        raise refuse(
            hub,
            who,
            "project.create",
            target,
            HubError(422, "schema_invalid", exc.message, exc.hint),
        ) from None
    names = [a.name for a in body.agencies]
    if len(set(names)) != len(names):
        raise refuse(
            hub,
            who,
            "project.create",
            target,
            HubError(422, "agencies_repeated", "An agency is listed twice."),
        )
    keys: dict[str, str] = {}
    for spec in body.agencies:
        try:
            keys[spec.name] = public_key_fingerprint(load_public_key(spec.public_key_pem))
        except SigningKeyError:
            raise refuse(
                hub,
                who,
                "project.create",
                target,
                HubError(
                    422,
                    "public_key_invalid",
                    f"The public key given for agency {spec.name!r} is not an Ed25519 PEM key.",
                    "Pass the .pub file made by `htlink keys agency-new`.",
                ),
            ) from None
    threshold = body.matching.threshold
    if threshold != "auto" and not 0.0 < float(threshold) <= 1.0:
        raise refuse(
            hub,
            who,
            "project.create",
            target,
            HubError(422, "threshold_invalid", "The threshold must be in (0, 1] or 'auto'."),
        )
    settings = body.matching.model_dump()
    tokens: dict[str, AgencyTokens] = {}
    with hub.db.session() as s:
        if s.scalar(select(Project).where(Project.name == body.name)) is not None:
            raise refuse(
                hub,
                who,
                "project.create",
                target,
                HubError(409, "project_exists", f"A project named {body.name!r} exists."),
            )
        project = Project(
            name=body.name,
            schema_json=json.dumps(body.linkage_schema, sort_keys=True),
            schema_fingerprint=schema.fingerprint,
            bit_length=schema.encoding_length,
            settings_json=json.dumps(settings),
            created_at=timeutil.now(),
        )
        s.add(project)
        s.flush()
        for spec in body.agencies:
            s.add(
                ProjectAgency(
                    project_id=project.id,
                    name=spec.name,
                    public_key_pem=spec.public_key_pem,
                    public_key_fingerprint=keys[spec.name],
                    deduplicated=spec.deduplicated,
                )
            )
            issued = {}
            for role in ("upload", "results"):
                text, _ = tokens_mod.issue(
                    s,
                    role,
                    project_id=project.id,
                    agency=spec.name,
                    label=f"{role} token made with the project",
                    expires_in_days=body.token_expiry_days,
                )
                issued[role] = text
            tokens[spec.name] = AgencyTokens(**issued)
        load_or_create_project_key(hub.storage.project_key(body.name))
        audit.append(
            s,
            actor=who.actor,
            action="project.create",
            target=target,
            outcome="ok",
            detail={
                "agencies": names,
                "schema_fingerprint": schema.fingerprint,
                "matching": settings,
            },
        )
    return ProjectCreated(
        project=body.name,
        schema_fingerprint=schema.fingerprint,
        bit_length=schema.encoding_length,
        tokens=tokens,
    )


@router.get("/projects/{project}", response_model=ProjectInfo, tags=["projects"])
def get_project(project: str, request: Request, who: Principal = Depends(principal)) -> ProjectInfo:
    hub = hub_of(request)
    with hub.db.session() as s:
        return project_info(s, project_for(hub, s, who, project, "project.view", ("admin",)))


@router.get("/projects/{project}/status", response_model=ProjectStatus, tags=["projects"])
def get_status(
    project: str, request: Request, who: Principal = Depends(principal)
) -> ProjectStatus:
    """Which agencies have submitted: all of them for the operator, only its own for an agency."""
    hub = hub_of(request)
    with hub.db.session() as s:
        p = project_for(hub, s, who, project, "project.status", ("admin", "upload", "results"))
        return project_status(s, p, None if who.role == "admin" else who.agency)
