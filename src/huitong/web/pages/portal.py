"""Patient portal (mobile-first): book, change or cancel an appointment, check in, read reports and visit
summaries, see bills, answer the survey. Consent lives in :mod:`~huitong.web.pages.consent`, self-registration
in :mod:`~huitong.web.pages.registration`.

Reads run as the signed-in patient, so the access policy shows only their own records. Writes that touch shared
resources (a clinic's slots) run as the portal's system actor *on behalf of* the patient, so the audit trail names
both.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong.deps import ServicesDep
from huitong.fhir import errors, jsonio
from huitong.fhir.stored import instant
from huitong.fhir.transaction import Transaction
from huitong.security.actor import Actor, ActorKind
from huitong.services import Services
from huitong.web.access import PageActor, require_area
from huitong.web.render import language, render
from huitong.web.view_models import short_time, text_of, value_of, when_of

router = APIRouter(prefix="/portal", include_in_schema=False)
SURVEY = "urn:huitong:questionnaire:outpatient-satisfaction"
QUESTIONS = (
    ("overall", "总体满意度", "Overall satisfaction"),
    ("waiting", "候诊时间", "Waiting time"),
    ("doctor", "医生沟通", "Communication with the doctor"),
)
PAGE = 20


def patient_of(actor: Actor, request: Request) -> str:
    """The patient the portal acts for: the signed-in patient, or in development a chosen demo patient."""
    own = getattr(actor, "patient_id", None)
    if own:
        return str(own)
    if actor.kind is ActorKind.DEVELOPMENT:
        return request.query_params.get("patient", "demo-p001")
    raise errors.forbidden("this account is not linked to a patient record")


def _on_behalf(actor: Actor, patient_id: str) -> Actor:
    return replace(
        Actor.system("portal", source_address=actor.source_address),
        on_behalf_of=f"Patient/{patient_id}",
        request_id=actor.request_id,
    )


def overview(services: Services, actor: Actor, patient_id: str, *, page: int = 0) -> dict[str, Any]:
    """The patient's appointments (a page of them), free slots to book, and reports."""
    search = services.search
    services.store.read(actor, "Patient", patient_id)
    appts = search.search(
        actor,
        "Appointment",
        [
            ("patient", f"Patient/{patient_id}"),
            ("_sort", "-date"),
            ("_count", str(PAGE)),
            ("_offset", str(page * PAGE)),
        ],
    )
    slots = search.search(
        _on_behalf(actor, patient_id),
        "Slot",
        [("status", "free"), ("start", f"ge{instant(datetime.now(UTC))}"), ("_sort", "start"), ("_count", "20")],
    )
    reports = search.search(
        actor, "Observation", [("subject", f"Patient/{patient_id}"), ("_sort", "-date"), ("_count", "20")]
    )
    load = jsonio.loads_fast
    free = [load(s.content or b"{}") for s in slots.matches]
    by_department: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for slot in free:
        by_department[text_of((slot.get("serviceType") or [{}])[0])].append(slot)
    return {
        "appointments": [load(s.content or b"{}") for s in appts.matches],
        "has_more": appts.has_more,
        "page": page,
        "slots": free,
        "slots_by_department": dict(by_department),
        "reports": [load(s.content or b"{}") for s in reports.matches],
    }


def book(services: Services, actor: Actor, patient_id: str, slot_id: str) -> str:
    """Book a free slot: the slot becomes busy and an Appointment is created, in one transaction."""

    def work(tx: Transaction) -> str:
        stored = tx.read("Slot", slot_id)
        if stored is None or stored.deleted:
            raise errors.not_found(f"slot {slot_id} does not exist")
        slot = stored.resource()
        if slot.get("status") != "free":
            raise errors.conflict("this slot has just been taken; please choose another")
        slot["status"] = "busy"
        tx.update(slot, slot_id)
        appt = tx.create(
            {
                "resourceType": "Appointment",
                "status": "booked",
                "slot": [{"reference": f"Slot/{slot_id}"}],
                "serviceType": slot.get("serviceType", []),
                "start": slot["start"],
                "end": slot["end"],
                "created": instant(datetime.now(UTC))[:10],
                "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
            }
        )
        return appt.res_id

    return services.store.transaction(_on_behalf(actor, patient_id), work)


