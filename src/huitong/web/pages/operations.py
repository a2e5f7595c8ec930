"""Operations board: bed occupancy by ward, outpatient flow by hour, appointment rate and waiting time,
operating-theatre utilisation, links to the integration and quality boards.

Managers and operations staff see aggregates, not records (``security/roles.py`` gives them no patient reach).
The board therefore counts as the system actor ``system:operations-board`` *on behalf of* the signed-in user,
so the audit trail names both, and shows only counts, minutes and rates — never a patient.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from huitong.clinical.visits import day_figures
from huitong.deps import ServicesDep
from huitong.fhir import errors, jsonio
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry
from huitong.services import Services
from huitong.times import CHINA
from huitong.web.access import PageActor, require_area
from huitong.web.pages.nurse import bed_board, china_day_bounds, every
from huitong.web.render import render, script_json

router = APIRouter(prefix="/operations", include_in_schema=False)
THEATRE_TYPE = "urn:huitong:location-type|theatre"
SESSION_MINUTES = 480  # a theatre's planned session per working day (08:00–16:00), the utilisation denominator
UNASSIGNED = "—"


def aggregate_actor(actor: Actor) -> Actor:
    """The system actor that counts for the board, on behalf of the signed-in user."""
    return replace(
        Actor.system("operations-board", source_address=actor.source_address),
        on_behalf_of=actor.id,
        request_id=actor.request_id,
    )


def _minutes(period: dict[str, Any]) -> tuple[datetime, float] | None:
    try:
        start = datetime.fromisoformat(str(period["start"]).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(period["end"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        return None
    return start.astimezone(CHINA), (end - start).total_seconds() / 60


def theatre_utilisation(services: Services, actor: Actor, last_day: date, days: int) -> dict[str, Any]:
    """Operating minutes per theatre over ``days`` days ending ``last_day`` against the planned sessions.

    Operations are Procedures with a ``performedPeriod``; each counts for the theatre in its ``location`` (those
    without one are listed as unassigned and count only in the hospital-wide rate).
    """
    first = last_day - timedelta(days=days - 1)
    theatres = services.search.search(actor, "Location", [("type", THEATRE_TYPE), ("_sort", "name"), ("_count", "200")])
    names = {s.res_id: jsonio.loads_fast(s.content or b"{}").get("name", s.res_id) for s in theatres.matches}
    starts, _ = china_day_bounds(first.isoformat())
    _, ends = china_day_bounds(last_day.isoformat())
    found = every(services, actor, "Procedure", [("date", starts), ("date", ends)])  # started in the days
    per: dict[str, dict[str, Any]] = {tid: {"cases": 0, "minutes": 0.0, "first": None} for tid in names}
    daily: dict[str, float] = defaultdict(float)
    for s in found:
        body = jsonio.loads_fast(s.content or b"{}")
        timing = _minutes(body.get("performedPeriod") or {})
        if timing is None or not first <= timing[0].date() <= last_day:
            continue
        start, minutes = timing
        room = str((body.get("location") or {}).get("reference", "")).removeprefix("Location/")
        row = per.setdefault(room if room in names else UNASSIGNED, {"cases": 0, "minutes": 0.0, "first": None})
        row["cases"] += 1
        row["minutes"] += minutes
        row["first"] = min(row["first"] or start.strftime("%H:%M"), start.strftime("%H:%M"))
        daily[start.date().isoformat()] += minutes
    available = SESSION_MINUTES * days
    rows = [
        {
            "theatre": names.get(tid, UNASSIGNED),
            "cases": row["cases"],
            "minutes": round(row["minutes"]),
            "rate": round(100 * row["minutes"] / available, 1) if tid in names else None,
            "first": row["first"] or "",
        }
        for tid, row in per.items()
    ]
    total = sum(r["minutes"] for r in per.values())
    capacity = available * len(names)
    return {
        "rows": rows,
        "first": first.isoformat(),
        "last": last_day.isoformat(),
        "days": days,
        "cases": sum(r["cases"] for r in per.values()),
        "rate": round(100 * total / capacity, 1) if capacity else None,
        "daily": [
            (
                d.isoformat(),
                round(100 * daily.get(d.isoformat(), 0.0) / (SESSION_MINUTES * len(names)), 1) if names else 0.0,
            )
            for d in (first + timedelta(days=i) for i in range(days))
        ],
    }


def visit_figures(services: Services, actor: Actor, day: date) -> dict[str, Any]:
    """The outpatient visits of ``day`` (China time) by hour, how many came from an appointment and their waiting
    times, from the visit rows the write hook keeps (``clinical/visits.py``): one grouped indexed query instead of
    reading the day's Encounters. Audited as a search of Encounters by ``actor``."""
    entry = AuditEntry("search-type", entity_type="Encounter", query=f"class=AMB&date={day.isoformat()}&_summary=day")

    def work() -> dict[str, Any]:
        services.store.check_search(actor, "Encounter")
        with services.db.read() as conn:
            return day_figures(conn, day.isoformat())

    return services.store.audited_read(actor, entry, work)


