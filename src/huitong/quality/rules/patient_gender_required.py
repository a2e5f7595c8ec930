"""Completeness: every patient has an administrative gender."""

from collections.abc import Sequence
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity

MISSING = ("Patient.gender is missing or not an administrative-gender code",)


def check(patient: dict[str, Any], _ctx: Context) -> Sequence[str]:
    return () if patient.get("gender") in ("male", "female", "other", "unknown") else MISSING


RULE = ResourceRule(
    "patient-gender-required",
    Dimension.COMPLETENESS,
    Severity.ERROR,
    "性别必填 Patient gender present",
    "Every Patient carries gender (male, female, other, unknown).",
    ("Patient",),
    check,
    needs_patients=False,
    fields=("gender",),
)
