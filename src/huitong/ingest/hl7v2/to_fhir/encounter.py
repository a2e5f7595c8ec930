"""PV1 (with PV2) → Encounter (PV1[Encounter] sheet of the IG): class, status, period, locations, participants.

The Encounter id comes from the visit number (PV1-19), else the patient account number (PID-18), else
the patient and admit time; with none of these no Encounter is produced (a warning says so).
"""

from __future__ import annotations

from typing import Any

from huitong.ingest.hl7v2.message import Segment
from huitong.ingest.hl7v2.to_fhir import datatypes as dt
from huitong.ingest.hl7v2.to_fhir import vocabulary
from huitong.ingest.hl7v2.to_fhir.context import MapContext, stable_id

_PARTICIPANTS = ((7, "ATND", "attender"), (8, "REF", "referrer"), (9, "CON", "consultant"), (17, "ADM", "admitter"))
_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_UNKNOWN_CLASS = {"system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "code": "UNK", "display": "unknown"}


def encounter_id(pv1: Segment, pid: Segment | None, patient_id: str, ctx: MapContext) -> str | None:
    """The deterministic Encounter id, or ``None`` when nothing identifies the visit."""
    visit = pv1.field(19)
    if visit.get(1).strip():
        authority = visit.component_field(4)
        return stable_id("Encounter", ctx.facility, visit.get(1).strip(), authority.get(1), authority.get(2))
    account = pid.field(18) if pid is not None else None
    if account is not None and account.get(1).strip():
        return stable_id("Encounter", ctx.facility, "account", account.get(1).strip())
    admitted = pv1.get(44).strip()
    if admitted:
        return stable_id("Encounter", patient_id, "admit", admitted)
    return None


def map_encounter(
    pv1: Segment,
    ctx: MapContext,
    patient: dict[str, str],
    *,
    pid: Segment | None = None,
    pv2: Segment | None = None,
    status: str | None = None,
) -> dict[str, str] | None:
    """Add the Encounter of ``pv1``; return its Reference (``None`` when the visit cannot be identified)."""
    patient_id = patient["reference"].split("/", 1)[1]
    rid = encounter_id(pv1, pid, patient_id, ctx)
    if rid is None:
        ctx.warn("PV1 has no visit number (PV1-19), account number (PID-18) or admit time (PV1-44): no Encounter")
        return None
    patient_class = pv1.get(2).strip().upper()
    concept = vocabulary.concept("patient_class", patient_class) if patient_class else None
    enc_class = {"system": concept[2], "code": concept[0], "display": concept[1]} if concept else _UNKNOWN_CLASS
    if patient_class and not concept:
        ctx.warn(f"PV1-2 patient class {patient_class!r} is not in table 0004; class recorded as unknown")
    start = dt.date_time(pv1.get(44), ctx)
    end = dt.date_time(pv1.get(45), ctx)
    if status is None:
        status = "finished" if end else vocabulary.target("patient_class_status", patient_class) or "unknown"
    if pv2 is not None and status in ("planned", "cancelled"):  # a visit not (or no longer) happening: expected times
        start = start or dt.date_time(pv2.get(8), ctx)
        end = end or dt.date_time(pv2.get(9), ctx)
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": rid,
        "status": status,
        "class": enc_class,
        "subject": patient,
    }
    visit = dt.identifier(pv1.field(19), ctx, default_type="VN")
    if visit:
        resource["identifier"] = [visit]
    admission_type = dt.codeable(pv1.field(4), ctx, table="0007")
    if admission_type:
        resource["type"] = [admission_type]
    service = dt.codeable(pv1.field(10), ctx, table="0069")
    if service:
        resource["serviceType"] = service
    period = {k: v for k, v in (("start", start), ("end", end if status != "in-progress" else None)) if v}
    if period:
        resource["period"] = period
    participants = []
    for n, code, shown in _PARTICIPANTS:
        for xcn in pv1.repetitions(n):
            ref = dt.practitioner(xcn, ctx)
            if ref:
                kind = {"coding": [{"system": _PARTICIPATION, "code": code, "display": shown}]}
                participants.append({"type": [kind], "individual": ref})
    if participants:
        resource["participant"] = participants
    locations = []
    current = dt.location(pv1.field(3), ctx)
    if current:
        locations.append({"location": current, "status": "completed" if status == "finished" else "active"})
    prior = dt.location(pv1.field(6), ctx)
    if prior and prior != current:
        locations.append({"location": prior, "status": "completed"})
    if locations:
        resource["location"] = locations
    hospitalization: dict[str, Any] = {}
    admit_source = dt.codeable(pv1.field(14), ctx, table="0023")
    if admit_source:
        hospitalization["admitSource"] = admit_source
    discharge = dt.codeable(pv1.field(36), ctx, table="0112")
    if discharge:
        hospitalization["dischargeDisposition"] = discharge
    if hospitalization:
        resource["hospitalization"] = hospitalization
    if pv2 is not None:
        reason = dt.codeable(pv2.field(3), ctx)
        if reason:
            resource["reasonCode"] = [reason]
    return ctx.add(resource)
