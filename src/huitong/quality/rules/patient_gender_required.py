"""Completeness: every patient has an administrative gender."""

from collections.abc import Iterator
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity


def check(patient: dict[str, Any], _ctx: Context) -> Iterator[str]:
    if patient.get("gender") not in ("male", "female", "other", "unknown"):
        yield "Patient.gender is missing or not an administrative-gender code"


RULE = ResourceRule(
    "patient-gender-required",
    Dimension.COMPLETENESS,
    Severity.ERROR,
    "性别必填 Patient gender present",
    "Every Patient carries gender (male, female, other, unknown).",
    ("Patient",),
    check,
)
