"""``$export`` routes (Bulk Data Access): kick-off, status, cancel, and file download.

Kick-off answers 202 with ``Content-Location`` (the status URL); the status URL answers 202 with
``X-Progress`` while the job runs, 200 with the manifest when done, and DELETE cancels. Files are served
to authenticated clients only (``requiresAccessToken: true``). See :mod:`huitong.fhir.bulk.export`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from huitong.deps import ActorDep, ServicesDep
from huitong.fhir import errors
from huitong.fhir.bulk.export import ExportJobs, ExportRequest, check_output_format, parse_types
from huitong.fhir.http import base_url, json_body
from huitong.fhir.outcome import operation_outcome
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry
from huitong.services import Services

router = APIRouter()


def jobs(services: Services) -> ExportJobs:
    """The export jobs of this server (their folder comes from the settings)."""
    return ExportJobs(services.store, services.settings.fhir.export_dir)


def _kick_off(request: Request, services: Services, actor: ActorDep, level: str, group_id: str | None) -> Response:
    if "respond-async" not in request.headers.get("prefer", ""):
        raise errors.invalid("$export is asynchronous: send the header Prefer: respond-async")
    params = request.query_params
    check_output_format(params.get("_outputFormat"))
    since = None
    if "_since" in params:
        try:
            since = datetime.fromisoformat(params["_since"].replace("Z", "+00:00"))
        except ValueError as exc:
            raise errors.invalid(f"_since must be a FHIR instant, got {params['_since']!r}") from exc
    export = ExportRequest(level, str(request.url), parse_types(params.get("_type"), level), since, group_id)
    entry = AuditEntry(
        "operation", entity_type="Group" if group_id else None, entity_id=group_id, query=f"$export {request.url.query}"
    )

    def start() -> str:
        services.store.check_search(actor, "Patient" if level != "system" else None)
        return jobs(services).start(actor, export)

    job_id = services.store.audited_read(actor, entry, start)
    location = f"{base_url(request, services.settings)}/$export-status/{job_id}"
    return Response(status_code=202, headers={"Content-Location": location})


@router.get("/$export")
def export_system(request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """System-level export: every resource type (or those in ``_type``)."""
    return _kick_off(request, services, actor, "system", None)


@router.get("/Patient/$export")
def export_patients(request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Patient-level export: the Patient compartments of all patients."""
    return _kick_off(request, services, actor, "patient", None)


@router.get("/Group/{group_id}/$export")
def export_group(group_id: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Group-level export: the Patient compartments of the group's member patients."""
    return _kick_off(request, services, actor, "group", group_id)


@router.get("/$export-status/{job_id}")
def export_status(job_id: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """202 while running, 200 with the manifest when complete, 500 with an OperationOutcome on failure."""
    status = _own_job(services, job_id, actor)
    if status["status"] == "in-progress":
        return Response(status_code=202, headers={"X-Progress": "in progress", "Retry-After": "1"})
    if status["status"] == "error":
        diagnostics = "; ".join(e.get("diagnostics", "") for e in status.get("error", []))
        issue = errors.Issue("error", "exception", diagnostics or "export failed")
        return json_body(operation_outcome([issue]), request, 500)
    base = f"{base_url(request, services.settings)}/$export-file/{job_id}"
    manifest = {
        "transactionTime": status["transactionTime"],
        "request": status["request"],
        "requiresAccessToken": True,
        "output": [{**o, "url": f"{base}/{o['url']}"} for o in status.get("output", [])],
        "error": [],
    }
    return json_body(manifest, request, headers={"Expires": "0"})


@router.delete("/$export-status/{job_id}")
def export_cancel(job_id: str, services: ServicesDep, actor: ActorDep) -> Response:
    """Cancel a job and delete its files."""
    _own_job(services, job_id, actor)
    jobs(services).delete(job_id)
    return Response(status_code=202)


@router.get("/$export-file/{job_id}/{name}")
def export_file(job_id: str, name: str, services: ServicesDep, actor: ActorDep) -> Response:
    """One NDJSON output file (audited: it is a read of patient data)."""
    _own_job(services, job_id, actor)
    entry = AuditEntry("operation", query=f"$export-file {job_id}/{name}"[:500])
    path = services.store.audited_read(actor, entry, lambda: jobs(services).file(job_id, name))
    return FileResponse(path, media_type="application/fhir+ndjson")


def _own_job(services: Services, job_id: str, actor: Actor) -> dict[str, Any]:
    """The job's status, if ``actor`` started it; 404 otherwise (security: nobody reads another's export)."""
    status = jobs(services).status(job_id)
    if status.get("actor") != actor.id:
        raise errors.not_found(f"no export job {job_id}")
    return status
