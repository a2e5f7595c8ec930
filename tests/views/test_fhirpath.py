"""The FHIRPath engine on small hand-written resources (no shared data needed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from huitong.views.errors import FhirPathEvaluationError, FhirPathSyntaxError
from huitong.views.fhirpath import compile_path, evaluate

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "gender": "female",
    "birthDate": "1980-05",
    "_birthDate": {"extension": [{"url": "http://example.org/precision", "valueCode": "month"}]},
    "deceasedBoolean": False,
    "name": [
        {"use": "official", "family": "王", "given": ["小明", "明"]},
        {"use": "usual", "given": ["Xiaoming"]},
    ],
    "link": [{"other": {"reference": "Patient/p2"}, "type": "seealso"}],
}
OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "o1",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
    "subject": {"reference": "http://example.org/fhir/Patient/p1/_history/3"},
    "valueQuantity": {"value": Decimal("72.50"), "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("name.given", ["小明", "明", "Xiaoming"]),
        ("Patient.name.where(use = 'official').family", ["王"]),
        ("name.given.count()", [3]),
        ("name.first().given.join('/')", ["小明/明"]),
        ("name[1].given", ["Xiaoming"]),
        ("deceased.ofType(boolean)", [False]),
        ("deceased is boolean", [True]),
        ("gender.is(code) and gender.is(string)", [True]),
        ("birthDate < @1990-01-01", [True]),
        ("birthDate = @1980-05-20", []),
        ("birthDate.lowBoundary()", ["1980-05-01"]),
        ("birthDate.extension('http://example.org/precision').value", ["month"]),
        ("link.other.getReferenceKey(Patient)", ["p2"]),
        ("link.other.getReferenceKey(Observation)", []),
        ("getResourceKey()", ["p1"]),
        ("name.exists(use = 'maiden')", [False]),
        ("name.select(given.first()) | name.given.last()", ["小明", "Xiaoming"]),
        ("(1 | 2 | 3).aggregate($this + $total, 0)", [6]),
        ("iif(gender = 'female', 'F', 'M')", ["F"]),
        ("'abc'.substring(1, 5)", ["bc"]),
        ("7 div 2 = 3 and 7 mod 2 = 1", [True]),
        ("1 'cm' = 10 'mm'", [True]),
        ("@2024-01-31 + 1 month", ["2024-02-29"]),
        ("%resource.id", ["p1"]),
        ("{}.empty()", [True]),
    ],
)
def test_patient_expressions(expression: str, expected: list[Any]) -> None:
    assert evaluate(PATIENT, expression) == expected


def test_choice_types_and_decimals_keep_their_precision() -> None:
    assert evaluate(OBSERVATION, "value.ofType(Quantity).value") == [Decimal("72.50")]
    assert evaluate(OBSERVATION, "value.ofType(Quantity).value.precision()") == [2]
    assert evaluate(OBSERVATION, "value.ofType(string)") == []
    assert evaluate(OBSERVATION, "value > 60 '/min'") == [True]
    assert evaluate(OBSERVATION, "subject.getReferenceKey()") == ["p1"]


def test_variables_from_the_caller() -> None:
    assert evaluate(PATIENT, "name.where(use = %use).given", {"use": "usual"}) == ["Xiaoming"]
    with pytest.raises(FhirPathEvaluationError):
        evaluate(PATIENT, "%missing")


@pytest.mark.parametrize("expression", ["name.", "1 +", "name[0", "'open", "a /* b", "@2020-13-01", "x.is()", "f(,)"])
def test_syntax_errors(expression: str) -> None:
    with pytest.raises(FhirPathSyntaxError):
        compile_path(expression)


def test_unknown_function_is_refused_when_compiling() -> None:
    with pytest.raises(FhirPathSyntaxError, match="unknown function"):
        compile_path("name.frobnicate()")


def test_singleton_errors_are_evaluation_errors() -> None:
    with pytest.raises(FhirPathEvaluationError):
        evaluate(PATIENT, "name.given + 'x'")
    with pytest.raises(FhirPathEvaluationError):
        evaluate(PATIENT, "name.single()")


def test_resources_without_a_known_type_still_navigate() -> None:
    custom = {"resourceType": "NotAFhirType", "valueString": "x", "items": [{"a": 1}, {"a": 2}]}
    assert evaluate(custom, "items.a") == [1, 2]
    assert evaluate(custom, "value") == ["x"]
