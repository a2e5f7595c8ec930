"""ORU^R01 → DiagnosticReport per OBR, Observation per OBX, the ServiceRequest they fulfil, Patient and
Encounter (IG sheets ORU_R01, OBR[DiagnosticReport], OBX[Observation]).

Ids: the ServiceRequest by placer order number (else filler) — the same id an ORM/OML for the order
produces; the DiagnosticReport by filler order number (else placer, else control id and OBR-1); each
Observation by its report and OBX-1 (set id) and OBX-4 (sub-id).
"""

from __future__ import annotations

from typing import Any

from huitong.ingest.errors import MappingError
from huitong.ingest.hl7v2.message import Segment
from huitong.ingest.hl7v2.to_fhir import datatypes as dt
from huitong.ingest.hl7v2.to_fhir import vocabulary
from huitong.ingest.hl7v2.to_fhir.context import MapContext, stable_id
from huitong.ingest.hl7v2.to_fhir.encounter import map_encounter
from huitong.ingest.hl7v2.to_fhir.observation import map_observation
from huitong.ingest.hl7v2.to_fhir.orders import map_service_request
from huitong.ingest.hl7v2.to_fhir.patient import PatientFacts, map_patient


def map_oru(ctx: MapContext, critical: list[str]) -> PatientFacts:
    """Map an ORU^R01; ids of Observations flagged critical are appended to ``critical``."""
    pid = ctx.msg.segment("PID")
    if pid is None:
        raise MappingError("ORU^R01 has no PID segment: results cannot be attached to a patient", location="PID")
    patient, facts = map_patient(pid, ctx, ctx.msg.segment("PD1"))
    encounter = _encounter(ctx, pid, patient)
    orc: Segment | None = None
    report: dict[str, Any] | None = None
    last_obs: dict[str, Any] | None = None
    for seg in ctx.msg.segment_list:
        if seg.name == "ORC":
            orc = seg
        elif seg.name == "OBR":
            report = _report(seg, orc, ctx, patient, encounter)
            last_obs = None
        elif seg.name == "OBX":
            if report is None:
                ctx.warn(f"OBX {seg.get(1)} comes before any OBR; left out")
                continue
            last_obs = map_observation(
                seg,
                ctx,
                patient,
                encounter,
                critical,
                parent_id=report["id"],
                based_on=report.get("basedOn"),
                default_time=report.get("effectiveDateTime"),
                laboratory=report["code"].get("coding", [{}])[0].get("system") == "http://loinc.org",
            )
            if last_obs is not None:
                report.setdefault("result", []).append({"reference": f"Observation/{last_obs['id']}"})
        elif seg.name == "NTE" and last_obs is not None:
            text = "\n".join(f.text() for f in seg.repetitions(3) if f).strip()
            if text:
                last_obs.setdefault("note", []).append({"text": text})
    if not any(k[0] == "DiagnosticReport" for k in ctx.resources):
        raise MappingError("ORU^R01 has no OBR segment: there is no report to map", location="OBR")
    return facts


def _encounter(ctx: MapContext, pid: Segment, patient: dict[str, str]) -> dict[str, str] | None:
    pv1 = ctx.msg.segment("PV1")
    return map_encounter(pv1, ctx, patient, pid=pid) if pv1 is not None else None


def _report(
    obr: Segment, orc: Segment | None, ctx: MapContext, patient: dict[str, str], encounter: dict[str, str] | None
) -> dict[str, Any]:
    request = map_service_request(obr, orc, ctx, patient, encounter, status="completed")
    filler = obr.field(3) if obr.get(3).strip() else (orc.field(3) if orc is not None else obr.field(3))
    placer = obr.field(2) if obr.get(2).strip() else (orc.field(2) if orc is not None else obr.field(2))
    if filler.get(1).strip():
        rid = stable_id("DiagnosticReport", "filler", *dt.ei_key(filler))
    elif placer.get(1).strip():
        rid = stable_id("DiagnosticReport", "placer", *dt.ei_key(placer))
    else:
        rid = stable_id("DiagnosticReport", ctx.facility, ctx.msg.control_id, obr.get(1))
        ctx.warn(f"OBR {obr.get(1)} has no placer or filler order number; report id taken from MSH-10")
    code = dt.codeable(obr.field(4), ctx)
    if code is None:
        raise MappingError(f"OBR-4 (universal service identifier) of OBR {obr.get(1)} is empty", location="OBR-4")
    status_code = obr.get(25).strip().upper()
    status = vocabulary.target("report_status", status_code) or ("partial" if status_code == "A" else "unknown")
    report: dict[str, Any] = {"resourceType": "DiagnosticReport", "id": rid, "status": status, "code": code}
    identifiers = [
        i for i in (dt.entity_identifier(placer, ctx, "PLAC"), dt.entity_identifier(filler, ctx, "FILL")) if i
    ]
    if identifiers:
        report["identifier"] = identifiers
    if request is not None:
        report["basedOn"] = [request]
    report["subject"] = patient
    if encounter is not None:
        report["encounter"] = encounter
    section = dt.token(obr.get(24))
    if section:
        report["category"] = [{"coding": [vocabulary.v2_coding("0074", section)]}]
    effective = dt.date_time(obr.get(7), ctx)
    if effective:
        report["effectiveDateTime"] = effective
    issued = dt.instant(obr.get(22), ctx)
    if issued:
        report["issued"] = issued
    performers = [r for r in (dt.practitioner(x, ctx) for x in obr.repetitions(32)) if r]
    if performers:
        report["resultsInterpreter"] = performers
    ctx.add(report)
    return report
