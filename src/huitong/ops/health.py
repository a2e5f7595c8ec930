"""Liveness and readiness: ``/healthz`` (the process answers) and ``/readyz`` (it can serve).

Readiness covers the database, its schema, the writer (which must accept work and whose queue must be
within ``HUITONG_OPS__QUEUE_READY_MAX``), and every other queue registered on the services'
:class:`~huitong.ops.metrics.Metrics` by other domains (MLLP, the ingest pipeline, EMPI review) as
``queue:<name>``: a queue deeper than its limit makes the instance not ready, so a load balancer sends new
work elsewhere until it has caught up.
"""

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
    """The database answers, its schema is current, the writer accepts work and no queue is over its limit."""
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
    metrics = getattr(services, "metrics", None)
    queues = metrics.queue_checks() if metrics is not None else {}
    writer_queue = queues.pop("db_writer", None)
    if writer_queue is not None and checks["writer"]["ok"]:
        checks["writer"] = writer_queue
    for name, check in queues.items():
        checks[f"queue:{name}"] = check
    return checks
