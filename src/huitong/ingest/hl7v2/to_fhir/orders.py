"""ORM^O01 and OML^O21 → ServiceRequest per order (IG sheets ORC[ServiceRequest], OBR[ServiceRequest]).

The ServiceRequest id comes from the placer order number (ORC-2, else OBR-2), else the filler order
number (ORC-3, else OBR-3) — the same id an ORU for the order refers to. Status: ORC-5 (order status)
when sent, else the IG's map of ORC-1 (order control); intent ``order``.
"""

from __future__ import annotations

from typing import Any

from huitong.ingest.errors import MappingError
from huitong.ingest.hl7v2.message import Segment
from huitong.ingest.hl7v2.to_fhir import datatypes as dt
from huitong.ingest.hl7v2.to_fhir import vocabulary
from huitong.ingest.hl7v2.to_fhir.context import MapContext, stable_id
from huitong.ingest.hl7v2.to_fhir.encounter import map_encounter
from huitong.ingest.hl7v2.to_fhir.patient import PatientFacts, map_patient

# ORC-5 (table 0038) → request-status
ORDER_STATUS = {
    "A": "active", "CA": "revoked", "CM": "completed", "DC": "revoked", "ER": "entered-in-error",
    "HD": "on-hold", "IP": "active", "RP": "revoked", "SC": "active",
}  # fmt: skip
_PRIORITY = {"S": "stat", "A": "asap", "R": "routine", "P": "routine", "T": "urgent", "C": "urgent"}


def order_numbers(obr: Segment | None, orc: Segment | None) -> tuple[tuple[str, str], tuple[str, str]]:
    """((namespace, placer number), (namespace, filler number)) from ORC, else OBR."""

    def pick(n: int) -> tuple[str, str]:
        for seg in (orc, obr):
            if seg is not None and seg.get(n).strip():
                return dt.ei_key(seg.field(n))
        return ("", "")

    return pick(2), pick(3)


def request_id(obr: Segment | None, orc: Segment | None, ctx: MapContext) -> str | None:
    """The ServiceRequest id for an order, ``None`` when it has neither placer nor filler number."""
    placer, filler = order_numbers(obr, orc)
    if placer[1]:
        return stable_id("ServiceRequest", "placer", *placer)
    if filler[1]:
        return stable_id("ServiceRequest", "filler", *filler)
    return None


def map_service_request(
    obr: Segment | None,
    orc: Segment | None,
    ctx: MapContext,
    patient: dict[str, str],
    encounter: dict[str, str] | None,
    *,
    status: str | None = None,
) -> dict[str, str] | None:
    """Add the ServiceRequest of an ORC/OBR pair; ``None`` (with a warning) when the order has no number."""
    rid = request_id(obr, orc, ctx)
    if rid is None:
        ctx.warn("an order has neither placer (ORC-2/OBR-2) nor filler (ORC-3/OBR-3) number: no ServiceRequest")
        return None
    code = dt.codeable(obr.field(4), ctx) if obr is not None else None
    if code is None and orc is not None:
        code = dt.codeable(orc.field(16), ctx)
    if status is None:
        status = _status(orc)
    resource: dict[str, Any] = {"resourceType": "ServiceRequest", "id": rid, "status": status, "intent": "order"}
    identifiers = []
    for n, kind in ((2, "PLAC"), (3, "FILL")):
        seg = orc if orc is not None and orc.get(n).strip() else obr
        ident = dt.entity_identifier(seg.field(n), ctx, kind) if seg is not None else None
        if ident:
            identifiers.append(ident)
    group = orc.field(4) if orc is not None else None
    if identifiers:
        resource["identifier"] = identifiers
    if group is not None and group.get(1).strip():
        resource["requisition"] = dt.entity_identifier(group, ctx, "PGN")
    if code is not None:
        resource["code"] = code
    resource["subject"] = patient
    if encounter is not None:
        resource["encounter"] = encounter
    priority = _PRIORITY.get(
        ((obr.get(5) if obr is not None else "") or (orc.get("7.6") if orc is not None else "")).strip()[:1].upper()
    )
    if priority:
        resource["priority"] = priority
    authored = dt.date_time(orc.get(9), ctx) if orc is not None else None
    if authored:
        resource["authoredOn"] = authored
    requester_field = (
        orc.field(12) if orc is not None and orc.get(12).strip() else (obr.field(16) if obr is not None else None)
    )
    requester = dt.practitioner(requester_field, ctx) if requester_field is not None else None
    if requester:
        resource["requester"] = requester
    when = dt.date_time(obr.get(7), ctx) if obr is not None else None
    if when:
        resource["occurrenceDateTime"] = when
    reasons = [c for c in (dt.codeable(f, ctx) for f in obr.repetitions(31))] if obr is not None else []
    reasons = [c for c in reasons if c]
    if reasons:
        resource["reasonCode"] = reasons
    return ctx.add(resource)


def _status(orc: Segment | None) -> str:
    if orc is None:
        return "active"
    order_status = orc.get(5).strip().upper()
    if order_status in ORDER_STATUS:
        return ORDER_STATUS[order_status]
    return vocabulary.target("order_control_status", orc.get(1).strip().upper()) or "unknown"


def map_orders(ctx: MapContext) -> PatientFacts:
    """ORM^O01 / OML^O21: one ServiceRequest per ORC (with the OBR that follows it, if any)."""
    pid = ctx.msg.segment("PID")
    if pid is None:
        raise MappingError(f"{ctx.msg.message_type} has no PID segment: the order has no patient", location="PID")
    patient, facts = map_patient(pid, ctx, ctx.msg.segment("PD1"))
    encounter = None
    pv1 = ctx.msg.segment("PV1")
    if pv1 is not None:
        encounter = map_encounter(pv1, ctx, patient, pid=pid)
    pairs: list[tuple[Segment | None, Segment | None]] = []
    for seg in ctx.msg.segment_list:
        if seg.name == "ORC":
            pairs.append((seg, None))
        elif seg.name == "OBR":
            if pairs and pairs[-1][1] is None:
                pairs[-1] = (pairs[-1][0], seg)
            else:
                pairs.append((None, seg))
    if not pairs:
        raise MappingError(f"{ctx.msg.message_type} has no ORC or OBR segment: there is no order", location="ORC")
    produced = 0
    for orc, obr in pairs:
        if map_service_request(obr, orc, ctx, patient, encounter) is not None:
            produced += 1
    if not produced:
        raise MappingError("no order has a placer or filler number (ORC-2/ORC-3, OBR-2/OBR-3)", location="ORC-2")
    return facts
