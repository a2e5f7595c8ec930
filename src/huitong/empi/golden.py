"""Golden records: one FHIR Patient per person, built from its source records by survivorship rules.

Each field of the golden Patient takes its value from one of the person's records, chosen by the rule
configured for that field (``HUITONG_EMPI__SURVIVORSHIP``):

* ``most_recent`` — the record updated last (phone numbers and addresses change);
* ``most_trusted`` — the record from the most trusted source (``HUITONG_EMPI__SOURCE_TRUST``, HIS first),
  ties broken by recency;
* ``most_complete`` — the longest value (a full address over a district, a name in characters over pinyin),
  ties broken by trust.

Records without a value for the field are skipped. The golden Patient carries every source record as an
``identifier`` (system ``urn:huitong:source:<SYSTEM>``), a ``link`` of type ``seealso`` to each source
Patient that exists in the store, the tag ``golden`` so it is never mistaken for a source record, and
``meta.source`` ``EMPI``. A
person merged into another keeps its Patient, inactive, with a ``replaced-by`` link to the survivor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from huitong.empi.normalise import SourceRecord
from huitong.identifiers import RESIDENT_ID_SYSTEM
from huitong.settings import EmpiSettings

GOLDEN_TAG = {"system": "https://huitong.org/fhir/CodeSystem/empi", "code": "golden", "display": "EMPI golden record"}
#: ``meta.source`` of golden records: the EMPI made them, so the quality scorecard counts them as its own, not
#: under "unknown" with the records that name no source.
GOLDEN_SOURCE = "EMPI"
SOURCE_SYSTEM_PREFIX = "urn:huitong:source:"
FIELDS = ("name", "gender", "birth_date", "id_number", "phone", "address")
_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MemberRecord:
    """A source record of a person as survivorship sees it."""

    source: SourceRecord
    patient_id: str | None
    id_valid: bool


def _updated(member: MemberRecord) -> datetime:
    moment = member.source.updated_at or _EPOCH
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _value(member: MemberRecord, field: str) -> str | None:
    if field == "id_number" and not member.id_valid:
        return None  # a number whose check character fails never survives
    value = getattr(member.source, field)
    return value if value else None


def choose(members: Sequence[MemberRecord], field: str, rule: str, trust: Sequence[str]) -> MemberRecord | None:
    """The record whose ``field`` survives under ``rule``, or ``None`` if no record has the field."""
    having = [m for m in members if _value(m, field) is not None]
    if not having:
        return None
    rank = {system: i for i, system in enumerate(trust)}

    def trusted(m: MemberRecord) -> int:
        return -rank.get(m.source.source_system, len(trust))

    keys: dict[str, Callable[[MemberRecord], tuple[Any, ...]]] = {
        "most_recent": lambda m: (_updated(m), trusted(m)),
        "most_trusted": lambda m: (trusted(m), _updated(m)),
        "most_complete": lambda m: (len(_value(m, field) or ""), trusted(m), _updated(m)),
    }
    return max(having, key=keys.get(rule, keys["most_trusted"]))


def _name_element(text: str) -> dict[str, Any]:
    from huitong.empi.names import standardise_name

    parts = standardise_name(text)
    element: dict[str, Any] = {"use": "official", "text": text}
    if parts and parts.surname and parts.name:
        element["family"] = parts.surname
        element["given"] = [parts.name[len(parts.surname) :]] if len(parts.name) > len(parts.surname) else []
    return element


def golden_patient(person_id: str, members: Sequence[MemberRecord], settings: EmpiSettings) -> dict[str, Any]:
    """The golden Patient of ``person_id`` (see the module docstring)."""
    from huitong.empi.normalise import normalise_gender, parse_birth_date
    from huitong.empi.phone import normalise_phone

    picked = {
        f: choose(members, f, settings.survivorship.get(f, "most_trusted"), settings.source_trust) for f in FIELDS
    }
    value = {f: (_value(m, f) if m else None) for f, m in picked.items()}
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": person_id,
        "meta": {"source": GOLDEN_SOURCE, "tag": [GOLDEN_TAG]},
        "active": True,
    }
    identifiers = [
        {"use": "secondary", "system": SOURCE_SYSTEM_PREFIX + m.source.source_system, "value": m.source.record_id}
        for m in sorted(members, key=lambda m: m.source.key)
    ]
    if value["id_number"]:  # the national system, as ingest and registration write it: encrypted at rest
        identifiers.insert(0, {"use": "official", "system": RESIDENT_ID_SYSTEM, "value": value["id_number"]})
    patient["identifier"] = identifiers
    if value["name"]:
        patient["name"] = [_name_element(value["name"])]
    if gender := normalise_gender(value["gender"]):
        patient["gender"] = gender
    if born := parse_birth_date(value["birth_date"]):
        patient["birthDate"] = born.isoformat()
    if value["phone"]:
        patient["telecom"] = [{"system": "phone", "value": normalise_phone(value["phone"]) or value["phone"]}]
    if value["address"]:
        patient["address"] = [{"text": value["address"]}]
    links = [
        {"other": {"reference": f"Patient/{m.patient_id}"}, "type": "seealso"}
        for m in sorted(members, key=lambda m: m.source.key)
        if m.patient_id
    ]
    if links:
        patient["link"] = links
    patient["extension"] = [
        {
            "url": "https://huitong.org/fhir/StructureDefinition/empi-survivorship",
            "valueString": ", ".join(f"{f}={picked[f].source.key if picked[f] else '-'}" for f in FIELDS),  # type: ignore[union-attr]
        }
    ]
    return patient


def is_golden(body: dict[str, Any]) -> bool:
    """Whether a Patient is a golden record (the tag ``golden``), not a source record."""
    meta = body.get("meta")
    tags = meta.get("tag") if isinstance(meta, dict) else None
    return any(
        isinstance(t, dict) and t.get("system") == GOLDEN_TAG["system"] and t.get("code") == GOLDEN_TAG["code"]
        for t in tags or ()
    )


def retired_patient(person_id: str, surviving_person_id: str) -> dict[str, Any]:
    """The golden Patient of a person merged into ``surviving_person_id``: inactive, replaced-by the survivor."""
    return {
        "resourceType": "Patient",
        "id": person_id,
        "meta": {"source": GOLDEN_SOURCE, "tag": [GOLDEN_TAG]},
        "active": False,
        "link": [{"other": {"reference": f"Patient/{surviving_person_id}"}, "type": "replaced-by"}],
    }
