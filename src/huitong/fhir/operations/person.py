"""The EMPI's FHIR face: ``Patient/$match``, and the Patient ids a golden Patient spans (``$everything``).

``POST /fhir/Patient/$match`` takes a Parameters resource with ``resource`` (the Patient to look for),
``onlyCertainMatches`` (boolean) and ``count`` (positive integer) — or, for convenience, the bare Patient —
and answers with the searchset Bundle of :func:`huitong.empi.api.match_bundle`: the golden Patient of each
candidate person, best first, with ``search.score`` and the ``match-grade`` extension. Nothing is stored;
the call is audited as an operation.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong.deps import ActorDep, ServicesDep
from huitong.fhir import errors
from huitong.fhir.http import check_format, json_body, read_resource_body
from huitong.security.audit import AuditEntry
from huitong.services import Services

router = APIRouter()

_PARAMETERS = ("resource", "onlyCertainMatches", "count")
#: Elements of a Patient that the EMPI compares; a $match Patient needs at least one.
_MATCHABLE = ("name", "birthDate", "identifier", "telecom", "address")


@router.post("/Patient/$match")
async def patient_match(request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Find the persons a Patient may be (R4 ``Patient/$match``), graded certain/probable/possible."""
    check_format(request)
    body = await read_resource_body(request)
    patient, only_certain, count = parse_match_parameters(body)
    await run_in_threadpool(_validate, services, patient)
    entry = AuditEntry("operation", entity_type="Patient", query="$match")

    def work() -> dict[str, Any]:
        from huitong.empi.api import match_bundle

        services.store.check_search(actor, "Patient")
        try:
            return match_bundle(services.empi, actor, patient, count=count, only_certain_matches=only_certain)
        except (TypeError, AttributeError, ValueError) as exc:  # an element of an unexpected shape
            raise errors.invalid(f"the Patient cannot be matched: {exc}", "Parameters.parameter.resource") from exc

    bundle = await run_in_threadpool(lambda: services.store.audited_read(actor, entry, work))
    return json_body(bundle, request)


def parse_match_parameters(body: dict[str, Any]) -> tuple[dict[str, Any], bool, int | None]:
    """``(patient, onlyCertainMatches, count)`` from a Parameters resource (or a bare Patient); 400 otherwise."""
    if body.get("resourceType") == "Patient":
        return _checked_patient(body), False, None
    if body.get("resourceType") != "Parameters":
        raise errors.invalid(
            f"$match takes a Parameters resource (or a Patient), not {body.get('resourceType')!r}", "resourceType"
        )
    params = body.get("parameter") or []
    if not isinstance(params, list):
        raise errors.invalid("Parameters.parameter must be a list", "Parameters.parameter")
    patient: dict[str, Any] | None = None
    only_certain = False
    count: int | None = None
    for i, param in enumerate(params):
        where = f"Parameters.parameter[{i}]"
        if not isinstance(param, dict):
            raise errors.invalid("each parameter must be a JSON object with a name", where)
        name = param.get("name")
        if name not in _PARAMETERS:
            raise errors.invalid(
                f"unknown $match parameter {name!r}; the parameters are resource, onlyCertainMatches and count", where
            )
        if name == "resource":
            if patient is not None:
                raise errors.invalid("$match takes one resource parameter", where)
            patient = param.get("resource")
            if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
                raise errors.invalid("the resource parameter must hold a Patient", f"{where}.resource")
        elif name == "onlyCertainMatches":
            value = param.get("valueBoolean")
            if not isinstance(value, bool):
                raise errors.invalid("onlyCertainMatches must be a valueBoolean (true or false)", where)
            only_certain = value
        else:
            value = param.get("valueInteger")
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise errors.invalid("count must be a valueInteger of at least 1", where)
            count = value
    if patient is None:
        raise errors.invalid(
            "$match needs the Patient to look for in a parameter named 'resource'", "Parameters.parameter"
        )
    return _checked_patient(patient), only_certain, count


def _checked_patient(patient: dict[str, Any]) -> dict[str, Any]:
    if not any(patient.get(element) for element in _MATCHABLE):
        raise errors.invalid(
            "the Patient has nothing to match on: send at least a name, birth date, identifier, phone or address",
            "Patient",
        )
    return patient


def _validate(services: Services, patient: dict[str, Any]) -> None:
    from huitong.fhir.validate import check_full, check_structure

    if services.settings.fhir.validation == "full":
        check_full(patient, expected_type="Patient")
    else:
        check_structure(patient, expected_type="Patient")
