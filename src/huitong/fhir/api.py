"""The FHIR R4 REST API: ``/fhir/...`` routes. Thin: each route parses HTTP, calls the store, shapes HTTP.

Blocking store calls run in the thread pool, never on the event loop. Errors become OperationOutcomes in
one place (:func:`huitong.app.create_app` registers the handlers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong.deps import ActorDep, ServicesDep
from huitong.fhir import errors
from huitong.fhir.batch.routes import batch_or_transaction
from huitong.fhir.bundle import history_bundle
from huitong.fhir.capability import capability_statement
from huitong.fhir.http import (
    FHIR_JSON_CONTENT_TYPE,
    PreparedResponse,
    base_url,
    check_format,
    fhir_response,
    json_body,
    last_modified,
    parse_if_match,
    prefer_return,
    read_resource_body,
    version_headers,
)
from huitong.fhir.operations.person import router as person_router
from huitong.fhir.operations.routes import router as operations_router
from huitong.fhir.outcome import information
from huitong.fhir.resource_types import stamp_client_source
from huitong.fhir.search.routes import router as search_router
from huitong.fhir.store import HistoryPage, ResourceStore
from huitong.fhir.stored import StoredResource
from huitong.fhir.validate import check_full
from huitong.services import Services

router = APIRouter(prefix="/fhir", tags=["FHIR"])
# Operations first: ``/fhir/Patient/$meta`` must not be read as the Patient with id "$meta".
router.include_router(person_router)  # Patient/$match (the EMPI)
router.include_router(operations_router)


@router.get("/metadata")
def metadata(request: Request, services: ServicesDep) -> Response:
    """The CapabilityStatement (no credentials needed, as the FHIR spec expects)."""
    check_format(request)
    return json_body(capability_statement(services.settings, base_url(request, services.settings)), request)


@router.get("/_history")
def system_history(request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Every version of every resource, newest first."""
    check_format(request)
    return _history(request, services, services.store.history(actor, **_history_args(request, services)))