def _own_appointment(tx: Transaction, appt_id: str, patient_id: str) -> dict[str, Any]:
    stored = tx.read("Appointment", appt_id)
    if stored is None or stored.deleted:
        raise errors.not_found(f"appointment {appt_id} does not exist")
    appt = stored.resource()
    if not any((p.get("actor") or {}).get("reference") == f"Patient/{patient_id}" for p in appt.get("participant", [])):
        raise errors.not_found(f"appointment {appt_id} does not exist")
    return appt


def cancel(services: Services, actor: Actor, patient_id: str, appt_id: str) -> None:
    """Cancel a booked appointment and free its slot."""

    def work(tx: Transaction) -> None:
        appt = _own_appointment(tx, appt_id, patient_id)
        if appt["status"] not in ("booked", "pending", "proposed"):
            raise errors.conflict(f"an appointment that is {appt['status']} cannot be cancelled")
        appt["status"] = "cancelled"
        tx.update(appt, appt_id)
        for ref in appt.get("slot", []):
            slot_id = ref["reference"].removeprefix("Slot/")
            slot = tx.read("Slot", slot_id)
            if slot is not None and not slot.deleted:
                body = slot.resource()
                body["status"] = "free"
                tx.update(body, slot_id)

    services.store.transaction(_on_behalf(actor, patient_id), work)


def change(services: Services, actor: Actor, patient_id: str, appt_id: str, slot_id: str) -> None:
    """Move a booked appointment to another free slot: the old slot is freed and the new one taken, together."""

    def work(tx: Transaction) -> None:
        appt = _own_appointment(tx, appt_id, patient_id)
        if appt["status"] not in ("booked", "pending", "proposed"):
            raise errors.conflict(f"an appointment that is {appt['status']} cannot be changed; book a new one")
        stored = tx.read("Slot", slot_id)
        if stored is None or stored.deleted:
            raise errors.not_found(f"slot {slot_id} does not exist; choose another from the list")
        new = stored.resource()
        if new.get("status") != "free":
            raise errors.conflict("this slot has just been taken; please choose another")
        for ref in appt.get("slot", []):
            old_id = ref["reference"].removeprefix("Slot/")
            old = tx.read("Slot", old_id)
            if old is not None and not old.deleted and old_id != slot_id:
                body = old.resource()
                body["status"] = "free"
                tx.update(body, old_id)
        new["status"] = "busy"
        tx.update(new, slot_id)
        appt.update(
            slot=[{"reference": f"Slot/{slot_id}"}],
            start=new["start"],
            end=new["end"],
            serviceType=new.get("serviceType", appt.get("serviceType", [])),
        )
        tx.update(appt, appt_id)

    services.store.transaction(_on_behalf(actor, patient_id), work)


def check_in(services: Services, actor: Actor, patient_id: str, appt_id: str) -> str:
    """Arrival: the appointment becomes ``arrived`` and an outpatient Encounter starts (check-in time recorded)."""
    now = instant(datetime.now(UTC))

    def work(tx: Transaction) -> str:
        appt = _own_appointment(tx, appt_id, patient_id)
        if appt["status"] != "booked":
            raise errors.conflict(f"only a booked appointment can be checked in (this one is {appt['status']})")
        appt["status"] = "arrived"
        tx.update(appt, appt_id)
        enc = tx.create(
            {
                "resourceType": "Encounter",
                "status": "arrived",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                    "display": "ambulatory",
                },
                "subject": {"reference": f"Patient/{patient_id}"},
                "appointment": [{"reference": f"Appointment/{appt_id}"}],
                "period": {"start": now},
                "statusHistory": [{"status": "arrived", "period": {"start": now}}],
            }
        )
        return enc.res_id

    return services.store.transaction(_on_behalf(actor, patient_id), work)


def answer_survey(services: Services, actor: Actor, patient_id: str, scores: dict[str, int]) -> str:
    """Store the satisfaction survey as a QuestionnaireResponse (feeds the satisfaction indicators)."""
    items = [
        {"linkId": key, "text": zh, "answer": [{"valueInteger": scores[key]}]}
        for key, zh, _en in QUESTIONS
        if key in scores
    ]
    stored = services.store.create(
        _on_behalf(actor, patient_id),
        {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": SURVEY,
            "status": "completed",
            "subject": {"reference": f"Patient/{patient_id}"},
            "authored": instant(datetime.now(UTC)),
            "item": items,
        },
    )
    return stored.res_id


