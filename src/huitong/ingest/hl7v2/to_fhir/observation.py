"""OBX → Observation (IG sheet OBX[Observation]): value by OBX-2, UCUM units, reference range, status,
interpretation with critical flags (HH, LL, AA, <, >) reported to the caller."""

from __future__ import annotations

import re
from typing import Any

from huitong.ingest.hl7v2.message import Segment
from huitong.ingest.hl7v2.to_fhir import datatypes as dt
from huitong.ingest.hl7v2.to_fhir import vocabulary
from huitong.ingest.hl7v2.to_fhir.context import MapContext, stable_id
from huitong.ingest.hl7v2.to_fhir.units import quantity

CRITICAL_FLAGS = frozenset({"HH", "LL", "AA", "<", ">", "HU", "LU"})
_OBS_CATEGORY = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]
}
_RANGE = re.compile(r"\s*([<>]=?)?\s*([+-]?\d*\.?\d+)\s*(?:(?:-|–|~|to)\s*([+-]?\d*\.?\d+))?\s*")
_COMPARATOR = re.compile(r"\s*(<=|>=|<|>)\s*([+-]?\d*\.?\d+)\s*")


def map_observation(
    obx: Segment,
    ctx: MapContext,
    patient: dict[str, str],
    encounter: dict[str, str] | None,
    critical: list[str],
    *,
    parent_id: str,
    based_on: list[dict[str, str]] | None = None,
    default_time: str | None = None,
    laboratory: bool = False,
) -> dict[str, Any] | None:
    """Add the Observation of ``obx`` (its id from ``parent_id``, OBX-1 and OBX-4) and return it."""
    code = dt.codeable(obx.field(3), ctx)
    if code is None:
        ctx.warn(f"OBX {obx.get(1)} has no observation identifier (OBX-3); left out")
        return None
    set_id = obx.get(1).strip() or f"#{sum(1 for k in ctx.resources if k[0] == 'Observation')}"
    rid = stable_id("Observation", parent_id, set_id, obx.get(4).strip(), obx.get("3.1").strip())
    status_code = obx.get(11).strip().upper()
    status = vocabulary.target("observation_status", status_code) or (
        "registered" if status_code in ("I", "S", "R") else "unknown"
    )
    obs: dict[str, Any] = {"resourceType": "Observation", "id": rid, "status": status}
    if laboratory:
        obs["category"] = [_OBS_CATEGORY]
    obs["code"] = code
    obs["subject"] = patient
    if encounter is not None:
        obs["encounter"] = encounter
    if based_on:
        obs["basedOn"] = based_on
    effective = dt.date_time(obx.get(14), ctx) or default_time
    if effective:
        obs["effectiveDateTime"] = effective
    _value(obx, obs, ctx)
    ranges = _reference_range(obx, ctx)
    if ranges:
        obs["referenceRange"] = [ranges]
    flags = []
    for f in obx.repetitions(8):
        flag = dt.token(f.get(1))
        if not flag:
            continue
        concept = vocabulary.concept("interpretation", flag)
        if concept:
            flags.append({"coding": [{"system": concept[2], "code": concept[0], "display": concept[1]}]})
        else:
            flags.append({"coding": [{"system": vocabulary.V2_SYSTEM + "0078", "code": flag}]})
        if flag.upper() in CRITICAL_FLAGS and rid not in critical:
            critical.append(rid)
    if flags:
        obs["interpretation"] = flags
    method = dt.codeable(obx.field(17), ctx)
    if method:
        obs["method"] = method
    performer = [r for r in (dt.practitioner(x, ctx) for x in obx.repetitions(16)) if r]
    if performer:
        obs["performer"] = performer
    ctx.add(obs)
    return obs


def _value(obx: Segment, obs: dict[str, Any], ctx: MapContext) -> None:
    kind = obx.get(2).strip().upper()
    values = [f for f in obx.repetitions(5) if f]
    if not values:
        return
    first = values[0]
    if len(values) > 1 and kind not in ("TX", "FT", "ST"):
        ctx.warn(f"OBX {obx.get(1)} has {len(values)} values in OBX-5; only the first is mapped")
    unit = obx.field(6)
    if kind == "NM":
        q = quantity(first.text(), unit)
        if q is None:
            m = _COMPARATOR.fullmatch(first.text())
            q = quantity(m.group(2), unit) if m else None
            if q is not None and m is not None:
                q["comparator"] = m.group(1)
        if q is not None:
            obs["valueQuantity"] = q
        else:
            obs["valueString"] = first.text()
            ctx.warn(f"OBX {obx.get(1)} is NM but {first.text()!r} is not a number; kept as text")
    elif kind == "SN":
        comparator, num1, sep, num2 = (first.get(i).strip() for i in range(1, 5))
        if sep in ("-", ":", "/") and num2:
            lo, hi = quantity(num1, unit), quantity(num2, unit)
            if sep == "-" and lo and hi:
                obs["valueRange"] = {"low": lo, "high": hi}
            elif lo and hi:
                obs["valueRatio"] = {"numerator": lo, "denominator": hi}
        else:
            q = quantity(num1, unit)
            if q is not None:
                if comparator in ("<", ">", "<=", ">="):
                    q["comparator"] = comparator
                obs["valueQuantity"] = q
    elif kind in ("CE", "CWE", "CNE", "CF"):
        concept = dt.codeable(first, ctx)
        if concept:
            obs["valueCodeableConcept"] = concept
    elif kind in ("DT", "TS", "DTM"):
        when = dt.date_time(first.get(1), ctx)
        if when:
            obs["valueDateTime"] = when
    elif kind == "TM":
        obs["valueString"] = first.text()
    elif kind in ("ED", "RP"):
        ctx.warn(f"OBX {obx.get(1)} carries {kind} data; not mapped into the Observation")
    else:
        text = "\n".join(f.text() for f in values) if kind in ("TX", "FT") else first.text()
        if text.strip():
            obs["valueString"] = text


def _reference_range(obx: Segment, ctx: MapContext) -> dict[str, Any] | None:
    text = obx.field(7).text().strip()
    if not text:
        return None
    m = _RANGE.fullmatch(text)
    unit = obx.field(6)
    result: dict[str, Any] = {}
    if m:
        comparator, first, second = m.groups()
        if second is not None and not comparator:
            low, high = quantity(first, unit), quantity(second, unit)
            if low:
                result["low"] = low
            if high:
                result["high"] = high
        elif comparator in ("<", "<="):
            high = quantity(first, unit)
            if high:
                result["high"] = high
        elif comparator in (">", ">="):
            low = quantity(first, unit)
            if low:
                result["low"] = low
    result["text"] = text
    return result
