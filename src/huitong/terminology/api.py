"""Terminology operations over HTTP: ``$lookup``, ``$validate-code``, ``$translate``, ``$expand``.

Inputs come from the query string (GET) or a ``Parameters`` resource (POST); answers are ``Parameters``
(or a ``ValueSet`` with an expansion), as the FHIR terminology service specification describes. These routes are
mounted before the generic resource routes so ``/fhir/CodeSystem/$lookup`` is never taken for a read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong.deps import ActorDep, ServicesDep
from huitong.fhir import errors, jsonio
from huitong.fhir.http import json_body
from huitong.terminology.errors import TerminologyError
from huitong.terminology.service import Terminology

router = APIRouter(prefix="/fhir", tags=["terminology"])


async def _inputs(request: Request) -> dict[str, str]:
    values = dict(request.query_params)
    if request.method == "POST":
        body = jsonio.loads(await request.body() or b"{}")
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise errors.invalid("POST a Parameters resource")
        for p in body.get("parameter", []):
            value = next((v for k, v in p.items() if k.startswith("value")), None)
            if value is not None and "name" in p:
                values[p["name"]] = str(value)
    values.pop("_format", None)
    values.pop("_pretty", None)
    return values


def _need(values: dict[str, str], *names: str) -> list[str]:
    missing = [n for n in names if not values.get(n)]
    if missing:
        raise errors.invalid(f"missing parameter(s): {', '.join(missing)}")
    return [values[n] for n in names]


def _parameters(*pairs: tuple[str, Any]) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for name, value in pairs:
        if value is None:
            continue
        if isinstance(value, bool):
            out.append({"name": name, "valueBoolean": value})
        elif isinstance(value, dict):
            out.append({"name": name, **value})
        else:
            out.append({"name": name, "valueString": str(value)})
    return {"resourceType": "Parameters", "parameter": out}


@router.api_route("/CodeSystem/$lookup", methods=["GET", "POST"])
async def lookup(request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Details of one code: display, version, designations and properties."""
    values = await _inputs(request)
    system, code = _need(values, "system", "code")
    term = Terminology(services.db)
    try:
        found = await run_in_threadpool(term.lookup, system, code, values.get("version"))
    except TerminologyError as exc:
        raise errors.not_found(str(exc)) from exc
    if found is None:
        raise errors.not_found(f"{code!r} is not a code of {system}")
    pairs: list[tuple[str, Any]] = [("name", system), ("version", found.version), ("display", found.display)]
    for key, value in found.properties.items():
        if key.startswith("designation:"):
            pairs.append(
                (
                    "designation",
                    {
                        "part": [
                            {"name": "language", "valueCode": key.split(":", 1)[1]},
                            {"name": "value", "valueString": value},
                        ]
                    },
                )
            )
        else:
            pairs.append(
                (
                    "property",
                    {"part": [{"name": "code", "valueCode": key}, {"name": "value", "valueString": str(value)}]},
                )
            )
    if found.parent:
        pairs.append(
            (
                "property",
                {"part": [{"name": "code", "valueCode": "parent"}, {"name": "value", "valueCode": found.parent}]},
            )
        )
    return json_body(_parameters(*pairs), request)


@router.api_route("/CodeSystem/$validate-code", methods=["GET", "POST"])
@router.api_route("/ValueSet/$validate-code", methods=["GET", "POST"])
async def validate_code(request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Whether a code is valid in a code system (and a value set, with ``url``)."""
    values = await _inputs(request)
    system, code = _need(values, "system", "code")
    value_set = values.get("url") if request.url.path.startswith("/fhir/ValueSet") else None
    term = Terminology(services.db)
    try:
        ok, message = await run_in_threadpool(
            lambda: term.validate_code(
                system, code, version=values.get("version"), display=values.get("display"), value_set=value_set
            )
        )
    except TerminologyError as exc:
        raise errors.not_found(str(exc)) from exc
    return json_body(_parameters(("result", ok), ("message", message)), request)


@router.api_route("/ConceptMap/$translate", methods=["GET", "POST"])
async def translate(request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Local code → standard code(s), from every loaded ConceptMap (or the one named by ``url``)."""
    values = await _inputs(request)
    system, code = _need(values, "system", "code")
    term = Terminology(services.db)
    found = await run_in_threadpool(
        lambda: term.translate(
            system, code, target=values.get("targetsystem") or values.get("target"), url=values.get("url")
        )
    )
    good = [t for t in found if t.code and t.equivalence not in ("unmatched", "disjoint")]
    pairs: list[tuple[str, Any]] = [
        ("result", bool(good)),
        ("message", None if good else f"no mapping for {code!r} of {system}"),
    ]
    for t in found:
        coding = {
            "system": t.system,
            **({"code": t.code} if t.code else {}),
            **({"display": t.display} if t.display else {}),
        }
        pairs.append(
            (
                "match",
                {
                    "part": [
                        {"name": "equivalence", "valueCode": t.equivalence},
                        *([{"name": "concept", "valueCoding": coding}] if t.code else []),
                        *([{"name": "source", "valueUri": t.source_map}] if t.source_map else []),
                    ]
                },
            )
        )
    return json_body(_parameters(*pairs), request)


@router.api_route("/ValueSet/$expand", methods=["GET", "POST"])
async def expand(request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """The codes of a value set, filtered by code, display, pinyin or pinyin initials (``filter=gxy``)."""
    values = await _inputs(request)
    (url,) = _need(values, "url")
    try:
        count = min(int(values.get("count", "100")), 1000)
        offset = int(values.get("offset", "0"))
    except ValueError as exc:
        raise errors.invalid("count and offset must be integers") from exc
    term = Terminology(services.db)
    try:
        total, page = await run_in_threadpool(
            lambda: term.expand(url, text=values.get("filter", ""), count=count, offset=offset)
        )
    except TerminologyError as exc:
        raise errors.not_found(str(exc)) from exc
    expansion: dict[str, Any] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "total": total,
        "offset": offset,
        "contains": [
            {"system": c.system, "version": c.version, "code": c.code, **({"display": c.display} if c.display else {})}
            for c in page
        ],
    }
    if values.get("filter"):
        expansion["parameter"] = [{"name": "filter", "valueString": values["filter"]}]
    if not expansion["contains"]:
        expansion.pop("contains")
    return json_body({"resourceType": "ValueSet", "url": url, "status": "active", "expansion": expansion}, request)
