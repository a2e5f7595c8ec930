"""The official FHIRPath R4 test suite (``shared/testdata/fhir-test-suites/fhirpath-r4``): loading and checking.

The suite names its inputs by their XML file names; the JSON forms of the same spec examples are in
``shared/testdata/fhir-r4-examples``. Inputs not present there make their cases skip (listed in
docs/views.md).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from huitong.views.fhirpath.quantity import Quantity, format_decimal
from huitong.views.fhirpath.temporal import Temporal
from huitong.views.fhirpath.values import Node, to_system

SUITE_FILE = ("testdata", "fhir-test-suites", "fhirpath-r4", "tests-fhir-r4.xml")
EXAMPLES = ("testdata", "fhir-r4-examples")
#: Input file named by the suite → JSON file of the same example in fhir-r4-examples.
INPUTS = {
    "patient-example.xml": "Patient-example.json",
    "observation-example.xml": "Observation-example.json",
    "questionnaire-example.xml": "Questionnaire-3141.json",
    "appointment-examplereq.json": "Appointment-examplereq.json",
    "explanationofbenefit-example.json": "ExplanationOfBenefit-EB3500.json",
}


@dataclass(frozen=True)
class Case:
    group: str
    name: str
    input: str | None
    expression: str
    invalid: str | None
    mode: str | None
    predicate: str | None
    outputs: tuple[tuple[str | None, str], ...]


def load_cases(suite_file: Path) -> list[Case]:
    root = ET.parse(suite_file).getroot()  # noqa: S314 - trusted test file
    cases = []
    for group in root:
        for test in group:
            if test.tag != "test":
                continue
            expr = test.find("expression")
            assert expr is not None
            cases.append(
                Case(
                    group=group.get("name", ""),
                    name=test.get("name", ""),
                    input=test.get("inputfile"),
                    expression=expr.text or "",
                    invalid=expr.get("invalid"),
                    mode=test.get("mode") or expr.get("mode"),
                    predicate=test.get("predicate"),
                    outputs=tuple((o.get("type"), o.text or "") for o in test.findall("output")),
                )
            )
    return cases


@cache
def load_input(examples: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((examples / INPUTS[name]).read_text(encoding="utf-8"), parse_float=Decimal)
    return data


def describe(item: Any) -> tuple[str, str]:
    """(type, text) of a result item in the suite's notation (``@`` before dates, ``'unit'`` quoted)."""
    ftype = item.type if isinstance(item, Node) else None
    value = to_system(item)
    if isinstance(value, bool):
        return "boolean", "true" if value else "false"
    if isinstance(value, int):
        return ftype or "integer", str(value)
    if isinstance(value, Decimal):
        return ftype or "decimal", format_decimal(value)
    if isinstance(value, str):
        return ftype or "string", value
    if isinstance(value, Temporal):
        prefix = "@T" if value.kind == "time" else "@"
        return value.kind, prefix + str(value)
    if isinstance(value, Quantity):
        return "Quantity", str(value)
    return ftype or "?", repr(value)


_SAME_TYPE = {"code": "string", "id": "string", "uri": "string", "instant": "dateTime"}


def matches(actual: list[Any], expected: tuple[tuple[str | None, str], ...]) -> bool:
    if len(actual) != len(expected):
        return False
    for item, (etype, etext) in zip(actual, expected, strict=True):
        atype, atext = describe(item)
        if atext != etext:
            return False
        if etype is not None and _SAME_TYPE.get(atype, atype) != _SAME_TYPE.get(etype, etype):
            return False
    return True
