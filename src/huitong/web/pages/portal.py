"""Patient portal (mobile-first): book, change or cancel an appointment, check in, read reports, answer the survey.

Reads run as the signed-in patient, so the access policy shows only their own records. Writes that touch shared
resources (a clinic's slots) run as the portal's system actor *on behalf of* the patient, so the audit trail names
both.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
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
from huitong.web.render import render
from huitong.web.view_models import short_time, text_of, value_of

router = APIRouter(prefix="/portal", include_in_schema=False)
SURVEY = "urn:huitong:questionnaire:outpatient-satisfaction"
QUESTIONS = (
    ("overall", "总体满意度", "Overall satisfaction"),
    ("waiting", "候诊时间", "Waiting time"),
    ("doctor", "医生沟通", "Communication with the doctor"),
)


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


def overview(services: Services, actor: Actor, patient_id: str) -> dict[str, Any]:
    """The patient's appointments, free slots to book, and reports."""
    search = services.search
    services.store.read(actor, "Patient", patient_id)
    appts = search.search(
        actor, "Appointment", [("patient", f"Patient/{patient_id}"), ("_sort", "-date"), ("_count", "20")]
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
    return {
        "appointments": [load(s.content or b"{}") for s in appts.matches],
        "slots": [load(s.content or b"{}") for s in slots.matches],
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


def _page(request: Request, services: Services, actor: Actor, message: str | None = None) -> Response:
    patient_id = patient_of(actor, request)
    data = overview(services, actor, patient_id)
    return render(
        request,
        "portal/home.html",
        {
            **data,
            "patient_id": patient_id,
            "message": message,
            "questions": QUESTIONS,
            "short_time": short_time,
            "text_of": text_of,
            "value_of": value_of,
        },
        actor=actor,
    )


@router.get("")
def home(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """The patient's home: appointments, booking, reports, survey."""
    require_area(actor, "portal")
    return _page(request, services, actor)


@router.post("/book")
async def book_form(request: Request, services: ServicesDep, actor: PageActor, slot_id: str = Form(...)) -> Response:
    require_area(actor, "portal")
    pid = patient_of(actor, request)
    await run_in_threadpool(book, services, actor, pid, slot_id)
    return await run_in_threadpool(_page, request, services, actor, "预约成功 Booked")


@router.post("/appointments/{appt_id}/cancel")
async def cancel_form(appt_id: str, request: Request, services: ServicesDep, actor: PageActor) -> Response:
    require_area(actor, "portal")
    await run_in_threadpool(cancel, services, actor, patient_of(actor, request), appt_id)
    return await run_in_threadpool(_page, request, services, actor, "已取消 Cancelled")


@router.post("/appointments/{appt_id}/check-in")
async def check_in_form(appt_id: str, request: Request, services: ServicesDep, actor: PageActor) -> Response:
    require_area(actor, "portal")
    await run_in_threadpool(check_in, services, actor, patient_of(actor, request), appt_id)
    return await run_in_threadpool(_page, request, services, actor, "签到成功 Checked in")


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
    return await run_in_threadpool(_page, request, services, actor, "感谢您的评价 Thank you")
