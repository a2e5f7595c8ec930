"""The pipeline's seam to the HL7 v2 → FHIR mapping: :func:`map_to_fhir`.

The mapping itself is :func:`huitong.ingest.hl7v2.to_fhir.map_message` (written alongside this engine).
This adapter calls it when it is installed and accepts the shapes it may return (a list of resources, an
object with ``.resources``, or a transaction Bundle). Until it lands, a small built-in mapping covers
ADT (Patient, Encounter) and ORU^R01 (Patient, DiagnosticReport, Observation) so the engine and its
benchmarks run end to end; every other type is :class:`UnsupportedMessageError`. Resource ids are
deterministic (derived from the identifiers in the message), so processing a message twice writes the
same resources and the store makes no new version.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from huitong.ingest.errors import MappingError, UnsupportedMessageError
from huitong.ingest.hl7v2.message import Message, Segment

Resource = dict[str, Any]


@dataclass(slots=True)
class Mapped:
    """The resources one message becomes (each with ``resourceType`` and a deterministic ``id``)."""

    resources: list[Resource]
    warnings: list[str] = field(default_factory=list)


def _load_mapper() -> Callable[[Message], Any] | None:
    try:
        module = importlib.import_module("huitong.ingest.hl7v2.to_fhir")
    except ImportError:
        return None
    mapper = getattr(module, "map_message", None)
    return mapper if callable(mapper) else None


def map_to_fhir(msg: Message) -> Mapped:
    """The FHIR resources of ``msg``; raises an :class:`~huitong.ingest.errors.IngestError` subclass."""
    mapper = _load_mapper()
    if mapper is None:
        return builtin_map(msg)
    return _normalise(mapper(msg))


def _normalise(result: Any) -> Mapped:
    warnings: list[str] = list(getattr(result, "warnings", []) or [])
    if isinstance(result, dict) and result.get("resourceType") == "Bundle":
        items = [e["resource"] for e in result.get("entry", []) if "resource" in e]
    elif isinstance(result, list | tuple):
        items = list(result)
    else:
        items = list(getattr(result, "resources", []))
    resources = [r if isinstance(r, dict) else r.model_dump(mode="json", exclude_none=True) for r in items]
    for r in resources:
        if not r.get("id"):
            raise MappingError(f"the mapping produced a {r.get('resourceType')} without an id", error_code="207")
    return Mapped(resources, warnings)


# -- the built-in mapping (until to_fhir.map_message lands) ------------------------------------------


def stable_id(*parts: str) -> str:
    """A FHIR id derived from ``parts`` (the same parts always give the same id)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


_ADT_EVENTS = {"A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A12", "A13"}
_GENDER = {"M": "male", "F": "female", "O": "other", "U": "unknown", "A": "other", "N": "unknown"}
_CLASS = {"I": "IMP", "O": "AMB", "E": "EMER", "P": "PRENC", "R": "AMB", "B": "IMP"}
_OBX_STATUS = {"F": "final", "P": "preliminary", "C": "corrected", "X": "cancelled", "R": "registered"}


def _date(value: str) -> str | None:
    digits = value.split("+")[0].split("-")[0].split(".")[0]
    if len(digits) >= 8 and digits[:8].isdigit():
        return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}"
    if len(digits) == 6 and digits.isdigit():
        return f"{digits[:4]}-{digits[4:6]}"
    if len(digits) == 4 and digits.isdigit():
        return digits
    return None


def _datetime(value: str) -> str | None:
    day = _date(value)
    digits = value.split("+")[0].split("-")[0].split(".")[0]
    if day is None or len(digits) < 12:
        return day
    seconds = digits[12:14] if len(digits) >= 14 else "00"
    return f"{day}T{digits[8:10]}:{digits[10:12]}:{seconds}+08:00"


def _patient(msg: Message) -> Resource:
    pid = msg.segment("PID")
    if pid is None:
        raise MappingError("the message has no PID segment", location="PID")
    ids = [rep for rep in pid.repetitions(3) if rep.get(1)]
    if not ids:
        raise MappingError("PID-3 (patient identifier list) is empty", location="PID-3")
    first = ids[0]
    patient: Resource = {
        "resourceType": "Patient",
        "id": stable_id("Patient", first.get(4), first.get(1)),
        "identifier": [
            {"value": rep.get(1), **({"system": f"urn:huitong:id:{rep.get(4)}"} if rep.get(4) else {})} for rep in ids
        ],
    }
    name = pid.field(5)
    if name.get(1) or name.get(2):
        patient["name"] = [
            {k: v for k, v in (("family", name.get(1)), ("given", [name.get(2)] if name.get(2) else None)) if v}
        ]
    birth = _date(pid.get("7.1"))
    if birth:
        patient["birthDate"] = birth
    gender = _GENDER.get(pid.get(8).upper()[:1])
    if gender:
        patient["gender"] = gender
    return patient


