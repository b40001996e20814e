"""create_app(): routers, error handlers, middleware, lifespan, the SPA."""

from __future__ import annotations

import asyncio
import gc
import html
import logging
import mimetypes
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

import app.models  # noqa: F401  (the registry: every table known before the first flush)
from app.auth.router import me_router
from app.auth.router import router as auth_router
from app.boards.router import router as boards_router
from app.boards.router import stats_router
from app.core.body_limit import BodyLimitMiddleware
from app.core.config import Settings, get_settings
from app.core.database import (
    make_direct_pool,
    make_engine,
    make_sessionmaker,
    resolve_database_url,
)
from app.core.direct import DirectPool
from app.core.error_handlers import install_error_handlers
from app.core.errors import ErrorResponse, NotFound
from app.core.middleware import RequestContextMiddleware
from app.inboxes.router import router as inboxes_router
from app.integrations.router import router as integrations_router
from app.migrations import PROJECT_ROOT
from app.standby.router import router as standby_router
from app.tickets import public
from app.tickets.router import router as tickets_router
from app.workers.runner import WorkerRunner

log = logging.getLogger(__name__)

FRONTEND_DIST = PROJECT_ROOT / "frontend" / "dist"
READY_TIMEOUT_SECONDS = 3.0


class HealthRead(BaseModel):
    status: str


def _health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health", response_model=HealthRead, summary="The process is up")
    async def health() -> HealthRead:
        return HealthRead(status="ok")

    @router.get(
        "/ready",
        response_model=HealthRead,
        summary="The database answers",
        responses={503: {"model": ErrorResponse, "description": "The database does not answer"}},
    )
    async def ready(request: Request) -> HealthRead | JSONResponse:
        engine: AsyncEngine = request.app.state.engine
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to answer means not ready
            log.warning("readiness check failed", extra={"error": type(exc).__name__})
            return JSONResponse(
                {"detail": "The database does not answer.", "code": "database_unavailable"},
                status_code=503,
            )
        return HealthRead(status="ready")

    return router


OPENAPI_URL = "/api/openapi.json"
API_PREFIX = "/api/v1"
# Swagger UI comes with the SPA's bundle (frontend/vite.config.js copies it from the
# swagger-ui-dist package to dist/api-docs/): no CDN, so the docs work offline, and
# no inline script, so the page's policy allows scripts from 'self' alone.
DOCS_ASSETS = "/api-docs"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/init.js"></script>
</body>
</html>
"""


def _docs_router(title: str, openapi_url: str) -> APIRouter:
    """The API's Swagger UI page, from the app's own files."""
    router = APIRouter()

    @router.get("/api/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root_path = str(request.scope.get("root_path", "")).rstrip("/")
        page = _DOCS_PAGE.format(
            title=html.escape(title),
            assets=html.escape(root_path + DOCS_ASSETS),
            openapi=html.escape(root_path + openapi_url),
        )
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})

    return router


# Vite names the files in assets/ after their content: a new build means new names,
# so they never change and may be kept for a year. index.html names the current ones
# and must be checked on every load; other files (favicon…) keep their names.
ASSETS_PREFIX = "assets/"
# Folders of files only: a missing one is a 404, never index.html parsed as a script.
FILES_ONLY = (ASSETS_PREFIX, DOCS_ASSETS.lstrip("/") + "/")
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
CACHE_REVALIDATE = "no-cache"
CACHE_SHORT = "public, max-age=3600"


def _not_modified(scope: Scope, etag: str) -> bool:
    """The browser's copy (If-None-Match) is the current file."""
    wanted = Headers(scope=scope).get("if-none-match")
    if not wanted:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    return "*" in tags or etag in tags


def _accepts_gzip(scope: Scope) -> bool:
    """Accept-Encoding names gzip (or `*`) without refusing it by `q=0`."""
    for offer in Headers(scope=scope).get("accept-encoding", "").split(","):
        name, *params = (part.strip() for part in offer.split(";"))
        if name.lower() not in ("gzip", "*"):
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def _bundle_file(scope: Scope, path: Path, cache_control: str) -> Response:
    """A file of the bundle, or its `.gz` twin (compressed at build) for browsers taking gzip."""
    headers = {"Cache-Control": cache_control}
    media_type = "application/gzip" if path.suffix == ".gz" else mimetypes.guess_type(path)[0]
    sent = path
    compressed = path.with_name(path.name + ".gz")
    if path.suffix != ".gz" and compressed.is_file():
        headers["Vary"] = "Accept-Encoding"
        if _accepts_gzip(scope):
            headers["Content-Encoding"] = "gzip"
            sent = compressed
    response = FileResponse(sent, stat_result=sent.stat(), headers=headers, media_type=media_type)
    etag = response.headers["etag"]
    if _not_modified(scope, etag):
        return Response(status_code=304, headers={**headers, "ETag": etag})
    return response


