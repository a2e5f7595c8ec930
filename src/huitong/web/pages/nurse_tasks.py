"""Nurse workbench: the shift's task list and the vital-signs chart (体温单) of one patient.

Tasks are derived from the record, not kept in a separate list, so they cannot drift from it:

- **Medication administrations due**: each active inpatient MedicationRequest of a patient in the nurse's beds
  has doses at its ``timing.repeat.timeOfDay`` each day; a dose is done when a MedicationAdministration for
  the request was recorded that day (the n-th administration of the day covers the n-th dose).
- **Vital-sign rounds**: the ward measures at 06:00, 10:00, 14:00 and 18:00 (China time, the classic four
  rounds of the 体温单); a round is due for a patient in bed when no vital sign was recorded since an hour
  before the latest round time.
- **Critical values awaiting acknowledgement** (``clinical/alerts.py``): the ward nurse is usually the first to
  take the laboratory's call; acknowledging writes the same closed-loop Task the doctor's workbench writes.

Everything is read and written through the store as the signed-in nurse, so the patient reach of their
department applies.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong.clinical.alerts import acknowledge, list_alerts
from huitong.deps import ServicesDep
from huitong.fhir import errors, jsonio
from huitong.fhir.stored import StoredResource, instant, moment_of
from huitong.security.actor import Actor
from huitong.services import Services
from huitong.times import CHINA
from huitong.web.access import PageActor, require_area
from huitong.web.pages._patients import patients_of
from huitong.web.pages.nurse import VITALS, VitalsForm, bed_board, every, record_vitals
from huitong.web.render import language, render, script_json
from huitong.web.view_models import age_of, gender_of, name_of, short_time, text_of

router = APIRouter(prefix="/nurse", include_in_schema=False)
ROUNDS = (6, 10, 14, 18)  # vital-sign rounds, hours of the day (China time)
ROUND_GRACE = timedelta(hours=1)  # a reading this long before the round counts for it
SOON = timedelta(hours=2)  # doses due within this time are listed as "due soon"
CODES = {VITALS[k][0]: k for k in VITALS}  # LOINC code → vital-sign key
BP_PANEL = "85354-9"


def _load(content: bytes | None) -> dict[str, Any]:
    body: dict[str, Any] = jsonio.loads_fast(content or b"{}")
    return body


def _moment(text: object) -> datetime | None:
    return moment_of(text, naive=CHINA, need_time=True)


def _occupants(services: Services, actor: Actor) -> dict[str, dict[str, Any]]:
    """Patients in the nurse's beds: patient id → bed, ward, name, encounter."""
    out: dict[str, dict[str, Any]] = {}
    for ward in bed_board(services, actor):
        for bed in ward["beds"]:
            if bed["occupant"]:
                out[bed["occupant"]["patient_id"]] = {**bed["occupant"], "bed": bed["name"], "ward": ward["name"]}
    return out


