"""A view materialised in DuckDB from the resource store, then refreshed incrementally after changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from huitong.db import Database, migrate, open_database
from huitong.fhir.store import ResourceStore
from huitong.security import Actor
from huitong.settings import Settings, load_settings
from huitong.views import refresh, store_source
from huitong.views.refresh import refresh_view
from huitong.views.viewdef import parse_view

ACTOR = Actor.system("test")
VIEW = {
    "name": "patient_names",
    "resource": "Patient",
    "select": [
        {
            "column": [
                {"name": "id", "path": "getResourceKey()", "type": "id"},
                {"name": "gender", "path": "gender", "type": "code"},
            ]
        },
        {"forEachOrNull": "name", "column": [{"name": "family", "path": "family", "type": "string"}]},
    ],
}


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's database URL; parametrise with PostgreSQL once tests/conftest.py offers one."""
    assert request.param == "sqlite"
    return f"sqlite:///{tmp_path}/t.db"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(database={"url": database_url})


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    migrate.upgrade(settings.database)
    database = open_database(settings.database)
    yield database
    database.close()


@pytest.fixture
def store(db: Database, settings: Settings) -> ResourceStore:
    return ResourceStore(db, settings.fhir, settings.audit)


def _patient(family: list[str], gender: str = "female") -> dict[str, Any]:
    patient: dict[str, Any] = {"resourceType": "Patient", "gender": gender}
    if family:
        patient["name"] = [{"family": f} for f in family]
    return patient


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=lambda r: (r[0], r[2] or ""))


def _rows(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return _sorted(con.execute("SELECT id, gender, family FROM patient_names").fetchall())


def test_materialise_then_refresh_incrementally(store: ResourceStore, db: Database, tmp_path: Path) -> None:
    a = store.create(ACTOR, _patient(["Wang", "Li"]))
    b = store.create(ACTOR, _patient([], gender="male"))
    c = store.create(ACTOR, _patient(["Zhao"]))
    store.create(ACTOR, {"resourceType": "Observation", "status": "final", "code": {"text": "x"}})
    view = parse_view(VIEW)
    with duckdb.connect(str(tmp_path / "views.duckdb")) as con:
        first = refresh_view(con, db, view, ACTOR)
        assert (first.mode, first.resources_read, first.rows_inserted) == ("full", 3, 4)
        assert _rows(con) == _sorted(
            [
                (a.res_id, "female", "Li"),
                (a.res_id, "female", "Wang"),
                (b.res_id, "male", None),
                (c.res_id, "female", "Zhao"),
            ]
        )

        store.update(ACTOR, "Patient", b.res_id, {**_patient(["Sun"], gender="male"), "id": b.res_id})
        store.delete(ACTOR, "Patient", c.res_id)
        second = refresh_view(con, db, view, ACTOR)
        assert second.mode == "incremental"
        assert (second.resources_changed, second.resources_deleted) == (1, 1)
        assert _rows(con) == _sorted(
            [(a.res_id, "female", "Li"), (a.res_id, "female", "Wang"), (b.res_id, "male", "Sun")]
        )

        # Nothing changed: the overlap window re-reads recent resources but skips known versions.
        third = refresh_view(con, db, view, ACTOR)
        assert (third.resources_changed, third.resources_deleted, third.rows_inserted) == (0, 0, 0)
        assert len(_rows(con)) == 3


def test_changed_definition_rebuilds(store: ResourceStore, db: Database) -> None:
    store.create(ACTOR, _patient(["Wang"]))
    with duckdb.connect() as con:
        refresh_view(con, db, parse_view(VIEW), ACTOR)
        changed = {**VIEW, "where": [{"path": "gender = 'male'"}]}
        result = refresh_view(con, db, parse_view(changed), ACTOR)
        assert result.mode == "full"
        assert con.execute("SELECT count(*) FROM patient_names").fetchone() == (0,)


def test_view_without_resources_refreshes_again(store: ResourceStore, db: Database) -> None:
    """A view built while no resource of its type exists has no watermark; refreshing it again must work."""
    with duckdb.connect() as con:
        assert refresh_view(con, db, parse_view(VIEW), ACTOR).watermark is None
        again = refresh_view(con, db, parse_view(VIEW), ACTOR)
        assert (again.mode, again.rows_inserted) == ("incremental", 0)
        store.create(ACTOR, _patient(["Wang"]))
        assert refresh_view(con, db, parse_view(VIEW), ACTOR).rows_inserted == 1


def test_refresh_leaves_an_audit_row(store: ResourceStore, db: Database) -> None:
    store.create(ACTOR, _patient(["Wang"]))
    with duckdb.connect() as con:
        refresh_view(con, db, parse_view(VIEW), ACTOR)
    with db.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT actor_id, entity_type, query FROM audit_event WHERE query LIKE 'view=%'"
        ).fetchall()
    assert [tuple(r) for r in rows] == [("system:test", "Patient", "view=patient_names resources=1")]


def test_incremental_refresh_reads_the_json_of_changed_resources_only(
    store: ResourceStore, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The overlap window re-reads the versions of recent resources; only those a view lacks are read whole."""
    a = store.create(ACTOR, _patient(["Wang"]))
    b = store.create(ACTOR, _patient(["Li"]))
    fetched: list[str] = []

    def read_texts(reader: Any, pks: list[int], **kwargs: Any) -> dict[int, store_source.StoredText]:
        texts = store_source.read_texts(reader, pks, **kwargs)
        fetched.extend(text.res_id for text in texts.values())
        return texts

    monkeypatch.setattr(refresh, "read_texts", read_texts)
    with duckdb.connect() as con:
        refresh_view(con, db, parse_view(VIEW), ACTOR)
        store.update(ACTOR, "Patient", b.res_id, {**_patient(["Sun"]), "id": b.res_id})
        c = store.create(ACTOR, _patient(["Zhao"]))
        result = refresh_view(con, db, parse_view(VIEW), ACTOR)
        assert (result.mode, result.resources_read, result.resources_changed) == ("incremental", 3, 2)
        assert sorted(fetched) == sorted([b.res_id, c.res_id])
        assert _rows(con) == _sorted(
            [(a.res_id, "female", "Wang"), (b.res_id, "female", "Sun"), (c.res_id, "female", "Zhao")]
        )
