"""Completeness: every patient has a name (a family name or the full name as text)."""

from collections.abc import Sequence
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity

MISSING = ("Patient.name has no family name or text",)


def check(patient: dict[str, Any], _ctx: Context) -> Sequence[str]:
    for n in patient.get("name") or ():
        if isinstance(n, dict) and (n.get("family") or n.get("text")):
            return ()
    return MISSING


RULE = ResourceRule(
    "patient-name-required",
    Dimension.COMPLETENESS,
    Severity.ERROR,
    "患者姓名必填 Patient name present",
    "Every Patient carries a name with a family name or the whole name as text.",
    ("Patient",),
    check,
    needs_patients=False,
    fields=("name",),
)