def visits(services: Services, actor: Actor, patient_id: str, *, page: int = 0) -> dict[str, Any]:
    """Visit summaries: the patient's encounters (a page), each with its department, diagnoses and operations."""
    search = services.search
    found = search.search(
        actor,
        "Encounter",
        [
            ("patient", f"Patient/{patient_id}"),
            ("_sort", "-date"),
            ("_count", str(PAGE)),
            ("_offset", str(page * PAGE)),
            ("_include", "Encounter:service-provider"),
            ("_revinclude", "Condition:encounter"),
            ("_revinclude", "Procedure:encounter"),
        ],
    )
    load = jsonio.loads_fast
    departments = {
        s.res_id: load(s.content or b"{}").get("name", "") for s in found.included if s.res_type == "Organization"
    }
    by_encounter: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"diagnoses": [], "procedures": []})
    for s in found.included:
        if s.res_type in ("Condition", "Procedure"):
            body = load(s.content or b"{}")
            enc = str((body.get("encounter") or {}).get("reference", "")).removeprefix("Encounter/")
            by_encounter[enc]["diagnoses" if s.res_type == "Condition" else "procedures"].append(
                text_of(body.get("code"))
            )
    rows = []
    for s in found.matches:
        enc = load(s.content or b"{}")
        provider = str((enc.get("serviceProvider") or {}).get("reference", "")).removeprefix("Organization/")
        period = enc.get("period") or {}
        rows.append(
            {
                "id": s.res_id,
                "class": (enc.get("class") or {}).get("code", ""),
                "status": enc.get("status", ""),
                "start": short_time(period["start"]) if period.get("start") else "",
                "end": short_time(period["end"]) if period.get("end") else "",
                "department": departments.get(provider, ""),
                **by_encounter.get(s.res_id, {"diagnoses": [], "procedures": []}),
            }
        )
    return {"visits": rows, "has_more": found.has_more, "page": page}


def bills(services: Services, actor: Actor, patient_id: str) -> dict[str, Any]:
    """The patient's charges (FHIR ChargeItem) grouped by visit (named by its start and class, as the patient
    knows it, not by its id), with totals in CNY."""
    found = services.search.search(
        actor,
        "ChargeItem",
        [
            ("patient", f"Patient/{patient_id}"),
            ("_sort", "-entered-date"),
            ("_count", "500"),
            ("_include", "ChargeItem:context"),
        ],
    )
    encounters = {s.res_id: jsonio.loads_fast(s.content or b"{}") for s in found.included if s.res_type == "Encounter"}
    groups: dict[str, dict[str, Any]] = {}
    grand = Decimal(0)
    for s in found.matches:
        item = jsonio.loads_fast(s.content or b"{}")
        price = Decimal(str((item.get("priceOverride") or {}).get("value", 0)))
        quantity = Decimal(str((item.get("quantity") or {}).get("value", 1)))
        amount = price * quantity
        grand += amount
        visit = str((item.get("context") or {}).get("reference", "")).removeprefix("Encounter/") or "—"
        if visit not in groups:
            enc = encounters.get(visit, {})
            start = str((enc.get("period") or {}).get("start", ""))
            groups[visit] = {
                "encounter": visit,
                "start": short_time(start) if start else "",
                "class": str((enc.get("class") or {}).get("code", "")),
                "items": [],
                "total": Decimal(0),
            }
        group = groups[visit]
        group["items"].append(
            {
                "id": s.res_id,
                "what": text_of(item.get("code")),
                "when": when_of(item) or short_time(str(item.get("occurrenceDateTime", ""))),
                "price": f"{price:.2f}",
                "quantity": f"{quantity.normalize():f}",
                "amount": f"{amount:.2f}",
                "status": item.get("status", ""),
            }
        )
        group["total"] += amount
    for group in groups.values():
        group["total"] = f"{group['total']:.2f}"
    return {"bill_groups": list(groups.values()), "grand_total": f"{grand:.2f}", "truncated": found.has_more}


_MESSAGES = {
    "booked": ("预约成功", "Booked"),
    "changed": ("已改约", "Appointment changed"),
    "cancelled": ("已取消", "Cancelled"),
    "checked_in": ("签到成功", "Checked in"),
    "thanks": ("感谢您的评价", "Thank you for your answers"),
}


