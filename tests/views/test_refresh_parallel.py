"""Views of several resource types rebuilt in worker processes give the same tables, versions and watermarks as
the single-process refresh, on SQLite and PostgreSQL; a worker's error rolls the whole rebuild back."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from huitong.fhir.store import ResourceStore
from huitong.security.actor import Actor
from huitong.services import Services
from huitong.views.errors import ViewDefinitionError
from huitong.views.refresh import refresh_views
from huitong.views.viewdef import ViewDefinition, parse_view

PATIENTS = {
    "name": "patients",
    "resource": "Patient",
    "select": [
        {"column": [{"name": "id", "path": "getResourceKey()"}, {"name": "gender", "path": "gender"}]},
        {"forEachOrNull": "name", "column": [{"name": "family", "path": "family", "type": "string"}]},
    ],
}
OBSERVATIONS = {
    "name": "weights",
    "resource": "Observation",
    "where": [{"path": "code.coding.where(system = 'http://loinc.org' and code = '29463-7').exists()"}],
    "select": [
        {
            "column": [
                {"name": "id", "path": "getResourceKey()"},
                {"name": "patient", "path": "subject.getReferenceKey(Patient)"},
                {"name": "kg", "path": "value.ofType(Quantity).value", "type": "decimal"},
                {"name": "text", "path": "value.ofType(Quantity).unit.lower()"},
            ]
        }
    ],
}
CODES = {
    "name": "codes",
    "resource": "Observation",
    "select": [{"column": [{"name": "code", "path": "code.coding.code.first()", "type": "code"}]}],
}


def _fill(store: ResourceStore, actor: Actor) -> None:
    for i in range(12):
        patient: dict[str, Any] = {"resourceType": "Patient", "gender": "female" if i % 2 else "male"}
        if i % 3:
            patient["name"] = [{"family": f"F{i}"}, {"family": f"G{i}"}]
        created = store.create(actor, patient)
        store.create(
            actor,
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7" if i % 4 else "8302-2"}]},
                "subject": {"reference": f"Patient/{created.res_id}"},
                "valueQuantity": {"value": 60.25 + i, "unit": "KG"},
            },
        )


def _dump(con: duckdb.DuckDBPyConnection, views: list[ViewDefinition]) -> dict[str, Any]:
    out: dict[str, Any] = {
        view.name: sorted(con.execute(f'SELECT * FROM "{view.name}"').fetchall(), key=repr)  # noqa: S608
        for view in views
    }
    out["versions"] = sorted(con.execute("SELECT * FROM _huitong_view_versions").fetchall())
    out["state"] = sorted(
        con.execute("SELECT view_name, resource_type, definition_hash, watermark FROM _huitong_views").fetchall()
    )
    return out


def test_workers_give_the_same_tables(services: Services, store: ResourceStore, actor: Actor) -> None:
    _fill(store, actor)
    views = [parse_view(v) for v in (PATIENTS, OBSERVATIONS, CODES)]
    dumps = []
    for workers in (1, 2):
        with duckdb.connect() as con:
            results = refresh_views(con, services.db, views, actor, full=True, workers=workers)
            assert [r.mode for r in results] == ["full"] * 3
            assert [r.resources_read for r in results] == [12, 12, 12]
            dumps.append((_dump(con, views), [(r.rows_inserted, r.resources_changed, r.watermark) for r in results]))
    assert dumps[0] == dumps[1]
    assert len(dumps[0][0]["weights"]) == 9


def test_a_worker_error_rolls_everything_back(services: Services, store: ResourceStore, actor: Actor) -> None:
    _fill(store, actor)
    bad = parse_view(
        {**CODES, "select": [{"column": [{"name": "code", "path": "code.coding.code | subject.reference"}]}]}
    )
    views = [parse_view(PATIENTS), bad]
    with duckdb.connect() as con:
        refresh_views(con, services.db, [parse_view(PATIENTS)], actor, workers=1)
        before = con.execute("SELECT count(*) FROM patients").fetchall()
        with pytest.raises(ViewDefinitionError):
            refresh_views(con, services.db, views, actor, full=True, workers=2)
        assert con.execute("SELECT count(*) FROM patients").fetchall() == before
        assert not con.execute("SELECT * FROM duckdb_tables() WHERE table_name = 'codes'").fetchall()