def _encounter(msg: Message, patient: Resource, pv1: Segment) -> Resource | None:
    visit = pv1.get("19.1")
    if not visit:
        return None
    status = {"A03": "finished", "A11": "cancelled", "A13": "in-progress"}.get(msg.trigger_event, "in-progress")
    enc: Resource = {
        "resourceType": "Encounter",
        "id": stable_id("Encounter", pv1.get("19.4"), visit),
        "identifier": [{"value": visit}],
        "status": status,
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": _CLASS.get(pv1.get(2).upper()[:1], "AMB"),
        },
        "subject": {"reference": f"Patient/{patient['id']}"},
    }
    period = {k: v for k, v in (("start", _datetime(pv1.get("44.1"))), ("end", _datetime(pv1.get("45.1")))) if v}
    if period:
        enc["period"] = period
    ward = pv1.get("3.1")
    if ward:
        enc["location"] = [{"location": {"display": "-".join(p for p in (ward, pv1.get("3.2"), pv1.get("3.3")) if p)}}]
    return enc


def _observation(obx: Segment, report_id: str, patient: Resource, n: int) -> Resource:
    code = obx.field(3)
    obs: Resource = {
        "resourceType": "Observation",
        "id": stable_id("Observation", report_id, str(n), code.get(1)),
        "status": _OBX_STATUS.get(obx.get(11).upper()[:1], "final"),
        "code": {"coding": [{"code": code.get(1), "display": code.get(2)}], "text": code.get(2) or code.get(1)},
        "subject": {"reference": f"Patient/{patient['id']}"},
    }
    value = obx.get(5)
    if obx.get(2) in ("NM", "SN") and _is_number(value):
        quantity: dict[str, Any] = {"value": float(value)}
        if obx.get("6.1"):
            quantity["unit"] = obx.get("6.1")
        obs["valueQuantity"] = quantity
    elif value:
        obs["valueString"] = value
    if obx.get(7):
        obs["referenceRange"] = [{"text": obx.get(7)}]
    flag = obx.get("8.1")
    if flag:
        obs["interpretation"] = [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": flag}]}
        ]
    when = _datetime(obx.get("14.1"))
    if when:
        obs["effectiveDateTime"] = when
    return obs


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def builtin_map(msg: Message) -> Mapped:
    """The small built-in mapping; see the module docstring."""
    code, event = msg.message_code, msg.trigger_event
    if code == "ADT" and event in _ADT_EVENTS:
        patient = _patient(msg)
        out = [patient]
        pv1 = msg.segment("PV1")
        if pv1 is not None:
            enc = _encounter(msg, patient, pv1)
            if enc is not None:
                out.append(enc)
        return Mapped(out)
    if code == "ORU" and event == "R01":
        patient = _patient(msg)
        out = [patient]
        groups: list[tuple[Segment, list[Segment]]] = []
        for seg in msg:
            if seg.name == "OBR":
                groups.append((seg, []))
            elif seg.name == "OBX" and groups:
                groups[-1][1].append(seg)
        for obr, obx_list in groups:
            filler = obr.get("3.1") or obr.get("2.1")
            report_id = stable_id("DiagnosticReport", obr.get("3.2"), filler, obr.get("4.1"))
            obs = [_observation(o, report_id, patient, i) for i, o in enumerate(obx_list, start=1)]
            out.extend(obs)
            report: Resource = {
                "resourceType": "DiagnosticReport",
                "id": report_id,
                "status": "final",
                "code": {"coding": [{"code": obr.get("4.1"), "display": obr.get("4.2")}]},
                "subject": {"reference": f"Patient/{patient['id']}"},
                "result": [{"reference": f"Observation/{o['id']}"} for o in obs],
            }
            if filler:
                report["identifier"] = [{"value": filler}]
            out.append(report)
        return Mapped(out)
    raise UnsupportedMessageError(f"message type {msg.message_type} has no FHIR mapping yet", location="MSH-9")
