"""Uploads: verified completely (see :mod:`htlink.hub.uploads`) before anything is kept."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.requests import ClientDisconnect

from htlink.hub import audit, timeutil
from htlink.hub.api.auth import hub_of, principal, project_for, refuse
from htlink.hub.api.views import current_submission
from htlink.hub.apimodels import UploadAccepted
from htlink.hub.errors import HubError, forbidden, not_found
from htlink.hub.models import Project, ProjectAgency, SubmissionRecord
from htlink.hub.storage import move_into_place, remove
from htlink.hub.tokens import Principal
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

router = APIRouter()
_commit_lock = threading.Lock()


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
        if current_submission(s, p, agency) is not None and not replace:
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
        current = current_submission(s, p, agency)
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


def b64url_manifest(manifest: dict[str, Any]) -> str:
    """How clients put a manifest into the ``X-Htlink-Manifest`` header."""
    raw = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
