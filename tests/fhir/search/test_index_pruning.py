"""The indexer evaluates only the parameters whose first element a resource has (``index._candidates``, from
``params._roots``: typed choices by their exact key). Pruning must never lose a row: the rows equal those of every
indexed parameter evaluated, on the official R4 examples and on random resources with choice elements."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from huitong.fhir.search.index import Rows, index_rows, param_rows
from huitong.fhir.search.params import indexed_params, search_params
from tests.shared_data import r4_example_resources


def _multiset(rows: Rows) -> Counter[tuple[str, tuple[Any, ...]]]:
    return Counter((t.name, tuple(sorted(r.items()))) for t, values in rows.items() for r in values)


def _every_param(rtype: str, body: dict[str, Any]) -> Rows:
    rows: Rows = {}
    memo: dict[Any, Any] = {}
    for param in indexed_params(rtype):
        param_rows(1, rtype, param, body, rows, memo)
    return rows


def _same(body: dict[str, Any]) -> None:
    rtype = body["resourceType"]
    pruned = index_rows(1, rtype, body, fulltext=False)
    assert _multiset(pruned) == _multiset(_every_param(rtype, body)), rtype


def test_typed_choices_start_from_their_key() -> None:
    value = search_params("Observation")["value-quantity"]
    assert value.keys == {"value", "valueQuantity", "valueSampledData"} and not value.roots
    composite = search_params("Observation")["code-value-quantity"]  # over the Observation itself
    assert composite.keys == {"value", "valueQuantity"}
    union = search_params("Observation")["code-value-date"]  # every branch of the component's union
    assert union.keys == {"value", "valueDateTime", "valuePeriod"}
    assert search_params("Observation")["code"].roots == {"code"}
    assert search_params("MedicationRequest")["medication"].keys == {"medication", "medicationReference"}


def test_pruning_loses_no_row_on_the_official_r4_examples() -> None:
    checked = 0
    for resource in r4_example_resources():
        if search_params(resource["resourceType"]):
            _same(resource)
            checked += 1
    assert checked > 1000


_concept = st.fixed_dictionaries({"coding": st.lists(st.fixed_dictionaries({"code": st.sampled_from("ab")}))})
_quantity = st.fixed_dictionaries({"value": st.integers(0, 9), "unit": st.just("mg")})
_choices = {
    "valueQuantity": _quantity,
    "valueCodeableConcept": _concept,
    "valueString": st.sampled_from(["阳性", "negative"]),
    "valueDateTime": st.just("2024-03-05T10:00:00+08:00"),
    "valuePeriod": st.just({"start": "2024-03-05"}),
    "valueBoolean": st.booleans(),
    "value": _quantity | _concept,  # not valid FHIR, but seen: evaluated like any choice
    "onsetAge": _quantity,
    "onsetString": st.just("childhood"),
    "onsetDateTime": st.just("2020-01-01"),
    "medicationReference": st.just({"reference": "Medication/m1"}),
    "medicationCodeableConcept": _concept,
    "component": st.lists(
        st.fixed_dictionaries({"code": _concept}, optional={"valueQuantity": _quantity, "valueString": st.just("x")}),
        max_size=2,
    ),
    "code": _concept,
    "subject": st.just({"reference": "Patient/p1"}),
}


@given(
    rtype=st.sampled_from(["Observation", "Condition", "MedicationRequest", "MedicationAdministration"]),
    keys=st.lists(st.sampled_from(sorted(_choices)), unique=True, max_size=6),
    data=st.data(),
)
def test_pruning_loses_no_row_on_random_choices(rtype: str, keys: list[str], data: st.DataObject) -> None:
    body: dict[str, Any] = {"resourceType": rtype}
    for key in keys:
        body[key] = data.draw(_choices[key])
    _same(body)
