"""Cleansing at ingest: check the resources of one message, then fix what can be fixed safely, and say which
findings should quarantine it.

:func:`at_ingest` is what the integration engine calls on a message's mapped resources before it stores them:

1. **flag** — every resource rule runs (:func:`huitong.quality.run.check_resources`) and its findings are
   returned, so they are recorded even when the value is then fixed;
2. **fix** — numeric lab results sent in an analyser's other unit are converted to the unit of the lab
   dictionary (``Catalogues.lab_alt_units``, e.g. haemoglobin 13.9 g/dL → 139 g/L), with the value as received
   kept in an Observation note; names lose stray and full-width spaces; the source system is written to
   ``meta.source`` when the mapping left it empty (not on shared directory entries: Practitioner, Location …),
   so scorecards are per source system;
3. **quarantine** — :attr:`IngestResult.quarantine` lists the ``error`` findings that remain after the fixes
   (:func:`huitong.quality.run.blocking`); whether to hold the message back is the channel's decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from huitong.fhir.resource_types import stamp_source
from huitong.quality.rule import Catalogues, Context, Finding
from huitong.quality.rules.observation_unit_expected import loinc_code
from huitong.quality.run import blocking, check_resources

UCUM = "http://unitsofmeasure.org"
NOTE_PREFIX = "quality: unit normalised at ingest"


@dataclass
class IngestResult:
    """What :func:`at_ingest` found and did."""

    findings: list[Finding] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    quarantine: list[Finding] = field(default_factory=list)


def _number(value: float, like: float) -> float | int:
    """``value`` rounded to a sensible precision (whole numbers stay whole when the dictionary's are)."""
    rounded = round(value, 4)
    return int(rounded) if rounded == int(rounded) and isinstance(like, int) else rounded


def normalise_unit(obs: dict[str, Any], catalogues: Catalogues) -> str | None:
    """Convert an Observation's valueQuantity from a known other unit to the dictionary's; a note of the fix."""
    quantity = obs.get("valueQuantity")
    code = loinc_code(obs)
    if not isinstance(quantity, dict) or code is None or not isinstance(quantity.get("value"), int | float):
        return None
    alt = catalogues.lab_alt_units.get(code)
    expected = catalogues.lab_units.get(code)
    unit = quantity.get("code") or quantity.get("unit")
    if alt is None or expected is None or unit != alt[0] or not alt[1]:
        return None
    received = quantity["value"]
    quantity.update(value=_number(received / alt[1], received), unit=expected, system=UCUM, code=expected)
    text = f"{NOTE_PREFIX}: received {received} {alt[0]}, stored in {expected}"
    obs.setdefault("note", []).append({"text": text})
    return f"Observation/{obs.get('id', '?')}: {received} {alt[0]} → {quantity['value']} {expected}"


def _tidy(text: str) -> str:
    return " ".join(text.replace("\u3000", " ").split())


def tidy_names(patient: dict[str, Any]) -> str | None:
    """Strip stray and full-width spaces from a Patient's names (``王 丽\u3000`` → ``王 丽``)."""
    changed = False
    for name in patient.get("name") or []:
        if not isinstance(name, dict):
            continue
        for key in ("family", "text"):
            if isinstance(name.get(key), str) and _tidy(name[key]) != name[key]:
                name[key], changed = _tidy(name[key]), True
        given = name.get("given")
        if isinstance(given, list) and any(isinstance(g, str) and _tidy(g) != g for g in given):
            name["given"], changed = [_tidy(g) if isinstance(g, str) else g for g in given], True
    return f"Patient/{patient.get('id', '?')}: names tidied" if changed else None


def at_ingest(resources: list[dict[str, Any]], ctx: Context, *, source: str | None = None) -> IngestResult:
    """Flag, fix and decide on one message's resources (see the module docstring). Mutates ``resources``."""
    result = IngestResult()
    if source:
        stamp_source(resources, source)
    result.findings = check_resources(resources, ctx)
    for body in resources:
        note = None
        if body.get("resourceType") == "Observation":
            note = normalise_unit(body, ctx.catalogues)
        elif body.get("resourceType") == "Patient":
            note = tidy_names(body)
        if note:
            result.fixes.append(note)
    fixed = {f.res_id for f in result.findings if f.rule_id == "observation-unit-expected"} & {
        fix.split(":", 1)[0].removeprefix("Observation/") for fix in result.fixes
    }
    remaining = [f for f in result.findings if not (f.res_type == "Observation" and f.res_id in fixed)]
    result.quarantine = blocking(remaining)
    return result
