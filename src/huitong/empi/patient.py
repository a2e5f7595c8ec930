"""FHIR Patient → :class:`~huitong.empi.normalise.SourceRecord`, for the ingest pipeline and ``$match``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from huitong.empi import resident_id
from huitong.empi.normalise import SourceRecord
from huitong.identifiers import RESIDENT_ID_SYSTEMS


def _name(patient: dict[str, Any]) -> str | None:
    names = patient.get("name") or []
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if not official:
        return None
    if official.get("text"):
        return str(official["text"])
    family = official.get("family") or ""
    given = "".join(official.get("given") or [])
    if not family and not given:
        return None
    if family.isascii() or given.isascii():
        return f"{family}^{given}"  # pinyin: keep family and given apart
    return family + given


def _resident_id(patient: dict[str, Any]) -> str | None:
    identifiers = [i for i in patient.get("identifier") or [] if i.get("value")]
    declared = next(
        (i for i in identifiers if i.get("system") in RESIDENT_ID_SYSTEMS or "resident" in str(i.get("system", ""))),
        None,
    )
    if declared is not None:
        return str(declared["value"])
    return next((str(i["value"]) for i in identifiers if resident_id.is_valid(str(i["value"]))), None)


def _phone(patient: dict[str, Any]) -> str | None:
    phones = [t for t in patient.get("telecom") or [] if t.get("system") in (None, "phone", "sms") and t.get("value")]
    mobile = next((t for t in phones if t.get("use") == "mobile"), phones[0] if phones else None)
    return str(mobile["value"]) if mobile else None


def _address(patient: dict[str, Any]) -> str | None:
    addresses = patient.get("address") or []
    if not addresses:
        return None
    first = addresses[0]
    if first.get("text"):
        return str(first["text"])
    parts = [first.get("state"), first.get("city"), first.get("district"), *(first.get("line") or [])]
    joined = "".join(str(p) for p in parts if p)
    return joined or None


def record_from_patient(patient: dict[str, Any], source_system: str, record_id: str | None = None) -> SourceRecord:
    """The EMPI record of a source Patient; ``record_id`` defaults to the Patient's id."""
    updated = (patient.get("meta") or {}).get("lastUpdated")
    return SourceRecord(
        record_id=record_id or str(patient.get("id") or ""),
        source_system=source_system,
        name=_name(patient),
        gender=patient.get("gender"),
        birth_date=patient.get("birthDate"),
        id_number=_resident_id(patient),
        phone=_phone(patient),
        address=_address(patient),
        updated_at=datetime.fromisoformat(updated) if updated else None,
    )
