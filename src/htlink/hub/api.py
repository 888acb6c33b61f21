"""The hub's JSON API (``/api/v1``): who may do what is decided here, per endpoint.

=====================================  =======  ==================  ==================
endpoint                               admin    upload (own agency)  results (own agency)
=====================================  =======  ==================  ==================
GET  /whoami, /openapi.json            yes      yes                 yes
GET  /projects, POST /projects         yes      --                  --
GET  /projects/{p}                     yes      --                  --
GET  /projects/{p}/status              all      own agency only     own agency only
GET/POST /projects/{p}/tokens          yes      --                  --
DELETE /tokens/{id}                    yes      --                  --
PUT  /projects/{p}/submissions/{a}     --       yes                 --
GET/POST /projects/{p}/runs...         yes      --                  --
GET  /projects/{p}/links               --       --                  yes
GET  /audit                            yes      --                  --
=====================================  =======  ==================  ==================

An agency token never sees another agency or project: it gets 403 whether or
not the other project exists.  The operator sees aggregates only and has no
endpoint that returns row-level links.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from htlink.crypto.signing import SigningKeyError, load_public_key, public_key_fingerprint
from htlink.errors import SchemaError
from htlink.hub import audit, timeutil
from htlink.hub import tokens as tokens_mod
from htlink.hub.apimodels import (
    AgencyTokens,
    AuditItem,
    ProjectCreate,
    ProjectCreated,
    ProjectInfo,
    ProjectStatus,
    RunCreate,
    RunInfo,
    SubmissionStatus,
    TokenCreate,
    TokenCreated,
    TokenInfo,
    UploadAccepted,
    WhoAmI,
)
from htlink.hub.errors import HubError, forbidden, not_found
from htlink.hub.models import (
    AuditEntry,
    Project,
    ProjectAgency,
    Run,
    SubmissionRecord,
    Token,
)
from htlink.hub.runs import ACTIVE, new_run_id
from htlink.hub.storage import move_into_place, remove
from htlink.hub.tokens import Principal, TokenRejectedError
from htlink.hub.uploads import (
    MANIFEST_HEADER,
    check_manifest,
    encodings_path,
    parse_manifest_header,
    receive_body,
    size_limit,
    verify_encodings,
    write_manifest,
)

router = APIRouter(prefix="/api/v1")
_commit_lock = threading.Lock()


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


# -- small helpers -----------------------------------------------------------------------
def _agencies(s: Session, project: Project) -> list[ProjectAgency]:
    return list(
        s.scalars(
            select(ProjectAgency)
            .where(ProjectAgency.project_id == project.id)
            .order_by(ProjectAgency.name)
        )
    )


def _current(s: Session, project: Project, agency: str) -> SubmissionRecord | None:
    return s.scalar(
        select(SubmissionRecord).where(
            SubmissionRecord.project_id == project.id,
            SubmissionRecord.agency == agency,
            SubmissionRecord.current.is_(True),
        )
    )


def _token_info(row: Token, project_name: str | None) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        role=row.role,
        project=project_name,
        agency=row.agency,
        label=row.label,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def run_info(run: Run, project_name: str) -> RunInfo:
    return RunInfo(
        id=run.id,
        project=project_name,
        status=run.status,
        stage=run.stage,
        progress=round(run.progress, 4),
        agencies=json.loads(run.agencies_json),
        settings=json.loads(run.settings_json),
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        error=run.error,
        summary=json.loads(run.summary_json) if run.summary_json else None,
    )


def project_status(s: Session, project: Project, only: str | None = None) -> ProjectStatus:
    rows = []
    for agency in _agencies(s, project):
        if only is not None and agency.name != only:
            continue
        current = _current(s, project, agency.name)
        replaced = s.scalar(
            select(func.count())
            .select_from(SubmissionRecord)
            .where(
                SubmissionRecord.project_id == project.id,
                SubmissionRecord.agency == agency.name,
                SubmissionRecord.current.is_(False),
            )
        )
        rows.append(
            SubmissionStatus(
                agency=agency.name,
                submitted=current is not None,
                submission_id=current.id if current else None,
                record_count=current.record_count if current else None,
                received_at=current.received_at if current else None,
                replaced_count=int(replaced or 0),
            )
        )
    return ProjectStatus(project=project.name, submissions=rows)


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
        return [_project_info(s, p) for p in s.scalars(select(Project).order_by(Project.name))]


def _project_info(s: Session, project: Project) -> ProjectInfo:
    return ProjectInfo(
        name=project.name,
        schema_fingerprint=project.schema_fingerprint,
        bit_length=project.bit_length,
        matching=json.loads(project.settings_json),
        agencies=[
            {
                "name": a.name,
                "deduplicated": a.deduplicated,
                "public_key_fingerprint": a.public_key_fingerprint,
            }
            for a in _agencies(s, project)
        ],
        created_at=project.created_at,
    )


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
            bit_length=schema.clk.l,
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
        bit_length=schema.clk.l,
        tokens=tokens,
    )


@router.get("/projects/{project}", response_model=ProjectInfo, tags=["projects"])
def get_project(project: str, request: Request, who: Principal = Depends(principal)) -> ProjectInfo:
    hub = hub_of(request)
    with hub.db.session() as s:
        return _project_info(s, project_for(hub, s, who, project, "project.view", ("admin",)))


@router.get("/projects/{project}/status", response_model=ProjectStatus, tags=["projects"])
def get_status(
    project: str, request: Request, who: Principal = Depends(principal)
) -> ProjectStatus:
    """Which agencies have submitted: all of them for the operator, only its own for an agency."""
    hub = hub_of(request)
    with hub.db.session() as s:
        p = project_for(hub, s, who, project, "project.status", ("admin", "upload", "results"))
        return project_status(s, p, None if who.role == "admin" else who.agency)


# -- tokens ------------------------------------------------------------------------------
@router.get("/projects/{project}/tokens", response_model=list[TokenInfo], tags=["tokens"])
def list_project_tokens(
    project: str, request: Request, who: Principal = Depends(principal)
) -> list[TokenInfo]:
    hub = hub_of(request)
    with hub.db.session() as s:
        p = project_for(hub, s, who, project, "token.list", ("admin",))
        return [_token_info(t, p.name) for t in tokens_mod.list_tokens(s, p.id)]


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
        if body.agency not in {a.name for a in _agencies(s, p)}:
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
        return TokenCreated(token=text, info=_token_info(row, p.name))


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
        return _token_info(row, name)


# -- uploads -----------------------------------------------------------------------------
def _upload_precheck(
    hub: Any, who: Principal, project: str, agency: str, header: str | None, replace: bool
) -> dict[str, Any]:
    with hub.db.session() as s:
        p = project_for(hub, s, who, project, "submission.upload", ("upload",))
        if who.agency != agency:
            raise refuse(
                hub,
                who,
                "submission.upload",
                f"project:{project}/agency:{agency}",
                forbidden("This token may upload only for its own agency."),
            )
        registered = s.scalar(
            select(ProjectAgency).where(
                ProjectAgency.project_id == p.id, ProjectAgency.name == agency
            )
        )
        if registered is None:  # pragma: no cover - tokens are only issued for registered agencies
            raise not_found("agency in this project")
        manifest = parse_manifest_header(header)
        check_manifest(
            manifest,
            agency=agency,
            public_key_pem=registered.public_key_pem,
            schema_fingerprint=p.schema_fingerprint,
            bit_length=p.bit_length,
            max_records=hub.settings.max_records,
        )
        if _current(s, p, agency) is not None and not replace:
            raise HubError(
                409,
                "submission_exists",
                "Your agency already has a submission in this project.",
                "Upload again with --replace to replace it (the replacement is recorded).",
            )
        return manifest


def _commit_upload(
    hub: Any,
    who: Principal,
    project: str,
    agency: str,
    manifest: dict[str, Any],
    staged: Any,
    size: int,
    replace: bool,
) -> UploadAccepted:
    write_manifest(staged, manifest)
    submission_id = secrets.token_hex(16)
    with _commit_lock, hub.db.session() as s:
        p = s.scalar(select(Project).where(Project.name == project))
        current = _current(s, p, agency)
        if current is not None and not replace:
            raise HubError(
                409,
                "submission_exists",
                "Your agency already has a submission in this project.",
                "Upload again with --replace to replace it (the replacement is recorded).",
            )
        final = hub.storage.submission_dir(project, agency, submission_id)
        move_into_place(staged, final)
        try:
            if current is not None:
                current.current = False
                current.replaced_at = timeutil.now()
                s.flush()
            s.add(
                SubmissionRecord(
                    id=submission_id,
                    project_id=p.id,
                    agency=agency,
                    current=True,
                    record_count=int(manifest["record_count"]),
                    bit_length=int(manifest["bit_length"]),
                    size_bytes=size,
                    content_hash=manifest["content_hash"],
                    manifest_json=json.dumps(manifest, sort_keys=True),
                    received_at=timeutil.now(),
                )
            )
            audit.append(
                s,
                actor=who.actor,
                action="submission.replace" if current is not None else "submission.upload",
                target=f"project:{project}/agency:{agency}",
                outcome="accepted",
                detail={
                    "submission_id": submission_id,
                    "record_count": int(manifest["record_count"]),
                    "replaced": current.id if current is not None else None,
                },
            )
            s.commit()
        except IntegrityError:
            remove(final)
            raise HubError(
                409,
                "submission_exists",
                "Another upload for your agency finished first.",
                "Upload again with --replace if you mean to replace it.",
            ) from None
        except BaseException:
            remove(final)
            raise
    return UploadAccepted(
        submission_id=submission_id,
        agency=agency,
        record_count=int(manifest["record_count"]),
        replaced=current is not None,
    )


@router.put(
    "/projects/{project}/submissions/{agency}",
    response_model=UploadAccepted,
    status_code=201,
    tags=["submissions"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
            "description": "encodings.parquet as written by `htlink encode`; the signed "
            f"manifest goes in the {MANIFEST_HEADER} header (base64url JSON).",
        }
    },
)
async def upload_submission(
    project: str,
    agency: str,
    request: Request,
    replace: bool = False,
    who: Principal = Depends(principal),
) -> UploadAccepted:
    """Upload an agency's submission; it is verified completely before anything is kept."""
    hub = hub_of(request)
    target = f"project:{project}/agency:{agency}"
    action = "submission.replace" if replace else "submission.upload"
    staged = None
    try:
        manifest = await run_in_threadpool(
            _upload_precheck,
            hub,
            who,
            project,
            agency,
            request.headers.get(MANIFEST_HEADER),
            replace,
        )
        staged = await run_in_threadpool(hub.storage.staging)
        digest, size = await receive_body(
            request.stream(),
            encodings_path(staged),
            size_limit(manifest, hub.settings.max_upload_bytes),
        )
        await run_in_threadpool(verify_encodings, encodings_path(staged), manifest, digest, size)
        return await run_in_threadpool(
            _commit_upload, hub, who, project, agency, manifest, staged, size, replace
        )
    except HubError as exc:
        if exc.status not in (401, 403):  # those were recorded where they were decided
            await run_in_threadpool(
                audit.record,
                hub.db,
                actor=who.actor,
                action=action,
                target=target,
                outcome="refused",
                detail={"code": exc.code},
            )
        raise
    except ClientDisconnect:
        await run_in_threadpool(
            audit.record,
            hub.db,
            actor=who.actor,
            action=action,
            target=target,
            outcome="refused",
            detail={"code": "client_disconnected"},
        )
        raise HubError(400, "upload_interrupted", "The upload was interrupted.") from None
    finally:
        if staged is not None:
            remove(staged)


