"""Comparison of our mapping with Microsoft's FHIR-Converter output (``shared/testdata/hl7v2``), field by
field, for ADT and ORU messages. Used by ``test_conformance.py`` and to write docs/hl7-conformance.md."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from huitong.ingest.hl7v2.message import Message
from huitong.ingest.hl7v2.parse import parse_message
from huitong.ingest.hl7v2.to_fhir import map_message

Resource = dict[str, Any]


def _utc(value: str | None) -> str | None:
    if not value or "T" not in value:
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone().isoformat()


def _of(resources: list[Resource], rtype: str) -> list[Resource]:
    return [r for r in resources if r["resourceType"] == rtype]


def _value(obs: Resource) -> tuple[Any, ...] | None:
    if "valueQuantity" in obs:
        q = obs["valueQuantity"]
        return (q.get("value"), q.get("unit"))
    for key in ("valueString", "valueDateTime"):
        if key in obs:
            return (obs[key],)
    if "valueCodeableConcept" in obs:
        return tuple(c.get("code") for c in obs["valueCodeableConcept"].get("coding", []))
    return None


def differences(msg: Message, mine: list[Resource], theirs: list[Resource]) -> list[str]:
    """Differences in identifiers, names, birth date, gender, encounter class and period, observations."""
    out: list[str] = []
    pid_text = "|".join(s.fields.__str__() for s in msg.segments("PID"))
    my_patients, their_patients = _of(mine, "Patient"), _of(theirs, "Patient")
    if my_patients and their_patients:
        me, them = my_patients[0], their_patients[0]
        my_ids = {i["value"] for i in me.get("identifier", [])}
        their_ids = {i["value"] for i in them.get("identifier", [])}
        for value in sorted(my_ids - their_ids):
            out.append(f"identifier {value} only in ours")
        for value in sorted(their_ids - my_ids):
            if value in pid_text:  # identifiers from other segments (GT1, IN1/IN2, DB1) are left out on purpose
                out.append(f"PID identifier {value} only in theirs")
        my_names = {n.get("family", ""): set(n.get("given", [])) for n in me.get("name", [])}
        their_names = {n.get("family", ""): set(n.get("given", [])) for n in them.get("name", [])}
        for family, given in my_names.items():
            if family not in their_names:
                out.append(f"name {family} only in ours")
            elif not given <= their_names[family]:
                out.append(f"given names of {family}: ours {sorted(given)}, theirs {sorted(their_names[family])}")
        for family in their_names:
            if family not in my_names and family and family in pid_text:
                out.append(f"PID name {family} only in theirs")
        for key in ("birthDate", "gender"):
            if me.get(key) != them.get(key):
                out.append(f"{key}: ours {me.get(key)}, theirs {them.get(key)}")
    my_encounters, their_encounters = _of(mine, "Encounter"), _of(theirs, "Encounter")
    if my_encounters and their_encounters:
        me, them = my_encounters[0], their_encounters[0]
        if me["class"].get("code") != them.get("class", {}).get("code"):
            out.append(f"encounter class: ours {me['class'].get('code')}, theirs {them.get('class', {}).get('code')}")
        for key in ("start", "end"):
            ours, their = _utc(me.get("period", {}).get(key)), _utc(them.get("period", {}).get(key))
            if ours != their:
                out.append(f"encounter period.{key}: ours {ours}, theirs {their}")
    elif their_encounters and msg.segment("PV1") is not None:
        out.append("encounter only in theirs")
    obx_codes = {s.get("3.1") for s in msg.segments("OBX")}
    my_obs = {(o["code"]["coding"][0]["code"], str(_value(o))) for o in _of(mine, "Observation")}
    their_obs = {
        (o["code"]["coding"][0]["code"], str(_value(o)))
        for o in _of(theirs, "Observation")
        if o.get("code", {}).get("coding")
    }
    for code, value in sorted(my_obs - their_obs):
        out.append(f"observation {code} = {value} only in ours")
    for code, value in sorted(their_obs - my_obs):
        if code in obx_codes:  # theirs also makes Observations of PDA/ACC segments; ours only of OBX
            out.append(f"observation {code} = {value} only in theirs")
    return out


def compare_file(hl7: Path, expected: Path) -> list[str] | None:
    """Differences for one sample, ``None`` when the message is not ADT/ORU or has no mapping."""
    msg = parse_message(hl7.read_bytes())
    if msg.message_code not in ("ADT", "ORU"):
        return None
    from huitong.ingest.errors import UnsupportedMessageError

    try:
        mapping = map_message(msg)
    except UnsupportedMessageError:
        return None
    theirs = [e["resource"] for e in json.loads(expected.read_text(encoding="utf-8"))["entry"]]
    return differences(msg, mapping.resources, theirs)
