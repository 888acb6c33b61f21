"""The operator's dashboard: a small server-rendered page behind the admin token.

``/dashboard/login`` takes the admin token in a form and answers with a
*session*: a new admin token that expires after :data:`SESSION_HOURS` hours,
kept in an HttpOnly, SameSite=Strict cookie scoped to ``/dashboard`` -- the
operator's own admin token never sits in the browser.  Signing out revokes the
session token.  Every dashboard page checks the cookie like the API checks a
bearer token (agency tokens get 403).  The
pages show projects, which agencies have submitted, run progress (refreshing
while a run is active), and for completed runs the aggregates only: the
similarity histogram, links per agency pair and cluster sizes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy import select

from htlink.hub import audit, tokens
from htlink.hub.api import hub_of, identify, project_status, refuse, run_info
from htlink.hub.errors import HubError, forbidden, not_found
from htlink.hub.models import Project, Run

COOKIE = "htlink_dashboard"
LOGIN_BODY_LIMIT = 4096  # a token is 60 characters
SESSION_HOURS = 8
router = APIRouter(prefix="/dashboard", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _when(stamp: str | None) -> Markup:
    """A hub timestamp (ISO 8601, UTC, microseconds) as a short ``<time>`` element."""
    if not stamp:
        return Markup("")
    short = stamp[:19].replace("T", " ") + " UTC"
    return Markup('<time datetime="{}">{}</time>').format(stamp, short)


templates.env.filters["when"] = _when


def _gate(request: Request) -> Response | None:
    """None when the cookie holds the admin token; otherwise the page to show instead.

    No cookie: a redirect to the sign-in form.  A cookie the hub does not accept
    (unknown, expired or revoked: 401) or an agency's token (403): the sign-in form
    with the reason, as a page rather than the API's JSON, and the cookie is dropped.
    """
    token = request.cookies.get(COOKIE)
    if not token:
        return _login_redirect()
    try:
        who = identify(request, token)
        if who.role != "admin":
            raise refuse(
                hub_of(request),
                who,
                "dashboard.view",
                "dashboard",
                forbidden("The dashboard is for the hub operator's admin token."),
            )
    except HubError as exc:
        response = templates.TemplateResponse(
            request, "login.html", {"error": exc.message}, status_code=exc.status
        )
        response.delete_cookie(COOKIE, path="/dashboard")
        return response
    return None


def _login_redirect() -> RedirectResponse:
    return RedirectResponse("/dashboard/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return templates.TemplateResponse(request, "login.html", {"error": None})


@router.post("/login")
async def login(request: Request) -> Response:
    body = b""
    async for chunk in request.stream():  # unauthenticated: read a bounded body only
        body += chunk
        if len(body) > LOGIN_BODY_LIMIT:
            return templates.TemplateResponse(
                request, "login.html", {"error": "The sign-in form is too large."}, status_code=413
            )
    form = parse_qs(body.decode("utf-8", errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    try:
        who = identify(request, token)
    except HubError as exc:
        return templates.TemplateResponse(
            request, "login.html", {"error": exc.message}, status_code=401
        )
    if who.role != "admin":
        refuse(hub_of(request), who, "dashboard.login", "dashboard", forbidden())
        return templates.TemplateResponse(
            request,
            "login.html",
            {"error": "The dashboard is for the hub operator's admin token."},
            status_code=403,
        )
    hub = hub_of(request)
    with hub.db.session() as s:
        session_token, row = tokens.issue(
            s,
            "admin",
            label=f"dashboard session of {who.token_id}",
            expires_in_days=SESSION_HOURS / 24,
        )
        audit.append(
            s,
            actor=who.actor,
            action="dashboard.login",
            target=f"token:{row.id}",
            outcome="ok",
            detail={"hours": SESSION_HOURS},
        )
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(
        COOKIE,
        session_token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        path="/dashboard",
        # Secure whenever the browser reached the hub over HTTPS, directly or via a proxy
        secure=request.url.scheme == "https"
        or request.headers.get("x-forwarded-proto", "").lower() == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    hub = hub_of(request)
    presented = request.cookies.get(COOKIE)
    if presented:
        try:
            who = identify(request, presented)
        except HubError:
            who = None
        if who is not None and who.role == "admin":
            with hub.db.session() as s:
                row = tokens.revoke(s, who.token_id)
                if row is not None and row.label.startswith("dashboard session"):
                    audit.append(
                        s,
                        actor=who.actor,
                        action="dashboard.logout",
                        target=f"token:{who.token_id}",
                        outcome="ok",
                    )
                else:  # never revoke an operator's own token from a stray cookie
                    s.rollback()
    response = _login_redirect()
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


@router.get("", response_class=HTMLResponse)
def overview(request: Request) -> Response:
    if (refused := _gate(request)) is not None:
        return refused
    hub = hub_of(request)
    with hub.db.session() as s:
        projects = []
        for p in s.scalars(select(Project).order_by(Project.name)):
            status = project_status(s, p)
            latest = s.scalar(
                select(Run).where(Run.project_id == p.id).order_by(Run.created_at.desc())
            )
            projects.append(
                {
                    "name": p.name,
                    "submitted": sum(x.submitted for x in status.submissions),
                    "agencies": len(status.submissions),
                    "latest": run_info(latest, p.name) if latest else None,
                }
            )
    return templates.TemplateResponse(
        request, "overview.html", {"projects": projects, "refresh": _any_active(projects)}
    )


def _any_active(projects: list[dict[str, Any]]) -> bool:
    return any(p["latest"] and p["latest"].status in ("queued", "running") for p in projects)


@router.get("/projects/{project}", response_class=HTMLResponse)
def project_page(project: str, request: Request) -> Response:
    if (refused := _gate(request)) is not None:
        return refused
    hub = hub_of(request)
    with hub.db.session() as s:
        p = s.scalar(select(Project).where(Project.name == project))
        if p is None:
            return templates.TemplateResponse(
                request, "error.html", {"error": not_found("project")}, status_code=404
            )
        status = project_status(s, p)
        runs = [
            run_info(r, p.name)
            for r in s.scalars(
                select(Run).where(Run.project_id == p.id).order_by(Run.created_at.desc()).limit(20)
            )
        ]
        matching = json.loads(p.settings_json)
    completed = next((r for r in runs if r.status == "completed"), None)
    context = {
        "project": p.name,
        "fingerprint": p.schema_fingerprint,
        "bit_length": p.bit_length,
        "matching": matching,
        "status": status,
        "runs": runs,
        "completed": completed,
        "histogram": histogram_svg(completed.summary) if completed and completed.summary else "",
        "refresh": any(r.status in ("queued", "running") for r in runs),
    }
    return templates.TemplateResponse(request, "project.html", context)


def histogram_svg(summary: dict[str, Any], width: int = 640, height: int = 220) -> str:
    """The similarity histogram of a run's candidate pairs as an inline SVG bar chart."""
    hist = summary.get("similarity_histogram") or {}
    counts = [int(c) for c in hist.get("counts", [])]
    edges = [float(e) for e in hist.get("edges", [])]
    if not counts or len(edges) != len(counts) + 1:
        return ""
    left, right, bottom, top = 56, 24, 30, 10
    plot_w, plot_h = width - left - right, height - bottom - top
    peak = max(max(counts), 1)
    bar_w = plot_w / len(counts)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="Similarity histogram of candidate pairs" class="histogram">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#444"/>',
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="11">{peak:,}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for k, count in enumerate(counts):
        h = plot_h * count / peak
        x = left + k * bar_w
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" '
            f'height="{h:.1f}" fill="#2b6cb0"><title>{edges[k]:.2f}-{edges[k + 1]:.2f}: '
            f"{count:,} pairs</title></rect>"
        )
    for k in range(0, len(edges), max(1, len(edges) // 5)):
        x = left + k * bar_w
        parts.append(
            f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" font-size="11">'
            f"{edges[k]:.2f}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