# -- runs --------------------------------------------------------------------------------
@router.post("/projects/{project}/runs", response_model=RunInfo, status_code=202, tags=["runs"])
def start_run(
    project: str,
    request: Request,
    body: RunCreate | None = None,
    who: Principal = Depends(principal),
) -> RunInfo:
    """Start linking the current submissions of all (or the chosen) agencies, in the background."""
    hub = hub_of(request)
    target = f"project:{project}"
    with hub.db.session() as s:
        p = project_for(hub, s, who, project, "run.start", ("admin",))
        registered = {a.name: a for a in _agencies(s, p)}
        chosen = sorted(set(body.agencies)) if body and body.agencies else sorted(registered)
        unknown = [a for a in chosen if a not in registered]
        problem = None
        if unknown:
            problem = HubError(
                422, "agency_unknown", f"Not agencies of this project: {', '.join(unknown)}."
            )
        elif len(chosen) < 2:
            problem = HubError(422, "too_few_agencies", "A run needs at least two agencies.")
        subs = {a: _current(s, p, a) for a in chosen}
        missing = [a for a, sub in subs.items() if sub is None]
        if problem is None and missing:
            problem = HubError(
                409,
                "submissions_missing",
                f"No submission yet from: {', '.join(missing)}.",
                "Wait for these agencies, or start the run with the agencies that have submitted.",
            )
        active = s.scalar(select(Run).where(Run.project_id == p.id, Run.status.in_(ACTIVE)))
        if problem is None and active is not None:
            problem = HubError(
                409,
                "run_active",
                f"Run {active.id} is still running.",
                "Wait for it to finish or cancel it.",
            )
        if problem is not None:
            raise refuse(hub, who, "run.start", target, problem)
        settings = json.loads(p.settings_json)
        settings["deduplicated"] = sorted(a for a in chosen if registered[a].deduplicated)
        run = Run(
            id=new_run_id(),
            project_id=p.id,
            status="queued",
            stage="queued",
            progress=0.0,
            cancel_requested=False,
            agencies_json=json.dumps(chosen),
            submissions_json=json.dumps([subs[a].id for a in chosen]),
            settings_json=json.dumps(settings),
            created_at=timeutil.now(),
        )
        s.add(run)
        audit.append(
            s,
            actor=who.actor,
            action="run.start",
            target=f"run:{run.id}",
            outcome="ok",
            detail={"project": p.name, "agencies": chosen},
        )
        info = run_info(run, p.name)
    hub.runs.submit(info.id)
    return info


