"""Completeness: a final result carries a value, components, or the reason it has none."""

from collections.abc import Sequence
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity

#: The value[x] keys of Observation (FHIR R4: all eleven), also the elements a batch run decodes for this rule.
VALUE_KEYS = frozenset(
    {
        "valueQuantity",
        "valueCodeableConcept",
        "valueString",
        "valueBoolean",
        "valueInteger",
        "valueRange",
        "valueRatio",
        "valueSampledData",
        "valueTime",
        "valueDateTime",
        "valuePeriod",
    }
)


def check(obs: dict[str, Any], _ctx: Context) -> Sequence[str]:
    if obs.get("status") not in ("final", "amended", "corrected"):
        return ()
    has_value = not VALUE_KEYS.isdisjoint(obs) or obs.get("component") or obs.get("dataAbsentReason")
    has_members = obs.get("hasMember")
    if has_value or has_members:
        return ()
    return (f"final Observation has no value[x], component, hasMember or dataAbsentReason (status {obs['status']})",)


RULE = ResourceRule(
    "observation-value-required",
    Dimension.COMPLETENESS,
    Severity.ERROR,
    "结果值必填 Final result has a value",
    "A final Observation carries value[x], components, members or dataAbsentReason.",
    ("Observation",),
    check,
    needs_patients=False,
    fields=("status", "component", "dataAbsentReason", "hasMember", *sorted(VALUE_KEYS)),
)
