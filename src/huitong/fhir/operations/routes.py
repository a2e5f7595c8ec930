"""Routes of the ``$operations``. Included before the read route (see :mod:`huitong.fhir.api`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong.deps import ActorDep, ServicesDep
from huitong.empi.api import person_patient_ids
from huitong.fhir import errors, jsonio
from huitong.fhir.http import base_url, check_format, fhir_response, json_body
from huitong.fhir.operations.export import router as export_router
from huitong.fhir.operations.meta import meta_in_use
from huitong.fhir.operations.record import visible_records
from huitong.fhir.operations.validate import validate_resource
from huitong.fhir.search.parse import check_type
from huitong.fhir.stored import instant
from huitong.security.audit import AuditEntry

router = APIRouter()
router.include_router(export_router)


@router.api_route("/Patient/{res_id}/$everything", methods=["GET", "POST"])
def everything(res_id: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """The patient's whole record as a searchset Bundle."""
    check_format(request)
    params = request.query_params
    since = _instant(params["_since"]) if "_since" in params else None
    types = [t for t in params.get("_type", "").split(",") if t] or None
    entry = AuditEntry("operation", entity_type="Patient", entity_id=res_id, query="$everything")
    limit = services.settings.fhir.everything_max

    def work() -> list[Any]:
        services.store.check_search(actor, "Patient")
        # a golden Patient (an EMPI person) spans the records of every source Patient linked to it
        patient_ids = [res_id, *(person_patient_ids(services.empi, res_id) or [])]
        with services.db.read() as conn:
            return visible_records(services, actor, conn, patient_ids, since=since, types=types, limit=limit)

    found = services.store.audited_read(actor, entry, work)
    base = base_url(request, services.settings)
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "meta": {"lastUpdated": instant(datetime.now(UTC))},
        "total": len(found),
        "link": [{"relation": "self", "url": str(request.url)}],
        "entry": [
            {
                "fullUrl": f"{base}/{s.res_type}/{s.res_id}",
                "resource": orjson.Fragment(services.store.opened(actor, s).content or b"{}"),
                "search": {"mode": "match"},
            }
            for s in found
        ],
    }
    return fhir_response(jsonio.dumps(bundle))


@router.post("/{rtype}/$validate")
async def validate_type(rtype: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Validate the resource (or Parameters.resource) in the body against R4; nothing is stored."""
    check_format(request)
    check_type(rtype)
    body = jsonio.loads(await request.body() or b"null")
    entry = AuditEntry("operation", entity_type=rtype, query="$validate")
    outcome = await run_in_threadpool(
        lambda: services.store.audited_read(actor, entry, lambda: validate_resource(body, expected_type=rtype))
    )
    return json_body(outcome, request)


@router.api_route("/{rtype}/{res_id}/$validate", methods=["GET", "POST"])
async def validate_instance(
    rtype: str, res_id: str, request: Request, services: ServicesDep, actor: ActorDep
) -> Response:
    """Validate the body if there is one, else the stored resource."""
    check_format(request)
    raw = await request.body()
    if raw.strip():
        body = jsonio.loads(raw)
    else:
        body = (await run_in_threadpool(services.store.read, actor, rtype, res_id)).resource()
    entry = AuditEntry("operation", entity_type=rtype, entity_id=res_id, query="$validate")
    outcome = await run_in_threadpool(
        lambda: services.store.audited_read(actor, entry, lambda: validate_resource(body, expected_type=rtype))
    )
    return json_body(outcome, request)


@router.api_route("/$meta", methods=["GET", "POST"])
def meta_system(request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Profiles, tags and security labels in use anywhere."""
    return _meta(request, services, actor, None, None)


@router.api_route("/{rtype}/$meta", methods=["GET", "POST"])
def meta_type(rtype: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Profiles, tags and security labels in use on one type."""
    check_type(rtype)
    return _meta(request, services, actor, rtype, None)


@router.api_route("/{rtype}/{res_id}/$meta", methods=["GET", "POST"])
def meta_instance(rtype: str, res_id: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """The meta of one resource."""
    check_type(rtype)
    return _meta(request, services, actor, rtype, res_id)


def _meta(request: Request, services: Any, actor: Any, rtype: str | None, res_id: str | None) -> Response:
    check_format(request)
    entry = AuditEntry("operation", entity_type=rtype, entity_id=res_id, query="$meta")

    def work() -> dict[str, Any]:
        services.store.check_search(actor, rtype)
        with services.db.read() as conn:
            return meta_in_use(conn, rtype, res_id)

    return json_body(services.store.audited_read(actor, entry, work), request)


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise errors.invalid(f"_since must be a FHIR instant, got {text!r}") from exc
    if moment.tzinfo is None:
        raise errors.invalid("_since must include a time zone")
    return moment
