"""``create_app(settings)``: the FastAPI application, with its lifespan spelled out top to bottom."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from huitong import __version__, heap
from huitong.fhir import jsonio
from huitong.fhir.api import router as fhir_router
from huitong.fhir.errors import FhirError, Issue
from huitong.fhir.fastpath import match_read, serve_read
from huitong.fhir.outcome import operation_outcome, outcome_of
from huitong.ingest.api import router as ingest_api_router
from huitong.ingest.engine import Engine
from huitong.middleware import RequestContextMiddleware, hsts_header
from huitong.ops.health import router as health_router
from huitong.ops.logs import configure_json_logging
from huitong.ops.metrics import MetricsMiddleware
from huitong.ops.metrics import router as metrics_router
from huitong.security.deps import NotAuthenticatedError
from huitong.security.http import login_redirect, register_security
from huitong.security.runtime import open_security
from huitong.services import Services, open_services
from huitong.settings import Settings
from huitong.terminology.api import router as terminology_router
from huitong.web.home import router as home_router
from huitong.web.pages.ingest import router as ingest_page_router
from huitong.web.routes import error_page, is_page, register_web

log = logging.getLogger(__name__)


class HuitongApp(FastAPI):
    """The FastAPI application, which answers plain reads by id (``GET /fhir/{type}/{id}`` with a bearer token)
    itself, before Starlette's middleware stack and FastAPI's routing: ``fhir/fastpath.py`` does for them what the
    middleware does for every other request. Everything else, the lifespan included, takes the general path."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = match_read(scope)
        if target is not None and hasattr(self.state, "services"):
            await serve_read(self, scope, receive, send, target)
            return
        await super().__call__(scope, receive, send)


def _warn_if_indexes_aside(services: Services) -> None:
    """Say so at start-up when a bulk load left the search lookup indexes aside (searches right, but slow)."""
    from huitong.fhir.search import lookup_indexes

    aside = lookup_indexes.missing(services.db)
    if aside:
        log.warning(
            "%d search lookup indexes are missing (%s): an import with --defer-indexes has not finished; searches "
            "are right but slow until `huitong fhir build-indexes` (or that import run again) builds them",
            len(aside),
            ", ".join(aside),
        )


def create_app(settings: Settings, *, services: Services | None = None) -> FastAPI:
    """The Huitong web application. ``services`` may be given by a caller that already opened them."""
    if settings.logging.json_format:
        configure_json_logging(settings.logging.level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = services or open_services(settings)
        app.state.services = opened
        app.state.security = open_security(settings, opened.db, opened.store.policy)
        opened.start_empi_linker()  # links Patients written through the API; first those a crash left queued
        log.info("Huitong %s serving %s", __version__, settings.database.url.split("@")[-1])
        _warn_if_indexes_aside(opened)
        engine = None
        if settings.mllp.enabled or settings.ingest.channels_file is not None:
            engine = Engine(settings, opened.store)  # MLLP listeners, watched folders, pipeline workers
            await engine.start()
            engine.register_metrics(opened.metrics)
            app.state.ingest = engine
        heap.freeze()  # start-up's survivors out of the collector's way while serving (huitong.heap)
        try:
            yield
        finally:
            heap.unfreeze()  # back to the collector for shutdown (native extensions check their objects are freed)
            if engine is not None:
                await engine.stop()
            app.state.security.close()
            if services is None:
                opened.close()

    app = HuitongApp(
        title="Huitong 汇通",
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.hsts = hsts_header(settings.http.hsts_max_age)  # for the read fast path's answers
    app.add_middleware(MetricsMiddleware)  # added before the request context, so it runs inside and sees the id
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.http.max_body_bytes,
        hsts_max_age=settings.http.hsts_max_age,
    )
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(terminology_router)  # before the generic /fhir/{type}/{id} routes
    app.include_router(fhir_router)
    app.include_router(home_router)
    app.include_router(ingest_api_router)
    app.include_router(ingest_page_router)
    register_web(app)  # static files, role pages, HTML error pages
    _register_error_handlers(app)
    register_security(app)  # login, MFA, token endpoint, auditor pages; 403/429/CSRF handlers
    return app


def _outcome_response(status: int, body: dict[str, object], headers: dict[str, str] | None = None) -> Response:
    return Response(
        jsonio.dumps(body), status_code=status, media_type="application/fhir+json; charset=utf-8", headers=headers
    )


def _register_error_handlers(app: FastAPI) -> None:
    async def fhir_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FhirError)  # noqa: S101 - registered for FhirError only
        if is_page(request):
            return error_page(request, exc.status, str(exc))
        return _outcome_response(exc.status, outcome_of(exc))

    async def not_authenticated(request: Request, exc: Exception) -> Response:
        if login_redirect(request):  # a browser asking for a page: send it to the login form
            return RedirectResponse(login_redirect(request), status_code=303)
        body = operation_outcome([Issue("error", "login", str(exc))])
        return _outcome_response(401, body, {"WWW-Authenticate": 'Bearer realm="huitong"'})

    async def request_invalid(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
        issues = [
            Issue("error", "invalid", str(e.get("msg")), (".".join(str(p) for p in e.get("loc", ())),))
            for e in exc.errors()
        ]
        return _outcome_response(400, operation_outcome(issues))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
        if request.url.path.startswith("/fhir"):
            code = "not-found" if exc.status_code == 404 else "not-supported"
            detail = f"{request.method} {request.url.path}: {exc.detail}"
            return _outcome_response(exc.status_code, operation_outcome([Issue("error", code, detail)]))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    async def unexpected(request: Request, exc: Exception) -> Response:
        rid = getattr(request.state, "request_id", "-")
        log.error("unhandled error in %s %s (request %s)", request.method, request.url.path, rid, exc_info=exc)
        issue = Issue("fatal", "exception", f"internal error; quote request id {rid} to the operators")
        if request.url.path.startswith("/fhir"):
            return _outcome_response(500, operation_outcome([issue]))
        return HTMLResponse(f"<h1>500</h1><p>Internal error. Request id {rid}.</p>", status_code=500)

    app.add_exception_handler(FhirError, fhir_error)
    app.add_exception_handler(NotAuthenticatedError, not_authenticated)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
