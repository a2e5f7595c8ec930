"""The compiled accessors (``huitong.views.fastpath``) give the runner's rows: on every SQL-on-FHIR suite case
whose view compiles, on the indicator views, and where they must give up (primitive extensions, numbers outside
``decimal`` columns, several values in one column)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from huitong.indicators.flatten import load_views
from huitong.views.errors import ViewsError
from huitong.views.fastpath import compile_view, load_fast, rows_of
from huitong.views.runner import Row, resource_rows
from huitong.views.viewdef import ViewDefinition, parse_view
from tests.shared_data import require_shared
from tests.views.test_sql_on_fhir_suite import SUITE, _cases


def _same(fast: list[Row], exact: list[Row], view: ViewDefinition) -> bool:
    """Rows equal cell for cell; a float from the fast path only in a ``decimal`` column, equal as a double."""
    if len(fast) != len(exact):
        return False
    decimal = [c.type == "decimal" for c in view.columns]
    for a, b in zip(fast, exact, strict=True):
        for x, y, is_decimal in zip(a, b, decimal, strict=True):
            if isinstance(x, float):
                if not is_decimal or not isinstance(y, Decimal | int) or float(y) != x:
                    return False
            elif x != y or type(x) is not type(y):
                return False
    return True


def _check(view: ViewDefinition, text: str) -> bool:
    """Compare the fast path with the runner on one resource; True if the fast path answered itself."""
    exact_resource = json.loads(text, parse_float=Decimal)
    fast_view = compile_view(view)
    try:
        exact = resource_rows(view, exact_resource)
    except ViewsError:
        with pytest.raises(ViewsError):
            rows_of(view, fast_view, text, load_fast(text))
        return False
    assert _same(rows_of(view, fast_view, text, load_fast(text)), exact, view)
    fast = fast_view.rows(load_fast(text)) if fast_view is not None else None
    if fast is None:
        return False
    assert _same(fast, exact, view)
    return True


@pytest.mark.parametrize(("file", "title"), _cases())
def test_suite_case(file: str | None, title: str | None) -> None:
    if file is None or title is None:
        require_shared(*SUITE)
        return
    folder = require_shared(*SUITE)
    suite = json.loads((folder / file).read_text())
    test = next(t for t in suite["tests"] if t["title"] == title)
    try:
        view = parse_view(json.loads(json.dumps(test["view"]), parse_float=Decimal))
    except ViewsError:
        return
    for resource in suite["resources"]:
        _check(view, json.dumps(resource))


def test_suite_coverage() -> None:
    """Enough of the suite compiles for the comparison above to mean something."""
    folder = require_shared(*SUITE)
    compiled = total = 0
    for file in json.loads((folder / "manifest.json").read_text()):
        for test in json.loads((folder / file).read_text())["tests"]:
            try:
                view = parse_view(test["view"])
            except ViewsError:
                continue
            total += 1
            compiled += compile_view(view) is not None
    assert compiled >= 40, f"{compiled} of {total}"


def test_every_indicator_view_compiles() -> None:
    for view in load_views():
        assert compile_view(view) is not None, view.name


ENCOUNTER: dict[str, Any] = {
    "resourceType": "Encounter",
    "id": "fp-1",
    "meta": {"tag": [{"system": "https://huitong.org/fhir/CodeSystem/record-source", "code": "frontpage"}]},
    "extension": [
        {"url": "https://huitong.org/fhir/StructureDefinition/age-years", "valueInteger": 37},
        {"url": "https://huitong.org/fhir/StructureDefinition/admitting-department", "valueString": "0202"},
    ],
    "identifier": [{"system": "urn:oid:2.16.156.10011.1.12", "value": "ZY1"}],
    "class": {"code": "IMP"},
    "subject": {"identifier": {"value": "000181"}},
    "period": {"start": "2024-06-14T08:24:00+08:00", "end": "2024-06-27T13:17:00+08:00"},
    "length": {"value": 13.50, "unit": "d"},
    "diagnosis": [{"condition": {"reference": "Condition/fp-1-dx0"}, "rank": 1}],
    "serviceProvider": {"reference": "Organization/dept-0202"},
}


ADMIT = "https://huitong.org/fhir/StructureDefinition/admitting-department"


def _view(name: str) -> ViewDefinition:
    return next(v for v in load_views() if v.name == name)


def test_indicator_views_on_a_discharge() -> None:
    text = json.dumps(ENCOUNTER)
    assert _check(_view("ht_discharge"), text)
    assert _check(_view("ht_discharge_diagnosis_rank"), text)


@pytest.mark.parametrize(
    "change",
    [
        {"class": {"code": "IMP"}, "_status": {"extension": []}, "status": "finished"},  # unused primitive ext
        {"class": {"_code": {"extension": [{"url": "x", "valueString": "y"}]}, "code": "IMP"}},  # used one
        {"extension": [{"url": "https://huitong.org/fhir/StructureDefinition/age-years", "valueDecimal": 37.0}]},
        {"extension": [{"url": ADMIT, "valueInteger": 2}]},
        {"identifier": [{"system": "urn:oid:2.16.156.10011.1.12", "value": "A"}, {"value": "B"}]},
        {"subject": {"identifier": [{"value": "A"}, {"value": "B"}]}},  # two values in one column: an error
        {"period": {"start": "2024", "_end": {"extension": []}}},
        {"class": {"code": 5}},
        {"meta": {"tag": [{"system": "https://huitong.org/fhir/CodeSystem/record-source", "code": ["frontpage"]}]}},
    ],
)
def test_edge_cases_match_the_runner(change: dict[str, Any]) -> None:
    text = json.dumps({**ENCOUNTER, **change})
    for name in ("ht_discharge", "ht_discharge_diagnosis_rank", "ht_outpatient_visit", "ht_encounter_visit"):
        _check(_view(name), text)


def test_orjson_refusal_falls_back() -> None:
    text = json.dumps(ENCOUNTER).replace('"ZY1"', '"\\ud800"')  # a lone surrogate: json reads it, orjson does not
    assert load_fast(text) is None
    view = _view("ht_discharge")
    assert rows_of(view, compile_view(view), text, None) == resource_rows(view, json.loads(text, parse_float=Decimal))
