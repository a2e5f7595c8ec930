"""Quantities: v2 NM values as JSON numbers, and OBX-6-style units as UCUM where they can be recognised."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from huitong.ingest.hl7v2.message import Encoding, Field

_UCUM = {
    "%": "%",
    "g/l": "g/L",
    "g/dl": "g/dL",
    "mg/dl": "mg/dL",
    "mg/l": "mg/L",
    "mmol/l": "mmol/L",
    "umol/l": "umol/L",
    "μmol/l": "umol/L",
    "µmol/l": "umol/L",
    "nmol/l": "nmol/L",
    "pmol/l": "pmol/L",
    "u/l": "U/L",
    "iu/l": "[IU]/L",
    "miu/l": "m[IU]/L",
    "iu/ml": "[IU]/mL",
    "uiu/ml": "u[IU]/mL",
    "ng/ml": "ng/mL",
    "pg/ml": "pg/mL",
    "ug/l": "ug/L",
    "fl": "fL",
    "pg": "pg",
    "s": "s",
    "sec": "s",
    "min": "min",
    "h": "h",
    "kg": "kg",
    "g": "g",
    "cm": "cm",
    "mm": "mm",
    "m": "m",
    "ml": "mL",
    "l": "L",
    "mmhg": "mm[Hg]",
    "mm hg": "mm[Hg]",
    "/min": "/min",
    "beats/min": "/min",
    "bpm": "/min",
    "breaths/min": "/min",
    "次/分": "/min",
    "cel": "Cel",
    "°c": "Cel",
    "℃": "Cel",
    "degc": "Cel",
    "10^9/l": "10*9/L",
    "10*9/l": "10*9/L",
    "x10^9/l": "10*9/L",
    "10^12/l": "10*12/L",
    "10*12/l": "10*12/L",
    "x10^12/l": "10*12/L",
    "kg/m2": "kg/m2",
    "ml/min": "mL/min",
    "ml/min/1.73m2": "mL/min/{1.73_m2}",
    "mosm/kg": "mosm/kg",
    "ratio": "{ratio}",
    "mm/h": "mm/h",
    "meq/l": "meq/L",
    "mg": "mg",
    "ug": "ug",
}


@lru_cache(maxsize=4096)
def _unit(raw: str, enc: Encoding) -> tuple[tuple[str, str], ...]:
    unit = Field(raw, enc)
    code, text, system = unit.get(1).strip(), unit.get(2).strip(), unit.get(3).strip().upper()
    shown = text or code
    ucum_code = code if system in ("UCUM", "ISO+", "ANSI+") and code else _UCUM.get(code.lower()) if code else None
    parts: list[tuple[str, str]] = []
    if shown:
        parts.append(("unit", shown))
    if ucum_code:
        parts += [("system", "http://unitsofmeasure.org"), ("code", ucum_code)]
    return tuple(parts)


def ucum(unit: Field) -> tuple[str, str | None]:
    """(unit text, UCUM code or ``None``) of an OBX-6-style CWE unit."""
    found = dict(_unit(unit.raw, unit.enc))
    return found.get("unit", ""), found.get("code")


def quantity(value: str, unit: Field | None = None) -> dict[str, Any] | None:
    """A FHIR Quantity for a decimal string (and OBX-6-style unit); ``None`` when it is not a number."""
    number = decimal(value)
    if number is None:
        return None
    result: dict[str, Any] = {"value": number}
    if unit is not None and unit.raw:
        result.update(_unit(unit.raw, unit.enc))
    return result


_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")


def decimal(text: str) -> int | float | None:
    """A v2 NM as a JSON number (int when written without a point, so ``5`` stays ``5``); ``None`` when not
    a number."""
    text = text.strip()
    if not text or not _DECIMAL.fullmatch(text):
        return None
    return float(text) if "." in text else int(text)