def _patient_groups(beds: dict[str, dict[str, Any]], size: int = 200) -> list[list[str]]:
    """The patients in the beds, in groups of at most ``size`` (one search each, their ids OR-ed)."""
    ids = sorted(beds)
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _medication_tasks(
    services: Services, actor: Actor, beds: dict[str, dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    day_start = datetime.combine(now.astimezone(CHINA).date(), time(0), CHINA)
    requests: list[StoredResource] = []
    given: list[StoredResource] = []
    for group in _patient_groups(beds):  # only the orders of the patients in the beds, not the whole year's
        subject = ("subject", ",".join(f"Patient/{pid}" for pid in group))
        requests += every(services, actor, "MedicationRequest", [subject, ("status", "active"), ("intent", "order")])
        given += every(
            services, actor, "MedicationAdministration", [subject, ("effective-time", f"ge{instant(day_start)}")]
        )
    done: Counter[str] = Counter()
    for s in given:
        body = _load(s.content)
        if body.get("status") == "completed":
            done[str((body.get("request") or {}).get("reference", "")).removeprefix("MedicationRequest/")] += 1
    tasks = []
    for s in requests:
        rx = _load(s.content)
        pid = str((rx.get("subject") or {}).get("reference", "")).removeprefix("Patient/")
        if pid not in beds:
            continue
        times = sorted(
            t
            for d in rx.get("dosageInstruction") or []
            for t in ((d.get("timing") or {}).get("repeat") or {}).get("timeOfDay") or []
        )
        for n, text in enumerate(times):
            if n < done[s.res_id]:
                continue
            try:
                due = datetime.combine(day_start.date(), time.fromisoformat(text), CHINA)
            except ValueError:
                continue
            tasks.append(
                {
                    "kind": "medication",
                    "id": f"{s.res_id}-{n}",
                    "request_id": s.res_id,
                    "due": due,
                    "state": "overdue" if due <= now else "soon" if due <= now + SOON else "later",
                    "what": text_of(rx.get("medicationCodeableConcept"))
                    if rx.get("medicationCodeableConcept")
                    else str((rx.get("medicationReference") or {}).get("display", "—")),
                    **beds[pid],
                }
            )
    return tasks


def _round_tasks(
    services: Services, actor: Actor, beds: dict[str, dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    local = now.astimezone(CHINA)
    past = [datetime.combine(local.date(), time(h), CHINA) for h in ROUNDS if time(h) <= local.time()]
    if not past:  # before the first round: the last round of yesterday
        past = [datetime.combine(local.date() - timedelta(days=1), time(ROUNDS[-1]), CHINA)]
    current = past[-1]
    found = every(
        services, actor, "Observation", [("category", "vital-signs"), ("date", f"ge{instant(current - ROUND_GRACE)}")]
    )
    measured = {
        str((_load(s.content).get("subject") or {}).get("reference", "")).removeprefix("Patient/") for s in found
    }
    return [
        {
            "kind": "vitals",
            "id": f"vitals-{pid}",
            "patient_id": pid,
            "due": current,
            "state": "overdue",
            "what": "",
            **bed,
        }
        for pid, bed in beds.items()
        if pid not in measured
    ]


def nurse_tasks(services: Services, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """The nurse's open tasks now: doses due, vital-sign rounds, critical values; most urgent first."""
    now = now or datetime.now(UTC)
    beds = _occupants(services, actor)
    tasks = _medication_tasks(services, actor, beds, now) + _round_tasks(services, actor, beds, now)
    order = {"overdue": 0, "soon": 1, "later": 2}
    tasks.sort(key=lambda t: (order[t["state"]], t["due"], t["ward"], t["bed"]))
    alerts = list_alerts(services.store, actor, open_only=True, limit=50)
    unplaced = [a.patient_id for a in alerts if a.patient_id not in beds]  # not in a bed of the nurse's wards
    return {
        "tasks": tasks,
        "alerts": alerts,
        "beds": beds,
        "alert_patients": patients_of(services, actor, unplaced),
        "now": now.astimezone(CHINA),
    }


def give_medication(services: Services, actor: Actor, request_id: str) -> str:
    """Record one dose of an active order as given now (a completed MedicationAdministration)."""
    rx = services.store.read(actor, "MedicationRequest", request_id).resource()
    if rx.get("status") != "active":
        raise errors.conflict(f"order {request_id} is {rx.get('status')}; only active orders are given")
    body: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "status": "completed",
        "subject": rx["subject"],
        "effectiveDateTime": instant(datetime.now(UTC)),
        "request": {"reference": f"MedicationRequest/{request_id}"},
        "performer": [{"actor": {"display": actor.name or actor.id}}],
    }
    for key in ("medicationCodeableConcept", "medicationReference"):
        if key in rx:
            body[key] = rx[key]
    if "encounter" in rx:
        body["context"] = rx["encounter"]
    dosage = next((d.get("text") for d in rx.get("dosageInstruction") or [] if d.get("text")), None)
    if dosage:
        body["dosage"] = {"text": dosage}
    return services.store.create(actor, body).res_id


def vitals_chart(services: Services, actor: Actor, patient_id: str, *, days: int = 7) -> dict[str, Any]:
    """The patient's vital signs of the last ``days`` days: chart series and a table, newest first."""
    patient = services.store.read(actor, "Patient", patient_id).resource()
    since = datetime.now(UTC) - timedelta(days=days)
    found = services.search.search(
        actor,
        "Observation",
        [
            ("patient", f"Patient/{patient_id}"),
            ("category", "vital-signs"),
            ("date", f"ge{instant(since)}"),
            ("_sort", "date"),
            ("_count", "1000"),
        ],
    )
    series: dict[str, list[tuple[str, float]]] = defaultdict(list)
    rows: dict[str, dict[str, str]] = defaultdict(dict)
    for s in found.matches:
        obs = _load(s.content)
        when = _moment(obs.get("effectiveDateTime"))
        if when is None:
            continue
        stamp = when.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
        parts = [(obs.get("code"), obs.get("valueQuantity"))]
        parts += [(c.get("code"), c.get("valueQuantity")) for c in obs.get("component") or []]
        for code, quantity in parts:
            codes = {c.get("code") for c in (code or {}).get("coding") or []}
            key = next((CODES[c] for c in codes if c in CODES), None)
            if key is None or not isinstance(quantity, dict) or "value" not in quantity:
                continue
            value = Decimal(str(quantity["value"]))
            series[key].append((stamp, float(value)))
            rows[stamp][key] = f"{value:f}"
    table = [{"when": stamp, **values} for stamp, values in sorted(rows.items(), reverse=True)]
    return {"patient": patient, "series": dict(series), "rows": table, "days": days, "truncated": found.has_more}


def _chart_labels(lang: str) -> dict[str, str]:
    from huitong.web.i18n import translate

    return {key: translate(key, lang) for key in VITALS}


def _tasks_page(request: Request, services: Services, actor: Actor, message: str | None = None) -> Response:
    data = nurse_tasks(services, actor)
    return render(
        request,
        "nurse/tasks.html",
        {
            **data,
            "message": message,
            "section": "tasks",
            "short_time": short_time,
            "name_of": name_of,
            "gender_of": gender_of,
            "age_of": age_of,
        },
        actor=actor,
    )


@router.get("/tasks")
def tasks_page(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """The shift's task list: doses due, vital-sign rounds, critical values."""
    require_area(actor, "nurse")
    return _tasks_page(request, services, actor)


@router.post("/tasks/medication/{request_id}/given")
async def medication_given(request_id: str, request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """Record a dose as given; the task list is shown again."""
    require_area(actor, "nurse")
    await run_in_threadpool(give_medication, services, actor, request_id)
    message = "已执行给药" if language(request) == "zh" else "Dose recorded as given"
    return await run_in_threadpool(_tasks_page, request, services, actor, message)


@router.post("/tasks/critical/{observation_id}/acknowledge")
async def critical_acknowledged(
    observation_id: str, request: Request, services: ServicesDep, actor: PageActor
) -> Response:
    """The nurse takes the critical value (closed-loop Task with the time to acknowledge)."""
    require_area(actor, "nurse")
    await run_in_threadpool(acknowledge, services.store, actor, observation_id)
    message = "危急值已接收" if language(request) == "zh" else "Critical value acknowledged"
    return await run_in_threadpool(_tasks_page, request, services, actor, message)


def _chart_page(
    request: Request, services: Services, actor: Actor, patient_id: str, days: int, message: str | None = None
) -> Response:
    data = vitals_chart(services, actor, patient_id, days=days)
    lang = language(request)
    chart = {"labels": _chart_labels(lang), "series": data["series"]}
    return render(
        request,
        "nurse/chart.html",
        {
            **data,
            "patient_id": patient_id,
            "message": message,
            "section": "chart",
            "chart_json": script_json(chart),
            "name_of": name_of,
            "age_of": age_of,
            "gender_of": gender_of,
            "vital_keys": list(VITALS),
        },
        actor=actor,
    )


@router.get("/patient/{patient_id}")
def chart_page(patient_id: str, request: Request, services: ServicesDep, actor: PageActor, days: int = 7) -> Response:
    """The 体温单: temperature, pulse, respiration and blood pressure over the last days, and a form to record."""
    require_area(actor, "nurse")
    return _chart_page(request, services, actor, patient_id, min(max(days, 1), 90))


@router.post("/patient/{patient_id}/vitals")
async def chart_record(
    patient_id: str,
    request: Request,
    services: ServicesDep,
    actor: PageActor,
    values: VitalsForm,
) -> Response:
    """Record a set of vital signs from the chart page; the chart is shown again with them."""
    require_area(actor, "nurse")
    n = await run_in_threadpool(record_vitals, services, actor, patient_id, values)
    if n == 0:
        raise errors.invalid("enter at least one vital sign")
    message = f"已保存 {n} 项" if language(request) == "zh" else f"Saved {n} readings"
    return await run_in_threadpool(_chart_page, request, services, actor, patient_id, 7, message)
