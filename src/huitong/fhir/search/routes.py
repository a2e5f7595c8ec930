"""Search routes: ``GET /fhir/{type}`` and ``POST /fhir/{type}/_search`` (form-encoded parameters)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong.deps import ActorDep, ServicesDep
from huitong.fhir import errors
from huitong.fhir.http import base_url, check_format, fhir_response
from huitong.fhir.search.bundle import search_bundle
from huitong.services import Services

router = APIRouter()


def is_lenient(request: Request, services: Services) -> bool:
    """``Prefer: handling=lenient|strict``, else the server's default."""
    for part in request.headers.get("prefer", "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip() == "handling" and value.strip() in ("lenient", "strict"):
            return value.strip() == "lenient"
    return services.settings.fhir.search_lenient


@router.get("/{rtype}")
def search_type(rtype: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Search resources of one type (``GET /fhir/Observation?code=…``)."""
    check_format(request)
    pairs = list(request.query_params.multi_items())
    result = services.search.search(actor, rtype, pairs, lenient=is_lenient(request, services))
    base = base_url(request, services.settings)
    return fhir_response(search_bundle(result, base_url=base, path=f"{base}/{rtype}"))


@router.post("/{rtype}/_search")
async def search_type_post(rtype: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Search with the parameters in a form-encoded body (and the query string)."""
    check_format(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if body and ctype != "application/x-www-form-urlencoded":
        raise errors.not_supported("POST _search takes application/x-www-form-urlencoded parameters", status=415)
    pairs = list(request.query_params.multi_items())
    pairs += parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    lenient = is_lenient(request, services)
    result = await run_in_threadpool(lambda: services.search.search(actor, rtype, pairs, lenient=lenient))
    base = base_url(request, services.settings)
    return fhir_response(search_bundle(result, base_url=base, path=f"{base}/{rtype}"))
