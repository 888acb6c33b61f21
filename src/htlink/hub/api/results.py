"""Each agency's own links, and the audit log for the operator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from htlink.hub import audit
from htlink.hub.api.auth import hub_of, principal, project_for, require_admin
from htlink.hub.apimodels import AuditItem
from htlink.hub.errors import HubError
from htlink.hub.models import AuditEntry, Run
from htlink.hub.tokens import Principal

router = APIRouter()


# -- results -----------------------------------------------------------------------------
@router.get(
    "/projects/{project}/links",
    tags=["results"],
    responses={
        200: {
            "content": {"text/csv": {}},
            "description": "row_token,pseudonym for the agency's rows (no scores)",
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
    # row tokens and pseudonyms only: no similarity score of any pair reaches any party
    yield b"row_token,pseudonym\n"
    for batch in pq.ParquetFile(path, memory_map=False).iter_batches(
        batch_size=50_000, columns=["row_token", "pseudonym"]
    ):
        tokens = batch.column("row_token").to_pylist()
        pseudonyms = batch.column("pseudonym").to_pylist()
        yield "".join(f"{t},{p}\n" for t, p in zip(tokens, pseudonyms, strict=True)).encode()


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
