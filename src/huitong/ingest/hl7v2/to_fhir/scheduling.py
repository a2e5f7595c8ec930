"""SIU^S12 → Appointment (IG sheets SCH[Appointment], AIS/AIG/AIL/AIP[Appointment]).

The Appointment id comes from the filler appointment id (SCH-2), else the placer one (SCH-1). Status
from SCH-25 (filler status, the IG's map), else ``booked`` (S12 is a new booking). Start and end from
SCH-11 (TQ) or, from v2.5 on, AIS-4 with its duration (AIS-7/AIS-8).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from huitong.ingest.errors import MappingError
from huitong.ingest.hl7v2.message import Segment
from huitong.ingest.hl7v2.to_fhir import datatypes as dt
from huitong.ingest.hl7v2.to_fhir import vocabulary
from huitong.ingest.hl7v2.to_fhir.context import MapContext, stable_id
from huitong.ingest.hl7v2.to_fhir.patient import PatientFacts, map_patient
from huitong.ingest.hl7v2.to_fhir.units import decimal

_MAX_MINUTES = 7 * 24 * 60  # a week: longer "appointments" are data errors
_UNIT_MINUTES = {"S": 1 / 60, "SEC": 1 / 60, "M": 1, "MIN": 1, "H": 60, "HR": 60, "HOUR": 60, "D": 1440, "DAY": 1440}


def map_siu(ctx: MapContext) -> PatientFacts:
    """SIU^S12."""
    sch = ctx.msg.segment("SCH")
    if sch is None:
        raise MappingError("SIU^S12 has no SCH segment", location="SCH")
    pid = ctx.msg.segment("PID")
    if pid is None:
        raise MappingError("SIU^S12 has no PID segment: the appointment has no patient", location="PID")
    patient, facts = map_patient(pid, ctx, ctx.msg.segment("PD1"))
    filler, placer = sch.field(2), sch.field(1)
    source = filler if filler.get(1).strip() else placer
    if not source.get(1).strip():
        raise MappingError("SCH-1 and SCH-2 (appointment ids) are empty", location="SCH-2")
    rid = stable_id("Appointment", "filler" if source is filler else "placer", *dt.ei_key(source))
    status_text = sch.get("25.1").strip()
    status = vocabulary.target("appointment_status", status_text.capitalize()) if status_text else None
    appointment: dict[str, Any] = {"resourceType": "Appointment", "id": rid, "status": status or "booked"}
    identifiers = [
        i for i in (dt.entity_identifier(placer, ctx, "PLAC"), dt.entity_identifier(filler, ctx, "FILL")) if i
    ]
    if identifiers:
        appointment["identifier"] = identifiers
    reason = dt.codeable(sch.field(7), ctx, table="0276")
    if reason:
        appointment["reasonCode"] = [reason]
    kind = dt.codeable(sch.field(8), ctx, table="0277")
    if kind:
        appointment["appointmentType"] = kind
    ais = ctx.msg.segment("AIS")
    if ais is not None:
        service = dt.codeable(ais.field(3), ctx)
        if service:
            appointment["serviceType"] = [service]
    start, end, minutes = _times(sch, ais, ctx)
    start, end = (dt.instant(start, ctx) if start else None), (dt.instant(end, ctx) if end else None)
    if start:
        appointment["start"] = start
    if end:
        appointment["end"] = end
    if minutes:
        appointment["minutesDuration"] = minutes
    if not (start and end) and appointment["status"] not in ("proposed", "cancelled", "waitlist"):
        ctx.warn("the appointment has no start and end time; recorded as proposed")
        appointment["status"] = "proposed"
        appointment.pop("start", None)
        appointment.pop("end", None)
    participants: list[dict[str, Any]] = [{"actor": patient, "status": "accepted"}]
    for aip in ctx.msg.segments("AIP"):
        ref = dt.practitioner(aip.field(3), ctx)
        if ref:
            participant: dict[str, Any] = {"actor": ref, "status": "accepted"}
            role = dt.codeable(aip.field(4), ctx)
            if role:
                participant["type"] = [role]
            participants.append(participant)
    for ail in ctx.msg.segments("AIL"):
        ref = dt.location(ail.field(3), ctx)
        if ref:
            participants.append({"actor": ref, "status": "accepted"})
    appointment["participant"] = participants
    comment = "\n".join(f.text() for seg in ctx.msg.segments("NTE") for f in seg.repetitions(3) if f).strip()
    if comment:
        appointment["comment"] = comment
    ctx.add(appointment)
    return facts


def _times(sch: Segment, ais: Segment | None, ctx: MapContext) -> tuple[str | None, str | None, int | None]:
    """(start, end) as v2 DTM text and the duration in minutes."""
    start, end = sch.get("11.4").strip() or None, sch.get("11.5").strip() or None
    duration = decimal(sch.get(9))
    unit = sch.get("10.1").strip().upper()
    if ais is not None and not start:
        start = ais.get(4).strip() or None
        duration = decimal(ais.get(7)) or duration
        unit = ais.get("8.1").strip().upper() or unit
    minutes = round(duration * _UNIT_MINUTES.get(unit, 1)) if duration and unit in _UNIT_MINUTES else None
    if minutes is not None and not 0 < minutes <= _MAX_MINUTES:
        ctx.warn(f"appointment duration of {minutes} minutes is not plausible; left out")
        minutes = None
    if start and not end and minutes:
        begun = dt.instant(start, ctx)
        if begun:
            try:
                finished = datetime.fromisoformat(begun) + timedelta(minutes=minutes)
                end = finished.strftime("%Y%m%d%H%M%S%z")
            except (ValueError, OverflowError):
                end = None
    return start, end, minutes
