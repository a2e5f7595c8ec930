"""Nurse station: the ward's bed board, admissions to a bed, recording vital signs (tasks and the 体温单 chart are
in :mod:`huitong.web.pages.nurse_tasks`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong.deps import ServicesDep
from huitong.fhir import errors, jsonio
from huitong.fhir.stored import StoredResource, instant
from huitong.fhir.transaction import Transaction
from huitong.security.actor import Actor
from huitong.services import Services
from huitong.times import CHINA
from huitong.web.access import PageActor, require_area
from huitong.web.render import render
from huitong.web.view_models import name_of

router = APIRouter(prefix="/nurse", include_in_schema=False)
BED_STATUS = "http://terminology.hl7.org/CodeSystem/v2-0116"
STATUS_CLASS = {"O": "occupied", "U": "free", "K": "cleaning", "C": "reserved", "H": "reserved", "I": "cleaning"}


PAGE_SIZE = 1000  # resources per search page when reading every match of a search


def every(
    services: Services, actor: Actor, rtype: str, pairs: list[tuple[str, str]], *, included: bool = False
) -> list[StoredResource]:
    """Every match of a search (and, with ``included``, the resources its ``_include`` brought), a page of
    ``PAGE_SIZE`` at a time following the next-page cursor (a keyset seek), so nothing is cut off at one page.
    Callers bound the search (one day, the beds of a hospital, the stays in progress)."""
    found: list[StoredResource] = []
    cursor: list[tuple[str, str]] = []
    while True:
        page = services.search.search(actor, rtype, [*pairs, ("_count", str(PAGE_SIZE)), *cursor])
        found.extend(page.matches)
        if included:
            found.extend(page.included)
        if not page.has_more or page.next_cursor is None:
            return found
        cursor = [("_cursor", page.next_cursor)]


def bed_board(services: Services, actor: Actor) -> list[dict[str, Any]]:
    """Wards with their beds and who lies in each (from in-progress inpatient encounters), the wards of the actor's
    department (``managingOrganization``) first, marked ``own``.

    Every Location and every stay in progress the actor reaches is read (page after page: a tertiary hospital
    has thousands of beds), so the board and the occupancy figures built on it are never cut short."""
    locations = every(services, actor, "Location", [("_sort", "name")])
    stays = every(
        services,
        actor,
        "Encounter",
        [("status", "in-progress"), ("class", "IMP"), ("_include", "Encounter:subject")],
        included=True,
    )
    matches = [s for s in stays if s.res_type == "Encounter"]
    patients = {s.res_id: jsonio.loads_fast(s.content or b"{}") for s in stays if s.res_type == "Patient"}
    in_bed: dict[str, dict[str, Any]] = {}
    for s in matches:
        enc = jsonio.loads_fast(s.content or b"{}")
        pid = str((enc.get("subject") or {}).get("reference", "")).removeprefix("Patient/")
        for loc in enc.get("location") or []:
            ref = str((loc.get("location") or {}).get("reference", "")).removeprefix("Location/")
            if ref:
                in_bed[ref] = {"patient_id": pid, "name": name_of(patients.get(pid, {})), "encounter": s.res_id}
    wards: dict[str, dict[str, Any]] = {}
    beds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in locations:
        loc = jsonio.loads_fast(s.content or b"{}")
        kind = {c.get("code") for c in (loc.get("physicalType") or {}).get("coding", [])}
        if "wa" in kind:
            department = str((loc.get("managingOrganization") or {}).get("reference", "")).removeprefix("Organization/")
            own = actor.department is not None and department == actor.department
            wards[s.res_id] = {"id": s.res_id, "name": loc.get("name", s.res_id), "department": department, "own": own}
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
    board = [{**ward, "beds": sorted(beds.get(wid, []), key=lambda b: b["name"])} for wid, ward in wards.items()]
    return sorted(board, key=lambda w: not w["own"])  # the actor's own wards first (stable: by name after that)


def _china_day(text: object) -> str:
    if not isinstance(text, str) or "T" not in text:
        return text[:10] if isinstance(text, str) else ""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(CHINA).date().isoformat()
    except ValueError:
        return ""


def china_day_bounds(day: str) -> tuple[str, str]:
    """``sa…`` and ``lt…`` search values that select what starts on ``day`` (China time): ``low`` in the day.

    Unlike ``ge{day}`` (overlaps the day: every open-ended period too), this is one seek on the date index."""
    first = date.fromisoformat(day)
    before = (first - timedelta(days=1)).isoformat()
    after = (first + timedelta(days=1)).isoformat()
    return f"sa{before}T23:59:59+08:00", f"lt{after}T00:00:00+08:00"


def movements(services: Services, actor: Actor, day: str) -> dict[str, list[dict[str, Any]]]:
    """The day's admissions, transfers and discharges (China time) among the inpatient stays the nurse reaches.

    Three bounded searches: stays that started on the day, stays with a location that started on the day, and
    stays that ended on the day (``ge`` and ``eb`` on the same date: ``period.end`` within the day)."""
    starts, ends = china_day_bounds(day)
    after = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    found: dict[str, StoredResource] = {}
    patients: dict[str, dict[str, Any]] = {}
    for criteria in (
        [("date", starts), ("date", ends)],
        [("location-period", starts), ("location-period", ends)],
        [("date", f"ge{day}T00:00:00+08:00"), ("date", f"eb{after}T00:00:00+08:00")],
    ):
        for s in every(
            services,
            actor,
            "Encounter",
            [("class", "IMP"), *criteria, ("_include", "Encounter:subject")],
            included=True,
        ):
            if s.res_type == "Encounter":
                found[s.res_id] = s
            elif s.res_type == "Patient":
                patients[s.res_id] = jsonio.loads_fast(s.content or b"{}")
    out: dict[str, list[dict[str, Any]]] = {"admissions": [], "transfers": [], "discharges": []}
    for s in found.values():
        enc = jsonio.loads_fast(s.content or b"{}")
        pid = str((enc.get("subject") or {}).get("reference", "")).removeprefix("Patient/")
        period = enc.get("period") or {}
        row = {"patient_id": pid, "name": name_of(patients.get(pid, {})), "encounter": s.res_id}
        places = [loc for loc in enc.get("location") or [] if isinstance(loc, dict)]
        where = next((str((loc.get("location") or {}).get("display", "")) for loc in places), "")
        if _china_day(period.get("start")) == day:
            out["admissions"].append({**row, "where": where, "time": _china_clock(period.get("start"))})
        for loc in places[1:]:
            started = (loc.get("period") or {}).get("start")
            if _china_day(started) == day:
                to = str((loc.get("location") or {}).get("display", ""))
                out["transfers"].append({**row, "where": to, "time": _china_clock(started)})
        if enc.get("status") == "finished" and _china_day(period.get("end")) == day:
            out["discharges"].append({**row, "where": where, "time": _china_clock(period.get("end"))})
    return out


def _china_clock(text: object) -> str:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(CHINA).strftime("%H:%M")
    except ValueError:
        return ""


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


#: Vital signs the nurse records: key → (LOINC, display, UCUM, unit shown, lowest and highest plausible value).
VITALS: dict[str, tuple[str, str, str, str, Decimal, Decimal]] = {
    "temperature": ("8310-5", "Body temperature", "Cel", "°C", Decimal("33"), Decimal("43")),
    "pulse": ("8867-4", "Heart rate", "/min", "次/分", Decimal("20"), Decimal("250")),
    "respiration": ("9279-1", "Respiratory rate", "/min", "次/分", Decimal("4"), Decimal("80")),
    "systolic": ("8480-6", "Systolic blood pressure", "mm[Hg]", "mmHg", Decimal("50"), Decimal("300")),
    "diastolic": ("8462-4", "Diastolic blood pressure", "mm[Hg]", "mmHg", Decimal("20"), Decimal("200")),
}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
VITAL_CATEGORY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ]
}


def _quantity(key: str, number: Decimal) -> dict[str, Any]:
    _loinc, _display, ucum, unit, _low, _high = VITALS[key]
    return {"value": number, "unit": unit, "system": "http://unitsofmeasure.org", "code": ucum}


def _loinc(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]}


def parse_vitals(values: dict[str, str]) -> dict[str, Decimal]:
    """The numbers given, checked against plausible ranges; raises 400 naming the field to correct."""
    numbers: dict[str, Decimal] = {}
    for key, text in values.items():
        if key not in VITALS:
            raise errors.invalid(f"unknown vital sign {key!r}")
        if not text.strip():
            continue
        try:
            number = Decimal(text.strip())
        except InvalidOperation as exc:
            raise errors.invalid(f"{key}: {text!r} is not a number; enter digits such as 37.2") from exc
        low, high = VITALS[key][4], VITALS[key][5]
        if not number.is_finite() or not low <= number <= high:
            raise errors.invalid(f"{key}: {text} is outside {low}–{high} {VITALS[key][3]}; check the reading")
        numbers[key] = number
    if ("systolic" in numbers) != ("diastolic" in numbers):
        raise errors.invalid("blood pressure needs both the systolic and the diastolic value")
    if "systolic" in numbers and numbers["systolic"] <= numbers["diastolic"]:
        raise errors.invalid("the systolic pressure must be higher than the diastolic pressure")
    return numbers


def record_vitals(services: Services, actor: Actor, patient_id: str, values: dict[str, str]) -> int:
    """Store the vital signs given as Observations (category vital-signs, LOINC, UCUM), all in one transaction.

    Blood pressure is one panel Observation (85354-9) with systolic and diastolic components, as the FHIR
    vital-signs profile has it. Returns how many readings were stored; bad input stores nothing.
    """
    numbers = parse_vitals(values)
    services.store.read(actor, "Patient", patient_id)  # the patient exists and is within reach
    now = instant(datetime.now(UTC))
    base: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [VITAL_CATEGORY],
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": now,
    }
    bodies: list[dict[str, Any]] = []
    for key in ("temperature", "pulse", "respiration"):
        if key in numbers:
            loinc, display = VITALS[key][0], VITALS[key][1]
            bodies.append({**base, "code": _loinc(loinc, display), "valueQuantity": _quantity(key, numbers[key])})
    if "systolic" in numbers:
        bodies.append(
            {
                **base,
                "code": _loinc(*BP_PANEL),
                "component": [
                    {"code": _loinc(VITALS[k][0], VITALS[k][1]), "valueQuantity": _quantity(k, numbers[k])}
                    for k in ("systolic", "diastolic")
                ],
            }
        )
    if not bodies:
        return 0

    def work(tx: Transaction) -> int:
        for body in bodies:
            tx.create(body)
        return len(numbers)

    return services.store.transaction(actor, work)


@router.get("")
def station(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """The bed board of the nurse's wards."""
    require_area(actor, "nurse")
    day = datetime.now(CHINA).date().isoformat()
    context = {"wards": bed_board(services, actor), "movements": movements(services, actor, day), "day": day}
    return render(request, "nurse/station.html", {**context, "section": "board"}, actor=actor)


