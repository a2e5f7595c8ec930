"""PID (with PD1) → Patient, plus the identity facts the EMPI matches on (PID[Patient] sheet of the IG).

The Patient id is derived from the sending facility and the first PID-3 identifier (value and assigning
authority), so re-sending a message updates the same Patient. Resident identity numbers (居民身份证号码)
are recognised in PID-3 (type ``NNCHN``, ``NI`` or a valid number without a type) and PID-19, checked
with :mod:`huitong.empi.resident_id`, and written with the national system.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from huitong.empi import resident_id
from huitong.identifiers import RESIDENT_ID_SYSTEM
from huitong.ingest.errors import MappingError
from huitong.ingest.hl7v2.message import Segment
from huitong.ingest.hl7v2.to_fhir import datatypes as dt
from huitong.ingest.hl7v2.to_fhir import vocabulary
from huitong.ingest.hl7v2.to_fhir.context import MapContext, stable_id

_RESIDENT_TYPES = {"NNCHN", "NI", "NN", "CZ", "SFZ", "ID"}


@dataclass
class PatientFacts:
    """What the message says about the patient's identity, for the EMPI."""

    patient_id: str
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    name: str = ""
    family: str = ""
    given: str = ""
    birth_date: str | None = None
    gender: str | None = None
    phones: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    resident_id: str | None = None


def patient_key(pid: Segment, ctx: MapContext) -> tuple[str, dict[str, Any]]:
    """(Patient id, the identifier it is derived from); raises :class:`MappingError` without any identifier."""
    for n in (3, 2, 4):
        for cx in pid.repetitions(n):
            ident = dt.identifier(cx, ctx)
            if ident:
                return stable_id("Patient", ctx.facility, ident["value"], ident["system"]), ident
    raise MappingError("PID-3 (patient identifier list) is empty: the patient cannot be identified", location="PID-3")


def _resident(value: str) -> str | None:
    try:
        return resident_id.parse(value).number
    except resident_id.ResidentIdError:
        return None


def map_patient(pid: Segment, ctx: MapContext, pd1: Segment | None = None) -> tuple[dict[str, str], PatientFacts]:
    """Add the Patient of ``pid``; return its Reference and the identity facts."""
    pid_id, _ = patient_key(pid, ctx)
    facts = PatientFacts(pid_id)
    identifiers: list[dict[str, Any]] = []
    for n in (3, 2, 4):
        for cx in pid.repetitions(n):
            ident = dt.identifier(cx, ctx)
            if not ident:
                continue
            kind = cx.get(5).strip().upper()
            number = _resident(ident["value"]) if kind in _RESIDENT_TYPES or not kind else None
            if number:
                ident = {
                    "system": RESIDENT_ID_SYSTEM,
                    "value": number,
                    "type": {"coding": [vocabulary.v2_coding("0203", "NNCHN")]},
                }
                facts.resident_id = facts.resident_id or number
            if ident not in identifiers:
                identifiers.append(ident)
    ssn = pid.get(19).strip()
    if ssn:
        number = _resident(ssn)
        if number:
            facts.resident_id = facts.resident_id or number
            ident = {
                "system": RESIDENT_ID_SYSTEM,
                "value": number,
                "type": {"coding": [vocabulary.v2_coding("0203", "NNCHN")]},
            }
        else:
            ident = {
                "system": dt.local_system(ctx, "SS"),
                "value": ssn,
                "type": {"coding": [vocabulary.v2_coding("0203", "SS")]},
            }
        if ident not in identifiers:
            identifiers.append(ident)
    licence = pid.field(20)
    if licence.get(1).strip():
        issuer = licence.get(2).strip()
        ident = {
            "system": dt.local_system(ctx, f"DL-{issuer}" if issuer else "DL"),
            "value": licence.get(1).strip(),
            "type": {"coding": [vocabulary.v2_coding("0203", "DL")]},
        }
        expires = dt.date(licence.get(3))
        if expires:
            ident["period"] = {"end": expires}
        identifiers.append(ident)
    facts.identifiers = identifiers
    patient: dict[str, Any] = {"resourceType": "Patient", "id": pid_id, "identifier": identifiers}
    names = [n for n in (dt.human_name(x, ctx) for x in pid.repetitions(5)) if n]
    names += [n for n in (dt.human_name(x, ctx) for x in pid.repetitions(9)) if n and n not in names]  # aliases
    if names:
        patient["name"] = names
        first = names[0]
        facts.name = first.get("text", "")
        facts.family = first.get("family", "")
        facts.given = " ".join(first.get("given", []))
    birth = dt.date(pid.get(7))
    if birth:
        patient["birthDate"] = birth
        facts.birth_date = birth
    sex = pid.get(8).strip().upper()
    if sex:
        gender = vocabulary.target("sex", sex)
        if gender:
            patient["gender"] = gender
            facts.gender = gender
        else:
            ctx.warn(f"PID-8 administrative sex {sex!r} is not in table 0001; gender left out")
    addresses = [a for a in (dt.address(x) for x in pid.repetitions(11)) if a]
    if addresses:
        patient["address"] = addresses
        facts.addresses = [
            a.get("text") or ", ".join([*a.get("line", []), a.get("city", "")]).strip(", ") for a in addresses
        ]
    telecoms = [t for n in (13, 14) for t in (dt.telecom(x) for x in pid.repetitions(n)) if t]
    if telecoms:
        patient["telecom"] = telecoms
        facts.phones = [t["value"] for t in telecoms if t["system"] == "phone"]
    marital = pid.field(16)
    if marital:
        concept = vocabulary.concept("marital_status", marital.get(1).strip())
        if concept:
            patient["maritalStatus"] = {"coding": [{"system": concept[2], "code": concept[0], "display": concept[1]}]}
        else:
            patient["maritalStatus"] = dt.codeable(marital, ctx, table="0002")
    deceased_at = dt.date_time(pid.get(29), ctx)
    if deceased_at and len(deceased_at) >= 10:
        patient["deceasedDateTime"] = deceased_at
    elif pid.get(30).strip().upper() in ("Y", "N"):
        patient["deceasedBoolean"] = pid.get(30).strip().upper() == "Y"
    if pd1 is not None:
        gps = [ref for ref in (dt.practitioner(x, ctx) for x in pd1.repetitions(4)) if ref]
        if gps:
            patient["generalPractitioner"] = gps
    ctx.add({k: v for k, v in patient.items() if v not in (None, [], {})})
    return {"reference": f"Patient/{pid_id}"}, facts
