"""Consistency: perinatal diagnoses (ICD-10 P00–P96) belong to newborns, not to adults."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from huitong.quality.rule import PATIENT_REFERENCE, Context, Dimension, ResourceRule, Severity
from huitong.quality.rules.diagnosis_code_format import icd10_codes

MAX_AGE_DAYS = 365  # P codes may be recorded later in infancy; older than a year is a contradiction


def perinatal_codes(condition: dict[str, Any]) -> list[str]:
    """The Condition's perinatal ICD-10 codes (P00–P96)."""
    return [code for code in icd10_codes(condition) if code.startswith("P")]


def has_perinatal_code(condition: dict[str, Any]) -> bool:
    """Whether the Condition has a perinatal code (the others agree with any age): the rule's ``candidate``."""
    return bool(perinatal_codes(condition))


def check(condition: dict[str, Any], ctx: Context) -> Sequence[str]:
    perinatal = perinatal_codes(condition)
    if not perinatal:  # nothing to compare the age with (most conditions): no dates to read
        return ()
    patient = ctx.patient_of(condition)
    if patient is None or patient.birth_date is None:
        return ()
    when = condition.get("recordedDate") or condition.get("onsetDateTime")
    try:
        on = date.fromisoformat(when[:10]) if isinstance(when, str) else date.today()
    except ValueError:
        return ()
    age_days = (on - patient.birth_date).days
    if age_days <= MAX_AGE_DAYS:
        return ()
    return [f"{code} is a perinatal condition but the patient was {age_days // 365} years old" for code in perinatal]


RULE = ResourceRule(
    "diagnosis-consistent-with-age",
    Dimension.CONSISTENCY,
    Severity.WARNING,
    "诊断与年龄相符 Diagnosis agrees with age",
    "ICD-10 chapter XVI (P00–P96, perinatal conditions) is not recorded for patients over one year old.",
    ("Condition",),
    check,
    fields=("code", "recordedDate", "onsetDateTime", *PATIENT_REFERENCE),
    candidate=has_perinatal_code,
)
