"""Completeness: every patient has a birth date."""

from collections.abc import Iterator
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity


def check(patient: dict[str, Any], _ctx: Context) -> Iterator[str]:
    if not patient.get("birthDate"):
        yield "Patient.birthDate is missing"


RULE = ResourceRule(
    "patient-birthdate-required",
    Dimension.COMPLETENESS,
    Severity.ERROR,
    "出生日期必填 Patient birth date present",
    "Every Patient carries birthDate.",
    ("Patient",),
    check,
)