def appointment_figures(services: Services, actor: Actor, day: date, visits: dict[str, Any]) -> dict[str, Any]:
    """The day's appointments by status, the appointment rate and the waiting time of outpatient visits.

    Appointment rate (预约诊疗率) = outpatient visits that came from an appointment (``Encounter.appointment``) ÷ all
    outpatient visits of the day. Waiting time = from arrival (status ``arrived``) to the start of the consultation
    (``in-progress``) in the Encounter's ``statusHistory``; the median over the visits that record both.
    ``visits``: the day's :func:`visit_figures`.
    """
    starts, ends = china_day_bounds(day.isoformat())
    appts = every(services, actor, "Appointment", [("date", starts), ("date", ends)])
    statuses: Counter[str] = Counter(str(jsonio.loads_fast(s.content or b"{}").get("status", "")) for s in appts)
    total, booked, median = visits["visits"], visits["booked"], visits["wait_median"]
    return {
        "appointments": dict(statuses),
        "appointment_count": sum(statuses.values()),
        "visits": total,
        "rate": round(100 * booked / total, 1) if total else None,
        "wait_median": round(float(median), 1) if median is not None else None,
        "wait_count": visits["wait_count"],
    }


def occupancy(wards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Occupied / total beds per ward."""
    out = []
    for ward in wards:
        total = len(ward["beds"])
        used = sum(1 for b in ward["beds"] if b["state"] == "occupied")
        out.append(
            {
                "ward": ward["name"],
                "occupied": used,
                "total": total,
                "rate": round(100 * used / total, 1) if total else 0.0,
            }
        )
    return out


def _day(text: str | None) -> date:
    if not text:
        return datetime.now(CHINA).date()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise errors.invalid(f"day {text!r} is not a date; use YYYY-MM-DD") from exc


@router.get("")
def board(request: Request, services: ServicesDep, actor: PageActor, day: str | None = None) -> Response:
    """Hospital-wide occupancy, the outpatient flow of ``day`` and theatre utilisation of the week ending then."""
    require_area(actor, "operations")
    shown = _day(day)
    system = aggregate_actor(actor)
    every_ward = occupancy(bed_board(services, system))
    rows = [r for r in every_ward if r["total"]]  # wards with beds; the others are named below the table
    no_beds = [r["ward"] for r in every_ward if not r["total"]]
    visits = visit_figures(services, system, shown)
    flow = visits["hours"]
    theatres = theatre_utilisation(services, system, shown, 7)
    appointments = appointment_figures(services, system, shown, visits)
    occupancy_data = {"labels": [r["ward"] for r in rows], "values": [r["rate"] for r in rows], "max": 100}
    theatre_data = {
        "labels": [d for d, _ in theatres["daily"]],
        "values": [v for _, v in theatres["daily"]],
    }
    return render(
        request,
        "operations/board.html",
        {
            "rows": rows,
            "no_beds": no_beds,
            "flow": flow,
            "day": shown.isoformat(),
            "theatres": theatres,
            "appointments": appointments,
            "occupancy_json": script_json(occupancy_data),
            "flow_json": script_json({"values": flow}),
            "theatre_json": script_json(theatre_data),
        },
        actor=actor,
    )
