"""Operations board: bed occupancy by ward, outpatient flow by hour, links to integration and quality boards."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from huitong.deps import ServicesDep
from huitong.fhir import jsonio
from huitong.security.actor import Actor
from huitong.services import Services
from huitong.web.access import PageActor, require_area
from huitong.web.pages.nurse import bed_board
from huitong.web.render import render, script_json

router = APIRouter(prefix="/operations", include_in_schema=False)
CHINA = timezone(timedelta(hours=8))


def outpatient_flow(services: Services, actor: Actor, day: str) -> list[int]:
    """Outpatient visits that started in each hour of ``day`` (China time)."""
    found = services.search.search(
        actor,
        "Encounter",
        [("class", "AMB"), ("date", f"ge{day}"), ("date", f"lt{day}T23:59:59+08:00"), ("_count", "1000")],
    )
    hours: Counter[int] = Counter()
    for s in found.matches:
        start = (jsonio.loads_fast(s.content or b"{}").get("period") or {}).get("start")
        if isinstance(start, str) and "T" in start:
            hours[datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(CHINA).hour] += 1
    return [hours.get(h, 0) for h in range(24)]


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


@router.get("")
def board(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """Hospital-wide occupancy and today's outpatient flow."""
    require_area(actor, "operations")
    day = datetime.now(CHINA).date().isoformat()
    rows = occupancy(bed_board(services, actor))
    flow = outpatient_flow(services, actor, day)
    occupancy_data = {"labels": [r["ward"] for r in rows], "values": [r["rate"] for r in rows], "max": 100}
    return render(
        request,
        "operations/board.html",
        {
            "rows": rows,
            "flow": flow,
            "day": day,
            "occupancy_json": script_json(occupancy_data),
            "flow_json": script_json({"values": flow}),
        },
        actor=actor,
    )