@router.get("/projects/{project}/runs", response_model=list[RunInfo], tags=["runs"])
def list_runs(project: str, request: Request, who: Principal = Depends(principal)) -> list[RunInfo]:
    hub = hub_of(request)
    with hub.db.session() as s:
        p = project_for(hub, s, who, project, "run.list", ("admin",))
        runs = s.scalars(select(Run).where(Run.project_id == p.id).order_by(Run.created_at.desc()))
        return [run_info(r, p.name) for r in runs]


def _run_of(s: Session, p: Project, run_id: str) -> Run:
    run = s.get(Run, run_id)
    if run is None or run.project_id != p.id:
        raise not_found("run in this project")
    return run


@router.get("/projects/{project}/runs/{run_id}", response_model=RunInfo, tags=["runs"])
def get_run(
    project: str, run_id: str, request: Request, who: Principal = Depends(principal)
) -> RunInfo:
    """A run's status and progress, and when complete its aggregate summary."""
    hub = hub_of(request)
    with hub.db.session() as s:
        p = project_for(hub, s, who, project, "run.view", ("admin",))
        return run_info(_run_of(s, p, run_id), p.name)


@router.post("/projects/{project}/runs/{run_id}/cancel", response_model=RunInfo, tags=["runs"])
def cancel_run(
    project: str, run_id: str, request: Request, who: Principal = Depends(principal)
) -> RunInfo:
    hub = hub_of(request)
    with hub.db.session() as s:
        p = project_for(hub, s, who, project, "run.cancel", ("admin",))
        run = _run_of(s, p, run_id)
        if run.status not in ACTIVE:
            raise HubError(409, "run_not_active", f"The run is already {run.status}.")
        run.cancel_requested = True
        audit.append(
            s, actor=who.actor, action="run.cancel", target=f"run:{run.id}", outcome="requested"
        )
        info = run_info(run, p.name)
    hub.runs.request_cancel(run_id)
    return info


