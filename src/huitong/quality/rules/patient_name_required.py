"""Completeness: every patient has a name (a family name or the full name as text)."""

from collections.abc import Iterator
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity


def check(patient: dict[str, Any], _ctx: Context) -> Iterator[str]:
    names = patient.get("name") or []
    if not any(isinstance(n, dict) and (n.get("family") or n.get("text")) for n in names):
        yield "Patient.name has no family name or text"


RULE = ResourceRule(
    "patient-name-required",
    Dimension.COMPLETENESS,
    Severity.ERROR,
    "患者姓名必填 Patient name present",
    "Every Patient carries a name with a family name or the whole name as text.",
    ("Patient",),
    check,
)
