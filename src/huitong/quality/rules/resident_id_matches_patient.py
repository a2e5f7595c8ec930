"""Consistency: the birth date and sex encoded in a resident ID agree with the patient's."""

from collections.abc import Sequence
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity
from huitong.quality.rules.resident_id_check_character import readings


def check(patient: dict[str, Any], _ctx: Context) -> Sequence[str]:
    found = readings(patient)
    if not found:
        return ()
    out: list[str] = []
    born, gender = patient.get("birthDate"), patient.get("gender")
    for _number, rid in found:
        if isinstance(rid, str):
            continue  # reported by resident-id-check-character
        if isinstance(born, str) and len(born) >= 10 and born[:10] != rid.birth_date.isoformat():
            out.append(f"birthDate {born[:10]} but the resident ID says {rid.birth_date.isoformat()}")
        if gender in ("male", "female") and gender != rid.gender:
            out.append(f"gender {gender} but the resident ID says {rid.gender}")
    return out


RULE = ResourceRule(
    "resident-id-matches-patient",
    Dimension.CONSISTENCY,
    Severity.ERROR,
    "身份证号与出生日期、性别一致 Resident ID agrees with birth date and sex",
    "The birth date and sex encoded in a valid resident ID equal Patient.birthDate and gender.",
    ("Patient",),
    check,
    needs_patients=False,
    fields=("identifier", "birthDate", "gender"),
)
