"""Queries and response shapes shared by the endpoints."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from htlink.hub.apimodels import ProjectInfo, ProjectStatus, RunInfo, SubmissionStatus, TokenInfo
from htlink.hub.models import Project, ProjectAgency, Run, SubmissionRecord, Token


# -- small helpers -----------------------------------------------------------------------
def agencies_of(s: Session, project: Project) -> list[ProjectAgency]:
    return list(
        s.scalars(
            select(ProjectAgency)
            .where(ProjectAgency.project_id == project.id)
            .order_by(ProjectAgency.name)
        )
    )


def current_submission(s: Session, project: Project, agency: str) -> SubmissionRecord | None:
    return s.scalar(
        select(SubmissionRecord).where(
            SubmissionRecord.project_id == project.id,
            SubmissionRecord.agency == agency,
            SubmissionRecord.current.is_(True),
        )
    )


def token_info(row: Token, project_name: str | None) -> TokenInfo:
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
    for agency in agencies_of(s, project):
        if only is not None and agency.name != only:
            continue
        current = current_submission(s, project, agency.name)
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


def project_info(s: Session, project: Project) -> ProjectInfo:
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
            for a in agencies_of(s, project)
        ],
        created_at=project.created_at,
    )