def message_text(request: Request, key: str) -> str:
    """The confirmation shown after an action, in the request's language."""
    zh, en = _MESSAGES[key]
    return en if language(request) == "en" else zh


def portal_context(request: Request, actor: Actor, patient_id: str, section: str) -> dict[str, Any]:
    """What every portal page's template needs: the patient, the tab, the demo query string, formatters."""
    return {
        "patient_id": patient_id,
        "section": section,
        "qs": f"?patient={patient_id}" if actor.kind is ActorKind.DEVELOPMENT else "",
        "short_time": short_time,
        "text_of": text_of,
        "value_of": value_of,
    }


def _page(request: Request, services: Services, actor: Actor, message: str | None = None, *, page: int = 0) -> Response:
    patient_id = patient_of(actor, request)
    data = overview(services, actor, patient_id, page=max(page, 0))
    return render(
        request,
        "portal/home.html",
        {**data, **portal_context(request, actor, patient_id, "home"), "message": message, "questions": QUESTIONS},
        actor=actor,
    )


@router.get("")
def home(request: Request, services: ServicesDep, actor: PageActor, page: int = 0) -> Response:
    """The patient's home: appointments, booking, reports, survey."""
    require_area(actor, "portal")
    return _page(request, services, actor, page=page)


@router.get("/visits")
def visits_page(request: Request, services: ServicesDep, actor: PageActor, page: int = 0) -> Response:
    """Visit summaries: encounters with department, diagnoses and operations."""
    require_area(actor, "portal")
    patient_id = patient_of(actor, request)
    data = visits(services, actor, patient_id, page=max(page, 0))
    return render(
        request, "portal/visits.html", {**data, **portal_context(request, actor, patient_id, "visits")}, actor=actor
    )


@router.get("/bills")
def bills_page(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """Charges by visit with totals."""
    require_area(actor, "portal")
    patient_id = patient_of(actor, request)
    data = bills(services, actor, patient_id)
    return render(
        request, "portal/bills.html", {**data, **portal_context(request, actor, patient_id, "bills")}, actor=actor
    )


@router.post("/book")
async def book_form(request: Request, services: ServicesDep, actor: PageActor, slot_id: str = Form(...)) -> Response:
    require_area(actor, "portal")
    pid = patient_of(actor, request)
    await run_in_threadpool(book, services, actor, pid, slot_id)
    return await run_in_threadpool(_page, request, services, actor, message_text(request, "booked"))


@router.post("/appointments/{appt_id}/cancel")
async def cancel_form(appt_id: str, request: Request, services: ServicesDep, actor: PageActor) -> Response:
    require_area(actor, "portal")
    await run_in_threadpool(cancel, services, actor, patient_of(actor, request), appt_id)
    return await run_in_threadpool(_page, request, services, actor, message_text(request, "cancelled"))


@router.post("/appointments/{appt_id}/change")
async def change_form(
    appt_id: str, request: Request, services: ServicesDep, actor: PageActor, slot_id: str = Form(...)
) -> Response:
    require_area(actor, "portal")
    await run_in_threadpool(change, services, actor, patient_of(actor, request), appt_id, slot_id)
    return await run_in_threadpool(_page, request, services, actor, message_text(request, "changed"))


@router.post("/appointments/{appt_id}/check-in")
async def check_in_form(appt_id: str, request: Request, services: ServicesDep, actor: PageActor) -> Response:
    require_area(actor, "portal")
    await run_in_threadpool(check_in, services, actor, patient_of(actor, request), appt_id)
    return await run_in_threadpool(_page, request, services, actor, message_text(request, "checked_in"))


@router.post("/survey")
async def survey_form(
    request: Request,
    services: ServicesDep,
    actor: PageActor,
    overall: int = Form(...),
    waiting: int = Form(...),
    doctor: int = Form(...),
) -> Response:
    require_area(actor, "portal")
    scores = {"overall": overall, "waiting": waiting, "doctor": doctor}
    if any(not 1 <= v <= 5 for v in scores.values()):
        raise errors.invalid("each answer is a score from 1 to 5")
    await run_in_threadpool(answer_survey, services, actor, patient_of(actor, request), scores)
    return await run_in_threadpool(_page, request, services, actor, message_text(request, "thanks"))
