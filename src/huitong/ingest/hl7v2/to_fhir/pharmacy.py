"""RDE^O11 → MedicationRequest per order (ORC + RXE + RXR + TQ1), RAS^O17 → MedicationAdministration per
RXA (IG sheets ORC/RXO/RXR[MedicationRequest], ORC[MedicationAdministration]).

Ids: the MedicationRequest by placer order number (ORC-2), else filler (ORC-3), else RXE-15 (prescription
number); an administration by its order and RXA-1/RXA-2 (sub-id, administration number), so that the RAS
of an order refers to the MedicationRequest the RDE produced.
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
from huitong.ingest.hl7v2.to_fhir.units import decimal, quantity

# ORC-5 (order status, table 0038) and ORC-1 (order control, table 0119) → MedicationRequest.status
_ORDER_STATUS = {"A": "active", "IP": "active", "SC": "active", "CM": "completed", "CA": "cancelled",
                 "DC": "stopped", "HD": "on-hold", "ER": "entered-in-error"}  # fmt: skip
_ORDER_CONTROL = {"NW": "active", "OK": "active", "SC": "active", "XO": "active", "XX": "active", "RO": "active",
                  "RP": "active", "CA": "cancelled", "CR": "cancelled", "OC": "cancelled", "OD": "stopped",
                  "DC": "stopped", "DR": "stopped", "HD": "on-hold", "OH": "on-hold", "HR": "on-hold"}  # fmt: skip
# RXA-20 (completion status, table 0322) → MedicationAdministration.status
_COMPLETION = {"CP": "completed", "PA": "in-progress", "RE": "not-done", "NA": "not-done"}


def _context(ctx: MapContext) -> tuple[dict[str, str], PatientFacts, dict[str, str] | None]:
    pid = ctx.msg.segment("PID")
    if pid is None:
        raise MappingError(f"{ctx.msg.message_type} has no PID segment: the order has no patient", location="PID")
    patient, facts = map_patient(pid, ctx, ctx.msg.segment("PD1"))
    pv1 = ctx.msg.segment("PV1")
    if pv1 is None:
        return patient, facts, None
    return patient, facts, map_encounter(pv1, ctx, patient, pid=pid)


def _groups(ctx: MapContext, main: str) -> list[dict[str, Segment]]:
    """ORC-led groups: each ORC with the pharmacy segments after it, keyed by name (first of each)."""
    groups: list[dict[str, Segment]] = []
    for seg in ctx.msg.segment_list:
        if seg.name == "ORC":
            groups.append({"ORC": seg})
        elif seg.name in (main, "RXO", "RXR", "TQ1", "RXC", "RXE", "RXA") and groups:
            groups[-1].setdefault(seg.name, seg)
        elif seg.name == main:
            groups.append({main: seg})
    return groups


def request_id(orc: Segment | None, rxe: Segment | None) -> str | None:
    """The MedicationRequest id of an order; ``None`` when it has no number."""
    for seg, n, kind in ((orc, 2, "placer"), (orc, 3, "filler"), (rxe, 15, "prescription")):
        if seg is not None and seg.get(n).strip():
            return stable_id("MedicationRequest", kind, *dt.ei_key(seg.field(n)))
    return None


def map_rde(ctx: MapContext) -> PatientFacts:
    """RDE^O11: one MedicationRequest per ORC/RXE group."""
    patient, facts, encounter = _context(ctx)
    made = 0
    for group in _groups(ctx, "RXE"):
        orc, rxe = group.get("ORC"), group.get("RXE")
        rid = request_id(orc, rxe)
        if rid is None:
            ctx.warn("an order has no placer (ORC-2), filler (ORC-3) or prescription number (RXE-15); left out")
            continue
        medication = (dt.codeable(rxe.field(2), ctx) if rxe is not None else None) or (
            dt.codeable(group["RXO"].field(1), ctx) if "RXO" in group else None
        )
        if medication is None:
            raise MappingError("RXE-2 (give code) is empty: the medication is not named", location="RXE-2")
        request: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "id": rid,
            "status": _status(orc),
            "intent": "order",
            "medicationCodeableConcept": medication,
            "subject": patient,
        }
        identifiers = [
            i for i in (dt.entity_identifier(orc.field(n), ctx, k) for n, k in ((2, "PLAC"), (3, "FILL"))) if i
        ] if orc is not None else []  # fmt: skip
        if identifiers:
            request["identifier"] = identifiers
        if encounter is not None:
            request["encounter"] = encounter
        if orc is not None:
            authored = dt.date_time(orc.get(9), ctx)
            if authored:
                request["authoredOn"] = authored
            requester = dt.practitioner(orc.field(12), ctx)
            if requester:
                request["requester"] = requester
            if orc.get(4).strip():
                request["groupIdentifier"] = dt.entity_identifier(orc.field(4), ctx, "PGN")
        if rxe is not None:
            dosage = _dosage(rxe, group.get("RXR"), group.get("TQ1"), ctx)
            if dosage:
                request["dosageInstruction"] = [dosage]
            dispense = _dispense(rxe)
            if dispense:
                request["dispenseRequest"] = dispense
        ctx.add(request)
        made += 1
    if not made:
        raise MappingError("RDE^O11 has no order with an RXE and an order number", location="RXE")
    return facts


def _status(orc: Segment | None) -> str:
    if orc is None:
        return "active"
    return _ORDER_STATUS.get(orc.get(5).strip().upper()) or _ORDER_CONTROL.get(orc.get(1).strip().upper(), "unknown")


def _dosage(rxe: Segment, rxr: Segment | None, tq1: Segment | None, ctx: MapContext) -> dict[str, Any]:
    dosage: dict[str, Any] = {}
    texts = [f.get(2) or f.get(1) for f in rxe.repetitions(7)]
    text = "; ".join(t for t in texts if t.strip())
    if text:
        dosage["text"] = text
    pattern = dt.token(tq1.get("3.1") if tq1 is not None else rxe.get("1.2"))  # TQ1-3, else RXE-1 (TQ)
    if pattern:
        dosage["timing"] = {"code": {"coding": [{"system": vocabulary.V2_SYSTEM + "0335", "code": pattern}]}}
    if rxr is not None:
        route = dt.codeable(rxr.field(1), ctx, table="0162")
        if route:
            dosage["route"] = route
        site = dt.codeable(rxr.field(2), ctx, table="0163")
        if site:
            dosage["site"] = site
    dose = quantity(rxe.get(3), rxe.field(5))
    if dose:
        dosage["doseAndRate"] = [{"doseQuantity": dose}]
    return dosage


def _dispense(rxe: Segment) -> dict[str, Any]:
    dispense: dict[str, Any] = {}
    amount = quantity(rxe.get(10), rxe.field(11))
    if amount:
        dispense["quantity"] = amount
    refills = decimal(rxe.get(12))
    if isinstance(refills, int) and refills >= 0:
        dispense["numberOfRepeatsAllowed"] = refills
    return dispense


def map_ras(ctx: MapContext) -> PatientFacts:
    """RAS^O17: one MedicationAdministration per RXA, referring to its order's MedicationRequest."""
    patient, facts, encounter = _context(ctx)
    made = 0
    orc: Segment | None = None
    rxas: list[tuple[Segment | None, Segment, Segment | None]] = []
    for seg in ctx.msg.segment_list:
        if seg.name == "ORC":
            orc = seg
        elif seg.name == "RXA":
            rxas.append((orc, seg, None))
        elif seg.name == "RXR" and rxas and rxas[-1][2] is None:
            rxas[-1] = (rxas[-1][0], rxas[-1][1], seg)
    for orc_seg, rxa, rxr in rxas:
        request = request_id(orc_seg, None)
        medication = dt.codeable(rxa.field(5), ctx)
        if medication is None:
            raise MappingError("RXA-5 (administered code) is empty", location="RXA-5")
        start, end = dt.date_time(rxa.get(3), ctx), dt.date_time(rxa.get(4), ctx)
        if start is None:
            raise MappingError("RXA-3 (start of administration) is empty or not a date/time", location="RXA-3")
        key = request or stable_id("ras", ctx.facility, ctx.msg.control_id)
        admin: dict[str, Any] = {
            "resourceType": "MedicationAdministration",
            "id": stable_id("MedicationAdministration", key, rxa.get(1).strip(), rxa.get(2).strip()),
            "status": _COMPLETION.get(rxa.get(20).strip().upper(), "completed"),
            "medicationCodeableConcept": medication,
            "subject": patient,
        }
        if rxa.get(21).strip().upper() == "D":
            admin["status"] = "entered-in-error"
        if encounter is not None:
            admin["context"] = encounter
        if end and end != start:
            admin["effectivePeriod"] = {"start": start, "end": end}
        else:
            admin["effectiveDateTime"] = start
        performers = [r for r in (dt.practitioner(x, ctx) for x in rxa.repetitions(10)) if r]
        if performers:
            admin["performer"] = [{"actor": r} for r in performers]
        if request is not None:
            admin["request"] = {"reference": f"MedicationRequest/{request}"}
        dosage: dict[str, Any] = {}
        dose = quantity(rxa.get(6), rxa.field(7))
        if dose:
            dosage["dose"] = dose
        if rxr is not None:
            route = dt.codeable(rxr.field(1), ctx, table="0162")
            if route:
                dosage["route"] = route
        if dosage:
            admin["dosage"] = dosage
        ctx.add(admin)
        made += 1
    if not made:
        raise MappingError("RAS^O17 has no RXA segment: no administration to map", location="RXA")
    return facts
