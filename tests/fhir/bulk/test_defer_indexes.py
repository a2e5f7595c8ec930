"""``huitong import --defer-indexes``: lookup indexes set aside for a load and built again, on both backends."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from huitong.app import create_app
from huitong.cli import app
from huitong.fhir.search import lookup_indexes
from huitong.fhir.search.schema import INDEX_TABLES
from huitong.security.actor import Actor
from huitong.services import Services
from tests.index_check import stored_and_expected


def _indexes(services: Services) -> dict[str, set[str]]:
    """Every index of the search tables, by table, as the database reports it."""
    with services.db.read() as conn:
        inspector = sa.inspect(conn)
        return {t.name: {str(ix["name"]) for ix in inspector.get_indexes(t.name)} for t in INDEX_TABLES}


def _env(db_url: str) -> dict[str, str]:
    return {"HUITONG_ENV": "test", "HUITONG_DATABASE__URL": db_url, "HUITONG_SECURITY__SECRET_KEY": "k" * 48}


def _ids(services: Services, actor: Actor, rtype: str, params: list[tuple[str, str]]) -> list[str]:
    return sorted(m.res_id for m in services.search.search(actor, rtype, [*params, ("_count", "1000")]).matches)


QUERIES: list[tuple[str, list[tuple[str, str]]]] = [
    ("Patient", [("name", "zhang")]),
    ("Observation", [("code", "http://loinc.org|718-7")]),
    ("Observation", [("subject", "Patient/cn1")]),
    ("Observation", [("date", "ge2024-01-01")]),
    ("Observation", [("value-quantity", "gt100")]),
]


def _resources() -> list[dict[str, object]]:
    from huitong.fhir.bench.dataset import synthetic_resources

    chinese = [
        {"resourceType": "Patient", "id": f"cn{i}", "name": [{"family": "张", "given": ["明"], "text": "张明"}]}
        for i in range(5)
    ]
    labs = [
        {
            "resourceType": "Observation",
            "id": f"hb{i}",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
            "subject": {"reference": f"Patient/cn{i % 5}"},
            "effectiveDateTime": f"2024-0{1 + i % 9}-01T08:00:00+08:00",
            "valueQuantity": {"value": 90 + i, "unit": "g/L"},
        }
        for i in range(30)
    ]
    return [*synthetic_resources(200), *chinese, *labs]


def test_a_deferred_load_ends_with_every_index_and_the_same_answers(
    services: Services, actor: Actor, tmp_path: Path, db_url: str
) -> None:
    before = _indexes(services)
    assert all(before.values()) and len(lookup_indexes.DEFERRABLE) >= 9
    source = tmp_path / "in.ndjson"
    source.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in _resources()))
    args = ["import", str(source), "--state", str(tmp_path / "s.json"), "--defer-indexes", "--chunk", "50"]
    result = CliRunner().invoke(app, args, env=_env(db_url))
    assert result.exit_code == 0, result.output
    assert "search lookup indexes set aside until the end: " in result.output
    assert "built " in result.output
    assert "planner statistics refreshed (ANALYZE)" in result.output
    assert _indexes(services) == before
    assert lookup_indexes.missing(services.db) == []
    answers = {str(q): _ids(services, actor, rtype, q) for rtype, q in QUERIES}
    assert {f"cn{i}" for i in range(5)} <= set(answers[str(QUERIES[0][1])])
    assert answers[str(QUERIES[2][1])] == sorted(f"hb{i}" for i in range(1, 30, 5))
    above = [i for i in answers[str(QUERIES[4][1])] if i.startswith("hb")]
    assert above == sorted(f"hb{i}" for i in range(11, 30))  # 90 + i > 100
    stored, expected = stored_and_expected(db_url, services.settings.fhir.fulltext_types)
    assert stored == expected
    with services.db.read() as conn:  # the planner knows what was loaded (not left to autovacuum's next round)
        if conn.dialect.name == "postgresql":
            analysed = "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'resource'"
            assert conn.exec_driver_sql(analysed).scalar_one() is not None
        else:
            stat = "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'resource'"
            assert conn.exec_driver_sql(stat).scalar_one() > 0


def test_while_set_aside_searches_are_right_and_a_killed_load_is_repaired(
    services: Services, actor: Actor, tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "in.ndjson"
    source.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in _resources()))
    args = ["import", str(source), "--state", str(tmp_path / "s.json")]
    assert CliRunner().invoke(app, args, env=_env(db_url)).exit_code == 0
    expected = {str(q): _ids(services, actor, rtype, q) for rtype, q in QUERIES}
    before = _indexes(services)

    dropped = lookup_indexes.set_aside(services.db)  # as a load killed before its end leaves the store
    assert sorted(dropped) == sorted(str(i.name) for i in lookup_indexes.DEFERRABLE)
    assert {name for names in _indexes(services).values() for name in names} == {
        f"ix_{t.name}_resource_pk" for t in INDEX_TABLES
    }
    assert {str(q): _ids(services, actor, rtype, q) for rtype, q in QUERIES} == expected
    with (
        caplog.at_level(logging.WARNING, logger="huitong.app"),
        TestClient(create_app(services.settings, services=services)),
    ):
        pass
    assert "search lookup indexes are missing" in caplog.text and "huitong fhir build-indexes" in caplog.text

    result = CliRunner().invoke(app, ["fhir", "build-indexes"], env=_env(db_url))
    assert result.exit_code == 0, result.output
    assert _indexes(services) == before
    again = CliRunner().invoke(app, ["fhir", "build-indexes"], env=_env(db_url))
    assert again.exit_code == 0 and "every search lookup index exists" in again.output
    assert {str(q): _ids(services, actor, rtype, q) for rtype, q in QUERIES} == expected