# -- results -----------------------------------------------------------------------------
@router.get(
    "/projects/{project}/links",
    tags=["results"],
    responses={
        200: {
            "content": {"text/csv": {}},
            "description": "row_token,pseudonym,confidence for the agency's rows",
        }
    },
)
def fetch_links(
    project: str, request: Request, run: str | None = None, who: Principal = Depends(principal)
) -> StreamingResponse:
    """The calling agency's own links from the newest completed run (or the given run)."""
    hub = hub_of(request)
    with hub.db.session() as s:
        p = project_for(hub, s, who, project, "links.fetch", ("results",))
        query = select(Run).where(Run.project_id == p.id, Run.status == "completed")
        if run is not None:
            query = query.where(Run.id == run)
        chosen = None
        for candidate in s.scalars(query.order_by(Run.finished_at.desc())):
            if who.agency in json.loads(candidate.agencies_json):
                chosen = candidate
                break
        if chosen is None:
            raise HubError(
                404,
                "links_not_ready",
                "There is no completed run that includes your agency yet.",
                "Try again after the hub operator has run the linkage.",
            )
        path = hub.storage.links_file(p.name, chosen.id, who.agency)
        rows = pq.ParquetFile(path).metadata.num_rows
        audit.append(
            s,
            actor=who.actor,
            action="links.fetch",
            target=f"run:{chosen.id}",
            outcome="ok",
            detail={"rows": rows},
        )
    return StreamingResponse(
        _links_csv(path),
        media_type="text/csv",
        headers={
            "X-Htlink-Run": chosen.id,
            "X-Htlink-Rows": str(rows),
            "Content-Disposition": f'attachment; filename="{who.agency}.links.csv"',
        },
    )


