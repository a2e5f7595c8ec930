"""Validity: numeric results carry a UCUM unit code, so values from different systems compare."""

from collections.abc import Sequence
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity

UCUM = "http://unitsofmeasure.org"


def check(obs: dict[str, Any], _ctx: Context) -> Sequence[str]:
    quantity = obs.get("valueQuantity")
    components = obs.get("component")
    if not components:  # one quantity at most (most results): no list to build
        if isinstance(quantity, dict) and "value" in quantity and not _coded(quantity):
            return (_detail(quantity),)
        return ()
    quantities = [quantity, *(c.get("valueQuantity") for c in components if isinstance(c, dict))]
    return [_detail(q) for q in quantities if isinstance(q, dict) and "value" in q and not _coded(q)]


def _coded(quantity: dict[str, Any]) -> bool:
    return quantity.get("system") == UCUM and bool(quantity.get("code"))


def _detail(quantity: dict[str, Any]) -> str:
    return f"quantity {quantity.get('value')} {quantity.get('unit', '')} has no UCUM code"


RULE = ResourceRule(
    "quantity-unit-ucum",
    Dimension.VALIDITY,
    Severity.WARNING,
    "单位使用UCUM Units coded in UCUM",
    "Every valueQuantity with a value carries system http://unitsofmeasure.org and a code.",
    ("Observation",),
    check,
    needs_patients=False,
    fields=("valueQuantity", "component"),
)
