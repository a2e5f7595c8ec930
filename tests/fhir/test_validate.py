"""Validation: structural rules, the full R4 model, and fuzzing (only FhirError escapes)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitong.fhir.errors import FhirError
from huitong.fhir.validate import _MAX_DEPTH, _clean, _json_rules, check_full, check_structure, structure_issues

JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)


@pytest.mark.parametrize(
    ("resource", "expression"),
    [
        ({"resourceType": "Patient", "name": []}, "Patient.name"),
        ({"resourceType": "Patient", "gender": None}, "Patient.gender"),
        ({"resourceType": "Patient", "text": {}}, "Patient.text"),
        ({"resourceType": "Patient", "gender": "  "}, "Patient.gender"),
        ({"resourceType": "Patient", "id": "has space"}, "Patient.id"),
        ({"resourceType": "Nope"}, "resourceType"),
    ],
)
def test_structural_rules(resource: dict[str, Any], expression: str) -> None:
    issues = list(structure_issues(resource))
    assert issues and issues[0].expression == (expression,)


def test_null_is_allowed_inside_primitive_arrays() -> None:
    body = {"resourceType": "Patient", "name": [{"given": ["A", "B"], "_given": [None, {"id": "x"}]}]}
    assert list(structure_issues(body)) == []


def test_full_validation_reports_paths() -> None:
    with pytest.raises(FhirError) as info:
        check_full({"resourceType": "Observation", "status": "final"})
    assert info.value.status == 422
    assert any(i.code == "required" and i.expression == ("Observation.code",) for i in info.value.issues)


def test_types_missing_from_r4b_get_a_warning() -> None:
    issues = check_full({"resourceType": "MedicinalProduct", "id": "x"})
    assert issues and issues[0].severity == "warning"


@given(JSON)
def test_fuzzed_input_raises_only_fhir_errors(value: Any) -> None:
    for check in (check_structure, check_full):
        with contextlib.suppress(FhirError):
            check(value)


@given(st.dictionaries(st.sampled_from(["id", "gender", "birthDate", "active", "name", "meta"]), JSON, max_size=4))
def test_fuzzed_patients_raise_only_fhir_errors(fields: dict[str, Any]) -> None:
    with contextlib.suppress(FhirError):
        check_full({"resourceType": "Patient", **fields})


@given(JSON)
def test_quick_walk_agrees_with_the_rules_that_name_paths(value: Any) -> None:
    assert _clean(value, 0) == (not list(_json_rules(value, "X", 0)))


def test_quick_walk_stops_at_the_depth_limit() -> None:
    deep: Any = "x"
    for _ in range(_MAX_DEPTH + 2):
        deep = [deep]
    assert not _clean(deep, 0)
    assert [i.code for i in _json_rules(deep, "X", 0)] == ["too-costly"]
