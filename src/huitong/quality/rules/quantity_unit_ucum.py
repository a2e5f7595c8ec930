"""Validity: numeric results carry a UCUM unit code, so values from different systems compare."""

from collections.abc import Iterator
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity

UCUM = "http://unitsofmeasure.org"


def check(obs: dict[str, Any], _ctx: Context) -> Iterator[str]:
    quantities = [obs.get("valueQuantity")]
    components = obs.get("component")
    if components:
        quantities += [c.get("valueQuantity") for c in components if isinstance(c, dict)]
    for q in quantities:
        if not isinstance(q, dict) or "value" not in q:
            continue
        if q.get("system") != UCUM or not q.get("code"):
            yield f"quantity {q.get('value')} {q.get('unit', '')} has no UCUM code"


RULE = ResourceRule(
    "quantity-unit-ucum",
    Dimension.VALIDITY,
    Severity.WARNING,
    "单位使用UCUM Units coded in UCUM",
    "Every valueQuantity with a value carries system http://unitsofmeasure.org and a code.",
    ("Observation",),
    check,
)
