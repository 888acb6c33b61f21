"""Linkage runs: start, follow, cancel (admin only)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from htlink.hub import audit, timeutil
from htlink.hub.api.auth import hub_of, principal, project_for, refuse
from htlink.hub.api.views import agencies_of, current_submission, run_info
from htlink.hub.apimodels import RunCreate, RunInfo
from htlink.hub.errors import HubError, not_found
from htlink.hub.models import Project, Run
from htlink.hub.runs import ACTIVE, new_run_id
from htlink.hub.tokens import Principal

router = APIRouter()


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
        registered = {a.name: a for a in agencies_of(s, p)}
        chosen = sorted(set(body.agencies)) if body and body.agencies else sorted(registered)
        unknown = [a for a in chosen if a not in registered]
        problem = None
        if unknown:
            problem = HubError(
                422, "agency_unknown", f"Not agencies of this project: {', '.join(unknown)}."
            )
        elif len(chosen) < 2:
            problem = HubError(422, "too_few_agencies", "A run needs at least two agencies.")
        subs = {a: current_submission(s, p, a) for a in chosen}
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
