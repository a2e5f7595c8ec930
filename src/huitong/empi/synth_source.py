"""Records and ground truth from a synthetic hospital data set (``huitong synth``), for the benchmark and tests.

Each source system's registrations are read the way the platform receives them: the PID segments of the HIS,
LIS and PACS HL7 v2 streams and the Patient resources of the EMR's FHIR bundles. The first sighting of each
``(system, local id)`` is its record (registrations never change). ``truth/records.csv`` says who each
record really is.
"""

from __future__ import annotations

from pathlib import Path

from huitong.empi.normalise import SourceRecord
from huitong.empi.patient import record_from_patient

_LOCAL_ID_TYPE = "PI"
_RESIDENT_ID_TYPE = "NNCHN"


def _component(field: str, index: int) -> str:
    parts = field.split("^")
    return parts[index] if index < len(parts) else ""


def record_from_pid(system: str, segment: str) -> SourceRecord | None:
    """A record from one PID segment (fields as the synthetic hospital writes them)."""
    fields = segment.split("|")
    if len(fields) < 14:
        return None
    local_id = resident = ""
    for repetition in fields[3].split("~"):
        kind = _component(repetition, 4)
        if kind == _LOCAL_ID_TYPE and not local_id:
            local_id = _component(repetition, 0)
        elif kind == _RESIDENT_ID_TYPE:
            resident = _component(repetition, 0)
    if not local_id:
        return None
    family, given = _component(fields[5], 0), _component(fields[5], 1)
    name = f"{family}^{given}" if (family + given).isascii() else family + given
    street, city, province, district = (_component(fields[11], i) for i in (0, 2, 3, 7))
    address = "".join((province, city, district, street)) or None
    return SourceRecord(
        record_id=local_id,
        source_system=system.upper(),
        name=name or None,
        gender=fields[8] or None,
        birth_date=fields[7] or None,
        id_number=resident or None,
        phone=_component(fields[13], 0) or None,
        address=address,
    )


def read_synth(root: Path) -> tuple[list[SourceRecord], dict[str, str]]:
    """(records, truth: record key → person id) of the data set at ``root``."""
    from huitong.synth.readers import SynthOutput

    data = SynthOutput(root)
    records: dict[str, SourceRecord] = {}
    for system, message in data.messages():
        for segment in message.split("\r"):
            if segment.startswith("PID|"):
                record = record_from_pid(system, segment)
                if record is not None and record.key not in records:
                    records[record.key] = record
    for bundle in data.bundles():
        for entry in bundle.get("entry", []):
            resource = entry.get("resource", {})
            if resource.get("resourceType") != "Patient":
                continue
            local = next(
                (i["value"] for i in resource.get("identifier", []) if i.get("system", "").endswith(".99999.4")), None
            )
            if local:
                record = record_from_patient(resource, "EMR", record_id=local)
                records.setdefault(record.key, record)
    truth: dict[str, str] = {}
    for row in data.table("truth/records.csv"):
        key = f"{row['system'].upper()}|{row['local_id']}"
        if key in records:
            truth[key] = row["person_id"]
    kept = [r for key, r in records.items() if key in truth]
    return kept, truth
