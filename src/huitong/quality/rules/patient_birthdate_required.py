"""Completeness: every patient has a birth date."""

from collections.abc import Sequence
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity

MISSING = ("Patient.birthDate is missing",)


def check(patient: dict[str, Any], _ctx: Context) -> Sequence[str]:
    return () if patient.get("birthDate") else MISSING


RULE = ResourceRule(
    "patient-birthdate-required",
    Dimension.COMPLETENESS,
    Severity.ERROR,
    "出生日期必填 Patient birth date present",
    "Every Patient carries birthDate.",
    ("Patient",),
    check,
    needs_patients=False,
    fields=("birthDate",),
)
