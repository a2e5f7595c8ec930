"""Regenerate src/huitong/ingest/hl7v2/to_fhir/vocabulary.json from the HL7 v2-to-FHIR IG's concept maps and
the v2 tables (../shared/standards). The package reads only the generated file, never ../shared.

    .venv/bin/python scripts/gen_v2_vocabulary.py [SHARED_DIR]
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src/huitong/ingest/hl7v2/to_fhir/vocabulary.json"

# concept map name in the IG  →  key in vocabulary.json
CONCEPT_MAPS = {
    "AdministrativeSex": "sex",
    "PatientClass[EncounterClass]": "patient_class",
    "PatientClass[EncounterStatus]": "patient_class_status",
    "Event[EncounterStatus]": "event_status",
    "InterpretationCodes": "interpretation",
    "ObservationResultStatusCodesInterpretation": "observation_status",
    "ResultStatus[Non-Queries]": "report_status",
    "OrderControlCode[ServiceRequest.status]": "order_control_status",
    "FillerStatusCodes[Appointment]": "appointment_status",
    "MaritalStatus": "marital_status",
    "NameType": "name_use",
    "AddressType[Use]": "address_use",
    "TelecommunicationUseCode": "telecom_use",
    "TelecommunicationEquipmentType": "telecom_system",
}
# v2 tables whose displays are used in codings
TABLES = ["0001", "0004", "0007", "0078", "0085", "0123", "0203", "0119", "0038", "0189", "0005", "0002", "0136"]


def concept_map(path: Path) -> dict[str, list[str]]:
    rows = list(csv.reader(path.open(encoding="utf-8-sig")))
    out: dict[str, list[str]] = {}
    for row in rows[2:]:
        row = [c.strip() for c in row] + [""] * 12
        code, target, display, system = row[0], row[6], row[8] or row[7], row[9]
        if code and target and code not in out:
            out[code] = [target, display, system]
    return out


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared"
    maps_dir = shared / "standards/v2-to-fhir/codesystems"
    vocab: dict[str, object] = {}
    for name, key in CONCEPT_MAPS.items():
        vocab[key] = concept_map(maps_dir / f"HL7 Concept Map_ {name} - Sheet1.csv")
    bundle = json.loads((shared / "standards/fhir-r4/v2-tables.json").read_text(encoding="utf-8"))
    displays: dict[str, dict[str, str]] = {}
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] != "CodeSystem":
            continue
        table = res["url"].rsplit("-", 1)[-1]
        if table in TABLES and res["url"] == f"http://terminology.hl7.org/CodeSystem/v2-{table}":
            displays[table] = {c["code"]: c.get("display", "") for c in res.get("concept", [])}
    vocab["tables"] = displays
    OUT.write_text(json.dumps(vocab, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {OUT.relative_to(ROOT)}: {len(CONCEPT_MAPS)} concept maps, {len(displays)} tables\n")


if __name__ == "__main__":
    main()
