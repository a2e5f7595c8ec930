"""Validity: a lab result is reported in the unit the laboratory's dictionary gives for its LOINC code, so
values from different analysers compare (g/dL haemoglobin among g/L is a tenfold error)."""

from collections.abc import Sequence
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity

LOINC = "http://loinc.org"


def loinc_code(obs: dict[str, Any]) -> str | None:
    """The LOINC code of an Observation, if it has one."""
    for coding in (obs.get("code") or {}).get("coding") or []:
        if isinstance(coding, dict) and coding.get("system") == LOINC and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None


def check(obs: dict[str, Any], ctx: Context) -> Sequence[str]:
    quantity = obs.get("valueQuantity")
    if not isinstance(quantity, dict) or "value" not in quantity:
        return ()
    units = ctx.catalogues.lab_units
    if not units:
        return ()
    code = loinc_code(obs)
    expected = units.get(code) if code else None
    if expected is None:
        return ()
    unit = quantity.get("code") or quantity.get("unit")
    if unit != expected:
        return (f"LOINC {code} reported in {unit!r}, the dictionary's unit is {expected!r}",)
    return ()


RULE = ResourceRule(
    "observation-unit-expected",
    Dimension.VALIDITY,
    Severity.WARNING,
    "检验结果单位一致 Result in the dictionary's unit",
    "A numeric Observation with a LOINC code of the lab dictionary carries that code's UCUM unit "
    "(checked when a dictionary is loaded; fixed at ingest when the dictionary knows the conversion).",
    ("Observation",),
    check,
    needs_patients=False,
    fields=("code", "valueQuantity"),
)
