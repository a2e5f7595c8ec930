"""Completeness: every encounter records when it started (admission or visit time)."""

from collections.abc import Sequence
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity

MISSING = ("Encounter.period.start (admission / visit time) is missing",)


def check(encounter: dict[str, Any], _ctx: Context) -> Sequence[str]:
    return () if (encounter.get("period") or {}).get("start") else MISSING


RULE = ResourceRule(
    "encounter-start-required",
    Dimension.COMPLETENESS,
    Severity.ERROR,
    "就诊/入院时间必填 Encounter start present",
    "Every Encounter carries period.start (入院日期时间 for inpatients).",
    ("Encounter",),
    check,
    needs_patients=False,
    fields=("period",),
)