def _spa_fallback(dist: Path) -> ASGIApp:
    """Serves the built SPA where no route matched: a file of the bundle, else index.html.

    Installed as the router's default rather than as a catch-all route, so that any
    router included later still wins, and a wrong method on a real route stays a 405.
    A missing file under assets/ (or api-docs/) is a 404, not index.html: a tab left
    open across a deploy asks for the old bundle's names, and HTML parsed as a script
    fails unclearly.
    """
    root = dist.resolve()
    index = root / "index.html"

    async def spa(scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope["path"]).lstrip("/")
        if scope["method"] not in ("GET", "HEAD") or path == "api" or path.startswith("api/"):
            raise NotFound()
        candidate = (root / path).resolve()
        found = candidate.is_relative_to(root) and candidate.is_file()
        response: Response
        if path.startswith(FILES_ONLY) or path in (p.rstrip("/") for p in FILES_ONLY):
            if not found:
                raise NotFound("This file is not part of the web interface; reload the page.")
            immutable = path.startswith(ASSETS_PREFIX)
            response = _bundle_file(scope, candidate, CACHE_IMMUTABLE if immutable else CACHE_SHORT)
        elif found and candidate != index:
            response = _bundle_file(scope, candidate, CACHE_SHORT)
        elif index.is_file():  # index.html itself, or a client-side route such as /boards/3
            response = _bundle_file(scope, index, CACHE_REVALIDATE)
        else:
            raise NotFound("The web interface has not been built; run `make run`.")
        await response(scope, receive, send)

    return spa


def _freeze_startup_objects() -> None:
    """Leave what start-up made (the imported modules, the app, its pools) out of every
    later garbage collection. Those objects live as long as the process anyway, and a
    full collection walking the hundreds of thousands of them paused requests for
    tens of milliseconds: the ticket page's p99 at 4 connections went from about
    50 ms to 19 ms (docs/performance.md)."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    frontend_dist: Path | None = None,
    freeze_startup_objects: bool = False,
) -> FastAPI:
    """Build the application. Pass an engine to share one (tests); else one is made at
    start-up. `freeze_startup_objects`: the server's own process (see
    `_freeze_startup_objects`), never a test's."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine is None
        app.state.engine = engine or make_engine(resolve_database_url(settings), settings)
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        direct_pool = await make_direct_pool(app.state.engine, settings)
        app.state.direct = DirectPool(direct_pool, acquire_timeout=settings.DB_POOL_TIMEOUT_SECONDS)
        workers = WorkerRunner(settings, app.state.sessionmaker)
        if settings.WORKERS_ENABLED:
            workers.start()
        if freeze_startup_objects:
            _freeze_startup_objects()
        try:
            yield
        finally:
            await workers.stop()
            await direct_pool.close()
            if own_engine:
                await app.state.engine.dispose()

    app = FastAPI(
        title="Simple Issue Tracker",
        version="0.1.0",
        summary="Ticket boards fed by a public web form and by email.",
        openapi_url=OPENAPI_URL,
        docs_url=None,  # served by _docs_router, with a CSP of its own
        redoc_url=None,
        lifespan=lifespan,
        # No OpenTelemetry here: FastAPI asks for its providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.MAX_REQUEST_BODY_BYTES)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Accept-Language", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestContextMiddleware, hsts=settings.is_production)

    # Routes are matched one by one in this order, router by router: the public
    # routes (the status link, the form) are the busiest and go first, on the app's
    # own router (app/tickets/public.py); then the manager's; the health checks and
    # the API docs, asked for rarely, last. Each router is included into the app
    # itself (not nested in an /api/v1 router), one level of matching less
    # (docs/performance.md).
    public.add_routes(app.router, API_PREFIX)
    for router in (
        auth_router,
        me_router,
        boards_router,
        stats_router,
        tickets_router,
        inboxes_router,
        integrations_router,
        standby_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(_health_router())
    app.include_router(_docs_router(app.title, OPENAPI_URL))
    app.router.default = _spa_fallback(frontend_dist or settings.FRONTEND_DIST or FRONTEND_DIST)
    return app


def app_from_environment() -> FastAPI:
    """The app of one of several server processes (WEB_CONCURRENCY > 1): configured
    from the environment alone, as `python -m app serve` is. The process stops, as
    on SIGTERM, when the `serve` that started it is gone: killed outright, it could
    not stop them, and they would hold the port."""
    from app.core.lifeline import serve_pid, when_parent_gone
    from app.core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings)
    when_parent_gone(serve_pid() or os.getppid(), _stop_this_process)
    return create_app(settings, freeze_startup_objects=True)


def _stop_this_process() -> None:
    log.error("the server that started this process is gone; stopping")
    os.kill(os.getpid(), signal.SIGTERM)