@router.post("/admit")
async def admit_form(
    request: Request, services: ServicesDep, actor: PageActor, patient_id: str = Form(...), bed_id: str = Form(...)
) -> Response:
    """Admit (HTMX form): on success the bed board is re-rendered."""
    require_area(actor, "nurse")
    await run_in_threadpool(admit, services, actor, patient_id.strip(), bed_id)
    wards = await run_in_threadpool(bed_board, services, actor)
    return render(request, "nurse/_board.html", {"wards": wards}, actor=actor)


async def vitals_form_values(
    temperature: str = Form(""),
    pulse: str = Form(""),
    respiration: str = Form(""),
    systolic: str = Form(""),
    diastolic: str = Form(""),
) -> dict[str, str]:
    """The vital-signs form's fields, as :func:`record_vitals` takes them (the bed board's and the chart's form)."""
    return {
        "temperature": temperature,
        "pulse": pulse,
        "respiration": respiration,
        "systolic": systolic,
        "diastolic": diastolic,
    }


VitalsForm = Annotated[dict[str, str], Depends(vitals_form_values)]


@router.post("/vitals/{patient_id}")
async def vitals_form(
    patient_id: str,
    request: Request,
    services: ServicesDep,
    actor: PageActor,
    values: VitalsForm,
) -> Response:
    """Record vital signs (HTMX form)."""
    require_area(actor, "nurse")
    n = await run_in_threadpool(record_vitals, services, actor, patient_id, values)
    return render(request, "nurse/_saved.html", {"count": n}, actor=actor)
