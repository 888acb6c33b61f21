"""The FastAPI application: wiring, error responses, start-up and shut-down.

Every error is JSON ``{"error": {"code", "message", "hint"}}``.  Request
validation errors list the offending fields but never echo the submitted
values (FastAPI's default would), and unexpected errors return a generic 500
with no details: both could otherwise carry data into a client or a log.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from htlink import __version__
from htlink.hub import audit
from htlink.hub.api import router as api_router
from htlink.hub.dashboard import router as dashboard_router
from htlink.hub.database import Database, migrate
from htlink.hub.errors import HubError
from htlink.hub.runs import RunManager
from htlink.hub.settings import HubSettings
from htlink.hub.storage import Storage

log = logging.getLogger("htlink.hub")


@dataclass
class Hub:
    settings: HubSettings
    db: Database
    storage: Storage
    runs: RunManager


def open_hub(settings: HubSettings) -> Hub:
    """Prepare the data directory and database (migrating it) and recover interrupted runs."""
    storage = Storage(settings.data_dir)
    storage.prepare()
    db = Database(settings.database_url)
    migrate(db.engine)
    runs = RunManager(settings, db, storage)
    return Hub(settings=settings, db=db, storage=storage, runs=runs)


def _configure_logging(storage: Storage) -> logging.Handler:
    """Log to DATA/logs/hub.log (the newest hub started in this process wins)."""
    logger = logging.getLogger("htlink.hub")
    for old in [h for h in logger.handlers if getattr(h, "_htlink", False)]:
        logger.removeHandler(old)
        old.close()
    handler = logging.FileHandler(storage.log_file(), encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler._htlink = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


# Sent with every response: nothing is cached, framed or content-sniffed.
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
]


class ContainErrors:
    """Outermost guard: an unexpected error becomes a bare 500, logged by type only;
    and every response carries :data:`SECURITY_HEADERS`.

    Starlette's own error middleware re-raises after answering, and the server
    then prints the traceback -- whose message can carry data.  This middleware
    answers (if nothing was sent yet) and does not re-raise.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:  # contained on purpose, see the docstring
            log.error("internal error (%s) on %s", type(exc).__name__, scope.get("method"))
            if not started:
                await _internal_error_response()(scope, receive, send)


def _internal_error_response() -> JSONResponse:
    return JSONResponse(
        HubError(
            500,
            "internal_error",
            "The hub hit an internal error; nothing was kept.",
            "The operator can find the time of the error in the hub's log.",
        ).body(),
        status_code=500,
    )


def create_app(settings: HubSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub = open_hub(settings)
        handler = _configure_logging(hub.storage)
        failed = hub.runs.recover()
        with hub.db.session() as s:
            audit.append(
                s,
                actor="hub",
                action="hub.start",
                target="hub",
                outcome="ok",
                detail={"version": __version__, "interrupted_runs_failed": failed},
            )
        log.info("hub started (htlink %s); %d interrupted runs marked failed", __version__, failed)
        app.state.hub = hub
        try:
            yield
        finally:
            hub.runs.shutdown()
            hub.db.dispose()
            log.info("hub stopped")
            logging.getLogger("htlink.hub").removeHandler(handler)
            handler.close()

    app = FastAPI(
        title="htlink linkage hub",
        version=__version__,
        description="Receives agencies' signed Bloom-filter submissions, links them, and gives "
        "each agency its own links. Every endpoint needs a bearer token.",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.include_router(api_router)
    app.include_router(dashboard_router)

    @app.exception_handler(HubError)
    async def _hub_error(_request: Request, exc: HubError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = sorted(
            {
                ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
                for e in exc.errors()
            }
        )
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()[:10]
        )
        return JSONResponse(
            HubError(
                422,
                "request_invalid",
                f"The request is not valid ({', '.join(fields)}).",
                problems[:1000],
            ).body(),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {404: "No such endpoint.", 405: "That method is not allowed here."}.get(
            exc.status_code, "The request could not be handled."
        )
        return JSONResponse(
            HubError(exc.status_code, code, message).body(), status_code=exc.status_code
        )

    app.add_middleware(ContainErrors)

    return app


def app_from_env() -> Any:  # pragma: no cover - used by `uvicorn --factory`
    import os

    return create_app(HubSettings.create(os.environ["HTLINK_HUB_DATA_DIR"]))
