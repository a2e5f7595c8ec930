"""Liveness and readiness: ``/healthz`` (the process answers) and ``/readyz`` (it can serve)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from huitong.db import migrate
from huitong.deps import ServicesDep
from huitong.services import Services

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """The process is alive."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    """The database answers, its schema is current and the writer accepts work."""
    checks = await run_in_threadpool(readiness, services)
    ready = all(c["ok"] for c in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


def readiness(services: Services) -> dict[str, dict[str, object]]:
    """Each readiness check with whether it passed and what it saw."""
    checks: dict[str, dict[str, object]] = {}
    try:
        with services.db.read() as conn:
            conn.execute(sa.text("SELECT 1"))
        checks["database"] = {"ok": True}
    except sa.exc.SQLAlchemyError as exc:
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    try:
        at = migrate.current_revision(services.settings.database)
        head = migrate.head_revisions()
        checks["schema"] = {"ok": at == head, "at": at, "expected": head}
    except sa.exc.SQLAlchemyError as exc:
        checks["schema"] = {"ok": False, "error": type(exc).__name__}
    try:
        services.db.write(lambda conn: conn.execute(sa.text("SELECT 1")).scalar())
        checks["writer"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["writer"] = {"ok": False, "error": type(exc).__name__}
    return checks
