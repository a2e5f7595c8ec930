"""Doctor workbench: my patients, the one-patient view across source systems, critical values."""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

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
from huitong.times import CHINA
from huitong.web.access import PageActor, require_area
from huitong.web.pages._patients import patients_of
from huitong.web.pages._results import Results, patient_results
from huitong.web.pages.nurse import china_day_bounds
from huitong.web.render import language, render, script_json
from huitong.web.view_models import (
    age_of,
    flag_of,
    gender_of,
    identifier_label,
    identifier_value,
    name_of,
    text_of,
    value_of,
    when_of,
)

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
#: Read whole (a page of each is shown); the results are read a page at a time from the index (``_results``).
LISTED_TYPES = [t for t in VIEW_TYPES if t != "Observation"]
#: Results a page (the list under the trend chart), and entries a page of each other section.
RESULTS_PAGE = 100
SECTION_PAGE = 50
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


def patient_record(
    services: Services, actor: Actor, patient_id: str, *, pages: dict[str, int] | None = None
) -> dict[str, Any]:
    """The whole record of one patient, grouped for the one-patient view, with result trends: this Patient's and
    those of the person's records in the other source systems (the LIS's, the PACS's …) — the Patients named
    together with it by the EMPI's golden Patient (``security.access.same_person``), as far as the actor may see.

    Every list is one page (``pages``: a section's resource type → page number, from 0): the results
    (``RESULTS_PAGE`` a page, read from the index by :mod:`._results`, with the trend as an aggregate) and each other
    section (``SECTION_PAGE``)."""
    pages = pages or {}
    patient = services.store.read(actor, "Patient", patient_id).resource()  # access check + audit
    entry = AuditEntry(
        "operation", entity_type="Patient", entity_id=patient_id, query=f"$everything?_type={','.join(VIEW_TYPES)}"
    )
    results_page = max(pages.get("Observation", 0), 0)

    def work() -> tuple[list[StoredResource], Results]:
        with services.db.read() as conn:  # live and archived (cold tier), as $everything reads it
            ids = [patient_id, *same_person(conn, patient_id)]
            found = visible_records(
                services, actor, conn, ids, types=LISTED_TYPES, limit=services.settings.fhir.everything_max
            )
            reached = [patient_id, *(s.res_id for s in found if s.res_type == "Patient" and s.res_id in ids)]
            results = patient_results(
                services,
                actor,
                conn,
                list(dict.fromkeys(reached)),
                offset=results_page * RESULTS_PAGE,
                size=RESULTS_PAGE,
            )
            return found, results

    found, results = services.store.audited_read(actor, entry, work)
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for body in _resources(found):
        grouped[body["resourceType"]].append(body)
    # the person's records in other systems (not the golden Patient, which is the EMPI's own)
    records = [
        p for p in grouped.pop("Patient", []) if p.get("id") != patient_id and p.get("identifier") and not is_golden(p)
    ]
    sections: dict[str, dict[str, Any]] = {}
    for rtype, items in grouped.items():
        items.sort(key=when_of, reverse=True)
        page = min(max(pages.get(rtype, 0), 0), max(len(items) - 1, 0) // SECTION_PAGE)
        shown = items[page * SECTION_PAGE : (page + 1) * SECTION_PAGE]
        sections[rtype] = {"items": shown, "total": len(items), "page": page}
    sections["Observation"] = {"items": results.page, "total": results.total, "page": results_page}
    return {
        "patient": patient,
        "sections": sections,
        "groups": {rtype: section["items"] for rtype, section in sections.items()},  # what each page shows
        "trends": results.trends,
        "records": records,
    }


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
            "alert_patients": patients_of(services, actor, [a.patient_id for a in alerts]),
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
    record = patient_record(services, actor, patient_id, pages=_pages(request))
    return render(
        request,
        "doctor/patient.html",
        {
            **record,
            "page_size": {"Observation": RESULTS_PAGE},
            "default_page_size": SECTION_PAGE,
            "page_link": functools.partial(_page_link, request),
            "age_of": age_of,
            "gender_of": gender_of,
            "name_of": name_of,
            "identifier_label": identifier_label,
            "identifier_value": identifier_value,
            "text_of": text_of,
            "value_of": value_of,
            "flag_of": flag_of,
            "when_of": when_of,
            "trends_json": script_json(record["trends"]),
            "lang_code": language(request),
        },
        actor=actor,
    )


#: The query parameter of each paginated section of the one-patient view.
PAGE_PARAMS = {
    "Observation": "results",
    "Encounter": "timeline",
    "Condition": "conditions",
    "Procedure": "procedures",
    "ServiceRequest": "orders",
    "MedicationRequest": "medications",
    "DocumentReference": "documents",
}


def _pages(request: Request) -> dict[str, int]:
    """Section (resource type) → page number asked for (``?results=2&orders=1``; 0 when absent or not a number)."""
    out: dict[str, int] = {}
    for rtype, param in PAGE_PARAMS.items():
        text = request.query_params.get(param, "")
        out[rtype] = int(text) if text.isdigit() else 0
    return out


def _page_link(request: Request, rtype: str, page: int) -> str:
    """The view's address with section ``rtype`` at ``page`` and the other sections where they are."""
    query = dict(request.query_params)
    query[PAGE_PARAMS[rtype]] = str(page)
    return f"?{urlencode(query)}#{PAGE_PARAMS[rtype]}"


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