@router.get("/{rtype}/_history")
def type_history(rtype: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Every version of every resource of one type, newest first."""
    check_format(request)
    return _history(request, services, services.store.history(actor, rtype, **_history_args(request, services)))


@router.get("/{rtype}/{res_id}/_history")
def instance_history(rtype: str, res_id: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Every version of one resource, newest first."""
    check_format(request)
    page = services.store.history(actor, rtype, res_id, **_history_args(request, services))
    return _history(request, services, page)


@router.get("/{rtype}/{res_id}/_history/{version_id}")
def vread(
    rtype: str, res_id: str, version_id: str, request: Request, services: ServicesDep, actor: ActorDep
) -> Response:
    """One version of a resource."""
    check_format(request)
    if not version_id.isdigit():
        raise errors.not_found(f"{rtype}/{res_id} has no version {version_id!r}")
    stored = services.store.vread(actor, rtype, res_id, int(version_id))
    return _resource_response(stored, request, services)


@router.get("/{rtype}/{res_id}")
def read(rtype: str, res_id: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """The current version of a resource."""
    check_format(request)
    return read_response(services.store.read(actor, rtype, res_id), request, services)


@router.post("/{rtype}")
async def create(rtype: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Create a resource; the server assigns its id. 201 with Location and ETag."""
    check_format(request)
    body = await read_resource_body(request)
    warnings = await run_in_threadpool(_validate, services, body, rtype)
    body.pop("id", None)
    stamp_client_source(services.settings.fhir.client_sources, actor.id, [body])
    stored = await run_in_threadpool(services.store.create, actor, body)
    return _write_response(stored, request, services, status=201, warnings=warnings)


@router.put("/{rtype}/{res_id}")
async def update(rtype: str, res_id: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Update (or, when allowed, create) a resource. ``If-Match`` makes it a versioned update."""
    check_format(request)
    ResourceStore.check_id(res_id)
    body = await read_resource_body(request)
    if body.get("id") != res_id:
        raise errors.invalid(f"the resource in a PUT must carry id {res_id!r}, as in the URL", f"{rtype}.id")
    if_match = parse_if_match(request)
    warnings = await run_in_threadpool(_validate, services, body, rtype)
    stamp_client_source(services.settings.fhir.client_sources, actor.id, [body])
    stored, created = await run_in_threadpool(
        lambda: services.store.update(actor, rtype, res_id, body, if_match=if_match)
    )
    return _write_response(stored, request, services, status=201 if created else 200, warnings=warnings)


@router.delete("/{rtype}/{res_id}")
async def delete(rtype: str, res_id: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Delete a resource (a new, empty version). Deleting what is gone or never was is not an error."""
    if_match = parse_if_match(request)
    stored = await run_in_threadpool(lambda: services.store.delete(actor, rtype, res_id, if_match=if_match))
    headers = {"ETag": stored.etag} if stored is not None else {}
    message = f"{rtype}/{res_id} deleted" if stored is not None else f"{rtype}/{res_id} did not exist"
    return json_body(information(message), request, 200, headers)


# -- helpers ----------------------------------------------------------------------------------------


def _validate(services: Services, body: dict[str, Any], rtype: str) -> list[Any]:
    if services.settings.fhir.validation == "full":
        return check_full(body, expected_type=rtype)
    from huitong.fhir.validate import check_structure

    check_structure(body, expected_type=rtype)
    return []


def read_response(stored: StoredResource, request: Request, services: Services) -> Response:
    """The answer to a read of ``stored`` (its audit row already committed): 304 for a matching
    ``If-None-Match``, else the stored bytes as they are (re-serialised only for ``_pretty=true``). Shared by the
    route and the fast path (``fastpath.py``)."""
    response = read_answer(stored, request.headers.get("if-none-match"))
    if response.status_code == 200 and request.scope["query_string"] and request.query_params.get("_pretty") == "true":
        headers = {"ETag": stored.etag, "Last-Modified": last_modified(stored)}
        return json_body(stored.resource(), request, headers=headers)
    return response


def read_answer(stored: StoredResource, if_none_match: str | None) -> PreparedResponse:
    """304 with the ``ETag`` when ``if_none_match`` names this version, else 200 with the stored bytes,
    ``ETag`` and ``Last-Modified``."""
    etag = stored.etag
    if if_none_match == etag:
        return PreparedResponse(304, [(b"etag", etag.encode())], b"")
    body = stored.content or b""
    headers = [
        (b"content-length", str(len(body)).encode()),
        FHIR_JSON_CONTENT_TYPE,
        (b"etag", etag.encode()),
        (b"last-modified", last_modified(stored).encode()),
    ]
    return PreparedResponse(200, headers, body)


def _resource_response(stored: StoredResource, request: Request, services: Services) -> Response:
    headers = {"ETag": stored.etag, "Last-Modified": last_modified(stored)}
    if request.url.query and request.query_params.get("_pretty") == "true":
        return json_body(stored.resource(), request, headers=headers)
    return fhir_response(stored.content or b"", headers=headers)


def _write_response(
    stored: StoredResource, request: Request, services: Services, *, status: int, warnings: list[Any]
) -> Response:
    headers = version_headers(stored, request, services.settings)
    prefer = prefer_return(request)
    if prefer == "minimal":
        return Response(status_code=status, headers=headers)
    if prefer == "OperationOutcome":
        from huitong.fhir.outcome import operation_outcome

        return json_body(operation_outcome(warnings), request, status, headers)
    return fhir_response(stored.content or b"", status, headers)


def _history_args(request: Request, services: Services) -> dict[str, Any]:
    params = request.query_params
    args: dict[str, Any] = {}
    if "_count" in params:
        count = params["_count"]
        if not count.isdigit() or int(count) < 1:
            raise errors.invalid(f"_count must be a positive integer, got {count!r}")
        args["count"] = int(count)
    if "_offset" in params:
        offset = params["_offset"]
        if not offset.isdigit():
            raise errors.invalid(f"_offset must be a non-negative integer, got {offset!r}")
        args["offset"] = int(offset)
    if "_since" in params:
        try:
            args["since"] = datetime.fromisoformat(params["_since"].replace("Z", "+00:00"))
        except ValueError as exc:
            raise errors.invalid(f"_since must be a FHIR instant, got {params['_since']!r}") from exc
        if args["since"].tzinfo is None:
            raise errors.invalid("_since must include a time zone (e.g. 2026-01-01T00:00:00Z)")
    unknown = set(params) - {"_count", "_offset", "_since", "_format", "_pretty"}
    if unknown:
        raise errors.invalid(f"unsupported history parameter(s): {', '.join(sorted(unknown))}")
    return args


def _history(request: Request, services: Services, page: HistoryPage) -> Response:
    base = base_url(request, services.settings)
    here = str(request.url)
    links = {"self": here}
    params = dict(request.query_params)
    if page.has_more:
        links["next"] = str(
            request.url.replace_query_params(
                **{**params, "_offset": str(page.offset + page.count), "_count": str(page.count)}
            )
        )
    if page.offset > 0:
        links["previous"] = str(
            request.url.replace_query_params(
                **{**params, "_offset": str(max(page.offset - page.count, 0)), "_count": str(page.count)}
            )
        )
    return fhir_response(history_bundle(page.entries, base_url=base, links=links, total=page.total))


# Search routes come last: ``GET /fhir/{type}`` must not shadow ``/fhir/metadata`` or ``/fhir/_history``.
router.include_router(search_router)
router.add_api_route("", batch_or_transaction, methods=["POST"], summary="Batch or transaction Bundle")
