"""Nurse station: the ward's bed board, admissions to a bed, vital signs with a chart."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong.deps import ServicesDep
from huitong.fhir import errors, jsonio
from huitong.fhir.stored import instant
from huitong.fhir.transaction import Transaction
from huitong.security.actor import Actor
from huitong.services import Services
from huitong.web.access import PageActor, require_area
from huitong.web.render import render
from huitong.web.view_models import name_of

router = APIRouter(prefix="/nurse", include_in_schema=False)
BED_STATUS = "http://terminology.hl7.org/CodeSystem/v2-0116"
STATUS_CLASS = {"O": "occupied", "U": "free", "K": "cleaning", "C": "reserved", "H": "reserved", "I": "cleaning"}
VITALS = {
    "temperature": ("8310-5", "Body temperature", "Cel", "°C"),
    "pulse": ("8867-4", "Heart rate", "/min", "次/分"),
}


def bed_board(services: Services, actor: Actor) -> list[dict[str, Any]]:
    """Wards with their beds and who lies in each (from in-progress inpatient encounters)."""
    search = services.search
    locations = search.search(actor, "Location", [("_count", "1000"), ("_sort", "name")])
    encounters = search.search(
        actor,
        "Encounter",
        [("status", "in-progress"), ("class", "IMP"), ("_include", "Encounter:subject"), ("_count", "1000")],
    )
    patients = {s.res_id: jsonio.loads_fast(s.content or b"{}") for s in encounters.included if s.res_type == "Patient"}
    in_bed: dict[str, dict[str, Any]] = {}
    for s in encounters.matches:
        enc = jsonio.loads_fast(s.content or b"{}")
        pid = str((enc.get("subject") or {}).get("reference", "")).removeprefix("Patient/")
        for loc in enc.get("location") or []:
            ref = str((loc.get("location") or {}).get("reference", "")).removeprefix("Location/")
            if ref:
                in_bed[ref] = {"patient_id": pid, "name": name_of(patients.get(pid, {})), "encounter": s.res_id}
    wards: dict[str, dict[str, Any]] = {}
    beds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in locations.matches:
        loc = jsonio.loads_fast(s.content or b"{}")
        kind = {c.get("code") for c in (loc.get("physicalType") or {}).get("coding", [])}
        if "wa" in kind:
            wards[s.res_id] = {"id": s.res_id, "name": loc.get("name", s.res_id)}
        elif "bd" in kind:
            parent = str((loc.get("partOf") or {}).get("reference", "")).removeprefix("Location/")
            code = (loc.get("operationalStatus") or {}).get("code", "U")
            beds[parent].append(
                {
                    "id": s.res_id,
                    "name": loc.get("name", s.res_id),
                    "state": STATUS_CLASS.get(code, "free"),
                    "occupant": in_bed.get(s.res_id),
                }
            )
    return [{**ward, "beds": sorted(beds.get(wid, []), key=lambda b: b["name"])} for wid, ward in wards.items()]


def admit(services: Services, actor: Actor, patient_id: str, bed_id: str) -> str:
    """Admit a patient to a free bed: a new inpatient Encounter and the bed marked occupied, in one transaction."""
    services.store.read(actor, "Patient", patient_id)  # the patient exists and is within reach
    now = instant(datetime.now(UTC))

    def work(tx: Transaction) -> str:
        bed = tx.read("Location", bed_id)
        if bed is None or bed.deleted:
            raise errors.not_found(f"bed {bed_id} does not exist")
        body = bed.resource()
        if (body.get("operationalStatus") or {}).get("code") != "U":
            raise errors.conflict(f"bed {body.get('name', bed_id)} is not free")
        ward = body.get("partOf")
        encounter = tx.create(
            {
                "resourceType": "Encounter",
                "status": "in-progress",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "IMP",
                    "display": "inpatient encounter",
                },
                "subject": {"reference": f"Patient/{patient_id}"},
                "period": {"start": now},
                **({"serviceProvider": body["managingOrganization"]} if body.get("managingOrganization") else {}),
                "location": [
                    {"location": {"reference": f"Location/{bed_id}", "display": body.get("name")}, "status": "active"},
                    *([{"location": ward}] if ward else []),
                ],
            }
        )
        body["operationalStatus"] = {"system": BED_STATUS, "code": "O", "display": "Occupied"}
        tx.update(body, bed_id)
        return encounter.res_id

    return services.store.transaction(actor, work)


def record_vitals(services: Services, actor: Actor, patient_id: str, values: dict[str, str]) -> int:
    """Store each vital sign given as an Observation (category vital-signs, LOINC, UCUM)."""
    now = instant(datetime.now(UTC))
    written = 0
    for key, text in values.items():
        if not text.strip():
            continue
        try:
            number = Decimal(text.strip())
        except InvalidOperation as exc:
            raise errors.invalid(f"{key}: {text!r} is not a number") from exc
        loinc, display, ucum, unit = VITALS[key]
        services.store.create(
            actor,
            {
                "resourceType": "Observation",
                "status": "final",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "vital-signs",
                            }
                        ]
                    }
                ],
                "code": {"coding": [{"system": "http://loinc.org", "code": loinc, "display": display}]},
                "subject": {"reference": f"Patient/{patient_id}"},
                "effectiveDateTime": now,
                "valueQuantity": {"value": number, "unit": unit, "system": "http://unitsofmeasure.org", "code": ucum},
            },
        )
        written += 1
    return written


@router.get("")
def station(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """The bed board of the nurse's wards."""
    require_area(actor, "nurse")
    return render(request, "nurse/station.html", {"wards": bed_board(services, actor)}, actor=actor)


@router.post("/admit")
async def admit_form(
    request: Request, services: ServicesDep, actor: PageActor, patient_id: str = Form(...), bed_id: str = Form(...)
) -> Response:
    """Admit (HTMX form): on success the bed board is re-rendered."""
    require_area(actor, "nurse")
    await run_in_threadpool(admit, services, actor, patient_id.strip(), bed_id)
    wards = await run_in_threadpool(bed_board, services, actor)
    return render(request, "nurse/_board.html", {"wards": wards}, actor=actor)


@router.post("/vitals/{patient_id}")
async def vitals_form(
    patient_id: str,
    request: Request,
    services: ServicesDep,
    actor: PageActor,
    temperature: str = Form(""),
    pulse: str = Form(""),
) -> Response:
    """Record vital signs (HTMX form)."""
    require_area(actor, "nurse")
    n = await run_in_threadpool(
        record_vitals, services, actor, patient_id, {"temperature": temperature, "pulse": pulse}
    )
    return render(request, "nurse/_saved.html", {"count": n}, actor=actor)
