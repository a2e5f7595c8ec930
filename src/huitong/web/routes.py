"""Mounting the web pages: static files, each role's pages, and the HTML error pages."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from huitong.web.access import LoginRequiredError, PageForbiddenError
from huitong.web.pages.cockpit import router as cockpit_router
from huitong.web.pages.consent import router as consent_router
from huitong.web.pages.doctor import router as doctor_router
from huitong.web.pages.empi import router as empi_router
from huitong.web.pages.nurse import router as nurse_router
from huitong.web.pages.nurse_tasks import router as nurse_tasks_router
from huitong.web.pages.operations import router as operations_router
from huitong.web.pages.portal import router as portal_router
from huitong.web.pages.quality import router as quality_router
from huitong.web.pages.registration import router as registration_router
from huitong.web.render import render

#: Path prefixes served as HTML pages (errors there are pages too, not OperationOutcomes).
PAGE_PREFIXES = (
    "/doctor",
    "/nurse",
    "/operations",
    "/portal",
    "/cockpit",
    "/quality",
    "/ingest",
    "/audit",
    "/admin",
    "/empi",
)


def is_page(request: Request) -> bool:
    """Whether the request is for a web page (not the FHIR API)."""
    return request.url.path.startswith(PAGE_PREFIXES)


def error_page(request: Request, status: int, message: str) -> Response:
    """An HTML error page in the request's language."""
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def register_web(app: FastAPI) -> None:
    """Static files, the role pages and their error handling."""
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    async def favicon(_request: Request) -> Response:  # what browsers ask for where a page names no icon
        return RedirectResponse("/static/favicon.svg", status_code=301)

    app.add_route("/favicon.ico", favicon, include_in_schema=False)
    for router in (
        doctor_router,
        nurse_router,
        nurse_tasks_router,
        operations_router,
        portal_router,
        consent_router,
        registration_router,
        cockpit_router,
        empi_router,
    ):
        app.include_router(router)
    app.include_router(quality_router)

    async def login_required(request: Request, _exc: Exception) -> Response:
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={target}", status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        return error_page(request, 403, str(exc))

    app.add_exception_handler(LoginRequiredError, login_required)
    app.add_exception_handler(PageForbiddenError, forbidden)
