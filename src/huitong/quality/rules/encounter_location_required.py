"""Completeness: an inpatient stay in progress names its ward and bed (PV1-3), which bed boards, nursing and
the ward-based indicators need."""

from collections.abc import Sequence
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity

MISSING = ("inpatient stay in progress has no location (ward, room, bed)",)


def check(encounter: dict[str, Any], _ctx: Context) -> Sequence[str]:
    if (encounter.get("class") or {}).get("code") != "IMP" or encounter.get("status") != "in-progress":
        return ()
    for loc in encounter.get("location") or ():
        if isinstance(loc, dict) and loc.get("location"):
            return ()
    return MISSING


RULE = ResourceRule(
    "encounter-location-required",
    Dimension.COMPLETENESS,
    Severity.WARNING,
    "在院患者床位必填 Inpatient location present",
    "An inpatient Encounter (class IMP) in progress carries a location (the ward, room and bed of PV1-3).",
    ("Encounter",),
    check,
    needs_patients=False,
    fields=("class", "status", "location"),
)
