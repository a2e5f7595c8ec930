"""Hand-written ViewDefinitions over small resources: semantics, validation and the DuckDB table."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from huitong.views.duckdb_sink import materialise_rows
from huitong.views.errors import ViewDefinitionError
from huitong.views.runner import run_view
from huitong.views.viewdef import parse_view

ENCOUNTERS: list[dict[str, Any]] = [
    {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "IMP"},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": "2026-01-03T08:00:00+08:00", "end": "2026-01-09T10:00:00+08:00"},
        "diagnosis": [
            {"condition": {"reference": "Condition/c1"}, "rank": 1},
            {"condition": {"reference": "Condition/c2"}, "rank": 2},
        ],
    },
    {"resourceType": "Encounter", "id": "e2", "status": "in-progress", "class": {"code": "AMB"}},
    {"resourceType": "Patient", "id": "p1"},
]
VIEW: dict[str, Any] = {
    "resourceType": "ViewDefinition",
    "name": "inpatient_diagnosis",
    "resource": "Encounter",
    "constant": [{"name": "inpatient", "valueCode": "IMP"}],
    "where": [{"path": "class.code = %inpatient"}],
    "select": [
        {
            "column": [
                {"name": "encounter_id", "path": "getResourceKey()", "type": "id"},
                {"name": "patient_id", "path": "subject.getReferenceKey(Patient)", "type": "id"},
                {"name": "admitted", "path": "period.start", "type": "dateTime"},
            ]
        },
        {
            "forEachOrNull": "diagnosis",
            "column": [
                {"name": "condition_id", "path": "condition.getReferenceKey()", "type": "id"},
                {"name": "rank", "path": "rank", "type": "positiveInt"},
            ],
        },
    ],
}


def test_rows_of_a_view_with_where_constant_and_for_each() -> None:
    rows = list(run_view(parse_view(VIEW), ENCOUNTERS))
    assert rows == [
        {
            "encounter_id": "e1",
            "patient_id": "p1",
            "admitted": "2026-01-03T08:00:00+08:00",
            "condition_id": "c1",
            "rank": 1,
        },
        {
            "encounter_id": "e1",
            "patient_id": "p1",
            "admitted": "2026-01-03T08:00:00+08:00",
            "condition_id": "c2",
            "rank": 2,
        },
    ]


def test_union_all_and_collection_columns() -> None:
    view = parse_view(
        {
            "name": "contacts",
            "resource": "Patient",
            "select": [
                {"column": [{"name": "id", "path": "id"}, {"name": "given", "path": "name.given", "collection": True}]},
                {
                    "unionAll": [
                        {"forEach": "telecom", "column": [{"name": "value", "path": "value"}]},
                        {"forEach": "contact.telecom", "column": [{"name": "value", "path": "value"}]},
                    ]
                },
            ],
        }
    )
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "name": [{"given": ["A", "B"]}],
        "telecom": [{"value": "1"}],
        "contact": [{"telecom": [{"value": "2"}, {"value": "3"}]}],
    }
    assert [r["value"] for r in run_view(view, [patient])] == ["1", "2", "3"]
    assert next(iter(run_view(view, [patient])))["given"] == ["A", "B"]


def test_the_duckdb_table_has_typed_columns() -> None:
    view = parse_view(VIEW)
    with duckdb.connect() as con:
        assert materialise_rows(con, view, ENCOUNTERS) == 2
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'inpatient_diagnosis'"
            ).fetchall()
        )
        ranks = con.execute("SELECT rank FROM inpatient_diagnosis ORDER BY rank").fetchall()
    assert types["rank"] == "BIGINT"
    assert types["admitted"] == "VARCHAR"
    assert types["_resource_key"] == "VARCHAR"
    assert ranks == [(1,), (2,)]


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"select": [{"column": [{"name": "id", "path": "id"}]}]}, "resource"),
        ({"resource": "Patient", "select": []}, "select"),
        ({"resource": "Patient", "select": [{"column": [{"name": "bad name", "path": "id"}]}]}, "column name"),
        (
            {"resource": "Patient", "select": [{"column": [{"name": "a", "path": "id"}, {"name": "a", "path": "id"}]}]},
            "twice",
        ),
        ({"resource": "Patient", "select": [{"column": [{"name": "a", "path": "name.("}]}]}, "select"),
        ({"resource": "Patient", "select": [{"column": [{"name": "a", "path": "%nope"}]}]}, "unknown constant"),
        (
            {"resource": "Patient", "constant": [{"name": "c"}], "select": [{"column": [{"name": "a", "path": "id"}]}]},
            "value",
        ),
    ],
)
def test_invalid_definitions_are_refused(definition: dict[str, Any], message: str) -> None:
    with pytest.raises(ViewDefinitionError, match=message):
        parse_view(definition)


def test_a_column_with_several_values_needs_collection() -> None:
    view = parse_view({"resource": "Patient", "select": [{"column": [{"name": "given", "path": "name.given"}]}]})
    with pytest.raises(ViewDefinitionError, match="collection"):
        list(run_view(view, [{"resourceType": "Patient", "name": [{"given": ["a", "b"]}]}]))


def test_a_where_path_must_be_boolean() -> None:
    view = parse_view(
        {"resource": "Patient", "where": [{"path": "id"}], "select": [{"column": [{"name": "id", "path": "id"}]}]}
    )
    with pytest.raises(ViewDefinitionError, match="boolean"):
        list(run_view(view, [{"resourceType": "Patient", "id": "x"}]))