def _links_csv(path: Any) -> Iterator[bytes]:
    yield b"row_token,pseudonym,confidence\n"
    for batch in pq.ParquetFile(path).iter_batches(batch_size=50_000):
        tokens = batch.column("row_token").to_pylist()
        pseudonyms = batch.column("pseudonym").to_pylist()
        confidence = batch.column("confidence").to_pylist()
        yield "".join(
            f"{t},{p},{'' if c is None or c != c else format(c, 'g')}\n"
            for t, p, c in zip(tokens, pseudonyms, confidence, strict=True)
        ).encode()


# -- audit -------------------------------------------------------------------------------
@router.get("/audit", response_model=list[AuditItem], tags=["audit"])
def list_audit(
    request: Request, after: int = 0, limit: int = 200, who: Principal = Depends(principal)
) -> list[AuditItem]:
    """Audit entries after sequence number ``after`` (at most ``limit``, up to 1000)."""
    hub = hub_of(request)
    require_admin(hub, who, "audit.list", "audit")
    with hub.db.session() as s:
        rows = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > after)
            .order_by(AuditEntry.seq)
            .limit(max(1, min(limit, 1000)))
        )
        return [
            AuditItem(
                seq=r.seq,
                at=r.at,
                actor=r.actor,
                action=r.action,
                target=r.target,
                outcome=r.outcome,
                detail=json.loads(r.detail_json),
            )
            for r in rows
        ]


def b64url_manifest(manifest: dict[str, Any]) -> str:
    """How clients put a manifest into the ``X-Htlink-Manifest`` header."""
    raw = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
