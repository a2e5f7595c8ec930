"""ADT → Patient and Encounter (IG message sheets ADT_A01, ADT_A02, ADT_A11), and A40 → a pending merge.

Encounter.status by event, as the IG's Event[EncounterStatus] map: A01/A02/A13 ``in-progress``, A03
``finished``, A04/A05 ``planned``, A11 ``cancelled``. A08 (update) carries no status of its own: it is
``finished`` when PV1-45 (discharge time) is sent, else derived from the patient class. A28/A31 (person
information) map the Patient only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from huitong.ingest.errors import MappingError
from huitong.ingest.hl7v2.message import Segment
from huitong.ingest.hl7v2.to_fhir import datatypes as dt
from huitong.ingest.hl7v2.to_fhir.context import MapContext, stable_id
from huitong.ingest.hl7v2.to_fhir.encounter import map_encounter
from huitong.ingest.hl7v2.to_fhir.observation import map_observation
from huitong.ingest.hl7v2.to_fhir.patient import PatientFacts, map_patient

EVENT_STATUS = {
    "A01": "in-progress",
    "A02": "in-progress",
    "A03": "finished",
    "A04": "planned",
    "A05": "planned",
    "A11": "cancelled",
    "A13": "in-progress",
}
ENCOUNTER_EVENTS = frozenset({"A01", "A02", "A03", "A04", "A05", "A08", "A11", "A13"})
PATIENT_EVENTS = frozenset({"A28", "A31"})
EVENTS = ENCOUNTER_EVENTS | PATIENT_EVENTS | {"A40"}


@dataclass
class PendingMerge:
    """An A40: the merged (non-surviving) patient's identifiers are to be merged into the surviving one's.

    Not applied here: the EMPI applies it (or a person reviews it) later.
    """

    surviving_patient_id: str
    surviving_identifiers: list[dict[str, Any]]
    merged_patient_id: str
    merged_identifiers: list[dict[str, Any]]


def _pid(ctx: MapContext) -> Segment:
    pid = ctx.msg.segment("PID")
    if pid is None:
        raise MappingError(f"{ctx.msg.message_type} has no PID segment", location="PID")
    return pid


def map_adt(ctx: MapContext, event: str, critical: list[str]) -> tuple[PatientFacts, PendingMerge | None]:
    """Map an ADT message of ``event``; return the patient facts and, for A40, the pending merge.

    OBX segments (e.g. vital signs at admission) become Observations of the patient and encounter.
    """
    pid = _pid(ctx)
    patient, facts = map_patient(pid, ctx, ctx.msg.segment("PD1"))
    if event == "A40":
        return facts, _merge(ctx, facts)
    if event in PATIENT_EVENTS:
        return facts, None
    pv1 = ctx.msg.segment("PV1")
    if pv1 is None:
        ctx.warn(f"ADT^{event} has no PV1 segment: no Encounter")
        return facts, None
    status = EVENT_STATUS.get(event)
    ref = map_encounter(pv1, ctx, patient, pid=pid, pv2=ctx.msg.segment("PV2"), status=status)
    if ref is not None and event == "A03":
        _discharge_time_from_evn(ctx, ref)
    parent = ref["reference"] if ref is not None else patient["reference"]
    for obx in ctx.msg.segments("OBX"):
        map_observation(obx, ctx, patient, ref, critical, parent_id=parent)
    return facts, None


def _discharge_time_from_evn(ctx: MapContext, ref: dict[str, str]) -> None:
    encounter = ctx.resources[("Encounter", ref["reference"].split("/", 1)[1])]
    if "end" in encounter.get("period", {}):
        return
    when = dt.date_time(ctx.msg.get("EVN-6") or ctx.msg.get("EVN-2"), ctx)
    if when:
        encounter.setdefault("period", {})["end"] = when
        if encounter["period"].get("start", when) > when:
            del encounter["period"]["start"]


def _merge(ctx: MapContext, facts: PatientFacts) -> PendingMerge:
    mrg = ctx.msg.segment("MRG")
    if mrg is None:
        raise MappingError("ADT^A40 has no MRG segment: the patient to merge is not named", location="MRG")
    merged = [i for i in (dt.identifier(cx, ctx) for cx in mrg.repetitions(1)) if i]
    if not merged:
        raise MappingError("MRG-1 (prior patient identifier list) is empty", location="MRG-1")
    first = merged[0]
    return PendingMerge(
        surviving_patient_id=facts.patient_id,
        surviving_identifiers=facts.identifiers,
        merged_patient_id=stable_id("Patient", ctx.facility, first["value"], first["system"]),
        merged_identifiers=merged,
    )
