"""Doctor workbench: my patients, the one-patient view across source systems, critical values."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong.clinical.alerts import acknowledge, list_alerts
from huitong.deps import ServicesDep
from huitong.empi.golden import is_golden
from huitong.fhir import jsonio
from huitong.fhir.operations.record import visible_records
from huitong.fhir.stored import StoredResource
from huitong.security.access import same_person
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry
from huitong.services import Services
from huitong.web.access import PageActor, require_area
from huitong.web.pages.nurse import china_day_bounds
from huitong.web.render import language, render, script_json
from huitong.web.view_models import age_of, flag_of, gender_of, name_of, text_of, value_of, when_of

router = APIRouter(prefix="/doctor", include_in_schema=False)
#: What the one-patient view shows (templates/doctor/patient.html): only these are read from the record — not a
#: long stay's thousands of MedicationAdministrations.
VIEW_TYPES = [
    "Patient",
    "Observation",
    "Encounter",
    "Condition",
    "Procedure",
    "ServiceRequest",
    "MedicationRequest",
    "DocumentReference",
]
CHINA = timezone(timedelta(hours=8))
PAGE = 20


def _resources(found: list[StoredResource]) -> list[dict[str, Any]]:
    return [jsonio.loads_fast(s.content or b"{}") for s in found]


def my_patients(services: Services, actor: Actor, *, page: int) -> dict[str, Any]:
    """Inpatients in progress and today's outpatients the actor may see, with their patients."""
    search = services.search
    inpatient = search.search(
        actor,
        "Encounter",
        [
            ("status", "in-progress"),
            ("class", "IMP"),
            ("_include", "Encounter:subject"),
            ("_sort", "-date"),
            ("_count", str(PAGE)),
            ("_offset", str(page * PAGE)),
        ],
    )
    starts, ends = china_day_bounds(datetime.now(CHINA).date().isoformat())
    outpatient = search.search(
        actor,
        "Encounter",
        [
            ("class", "AMB"),
            ("date", starts),  # visits that started today (not every visit without an end)
            ("date", ends),
            ("_include", "Encounter:subject"),
            ("_sort", "-date"),
            ("_count", str(PAGE)),
        ],
    )
    return {
        "inpatients": _rows(inpatient.matches, inpatient.included),
        "has_more": inpatient.has_more,
        "outpatients": _rows(outpatient.matches, outpatient.included),
    }


def _rows(encounters: list[StoredResource], included: list[StoredResource]) -> list[dict[str, Any]]:
    patients = {s.res_id: jsonio.loads_fast(s.content or b"{}") for s in included if s.res_type == "Patient"}
    rows = []
    for enc in _resources(encounters):
        pid = str((enc.get("subject") or {}).get("reference", "")).removeprefix("Patient/")
        patient = patients.get(pid, {})
        ward = next((loc.get("location", {}).get("display") for loc in enc.get("location") or []), None)
        rows.append(
            {"patient_id": pid, "patient": patient, "encounter": enc, "ward": ward or "—", "start": when_of(enc)}
        )
    return rows


def patient_record(services: Services, actor: Actor, patient_id: str) -> dict[str, Any]:
    """The whole record of one patient, grouped for the one-patient view, with result trends: this Patient's and
    those of the person's records in the other source systems (the LIS's, the PACS's …) — the Patients named
    together with it by the EMPI's golden Patient (``security.access.same_person``), as far as the actor may see."""
    patient = services.store.read(actor, "Patient", patient_id).resource()  # access check + audit
    entry = AuditEntry(
        "operation", entity_type="Patient", entity_id=patient_id, query=f"$everything?_type={','.join(VIEW_TYPES)}"
    )

    def work() -> list[StoredResource]:
        with services.db.read() as conn:  # live and archived (cold tier), as $everything reads it
            ids = [patient_id, *same_person(conn, patient_id)]
            return visible_records(
                services, actor, conn, ids, types=VIEW_TYPES, limit=services.settings.fhir.everything_max
            )

    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for body in _resources(services.store.audited_read(actor, entry, work)):
        grouped[body["resourceType"]].append(body)
    # the person's records in other systems (not the golden Patient, which is the EMPI's own)
    records = [
        p for p in grouped.pop("Patient", []) if p.get("id") != patient_id and p.get("identifier") and not is_golden(p)
    ]
    for items in grouped.values():
        items.sort(key=when_of, reverse=True)
    trends: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for obs in grouped.get("Observation", []):
        q = obs.get("valueQuantity")
        if isinstance(q, dict) and "value" in q and when_of(obs):
            try:
                trends[text_of(obs.get("code"))].append((when_of(obs), float(Decimal(str(q["value"])))))
            except (InvalidOperation, ValueError):
                continue
    series = {name: sorted(points) for name, points in trends.items() if len(points) >= 1}
    return {"patient": patient, "groups": grouped, "trends": series, "records": records}


@router.get("")
def workbench(request: Request, services: ServicesDep, actor: PageActor, page: int = 0) -> Response:
    """My patients and open critical values."""
    require_area(actor, "doctor")
    data = my_patients(services, actor, page=max(page, 0))
    alerts = list_alerts(services.store, actor, open_only=True, limit=20)
    return render(
        request,
        "doctor/workbench.html",
        {
            **data,
            "alerts": alerts,
            "page": max(page, 0),
            "age_of": age_of,
            "gender_of": gender_of,
            "name_of": name_of,
            "text_of": text_of,
        },
        actor=actor,
    )


@router.get("/patient/{patient_id}")
def patient_view(patient_id: str, request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """One patient across every source system: encounters, diagnoses, operations, orders, results, medications."""
    require_area(actor, "doctor")
    record = patient_record(services, actor, patient_id)
    return render(
        request,
        "doctor/patient.html",
        {
            **record,
            "age_of": age_of,
            "gender_of": gender_of,
            "name_of": name_of,
            "text_of": text_of,
            "value_of": value_of,
            "flag_of": flag_of,
            "when_of": when_of,
            "trends_json": script_json(record["trends"]),
            "lang_code": language(request),
        },
        actor=actor,
    )


@router.post("/critical/{observation_id}/acknowledge")
async def acknowledge_critical(
    observation_id: str, request: Request, services: ServicesDep, actor: PageActor
) -> Response:
    """Acknowledge a critical value; HTMX swaps the row for its acknowledged state."""
    require_area(actor, "doctor")
    task = await run_in_threadpool(acknowledge, services.store, actor, observation_id)
    period = task["executionPeriod"]
    minutes = (datetime.fromisoformat(period["end"]) - datetime.fromisoformat(period["start"])).total_seconds() / 60
    return render(
        request,
        "_partials/_critical_acknowledged.html",
        {"observation_id": observation_id, "minutes": round(minutes, 1), "at": datetime.now(UTC)},
        actor=actor,
    )
