"""``huitong db copy``: a SQLite store copied into a throwaway PostgreSQL database is the same store there —
resources readable, history intact, searches answer, the audit chain verifies, counts equal, new writes go on."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient
from typer.testing import CliRunner

from huitong.app import create_app
from huitong.cli import app
from huitong.db import migrate
from huitong.db.copy import CopyError, CopyRefusedError, copy_database
from huitong.ingest import inbox
from huitong.ingest.receive import examine
from huitong.security.actor import Actor
from huitong.security.audit_chain import verify_chain
from huitong.services import Services, open_services
from huitong.settings import DatabaseSettings, Settings
from tests.conftest import AUTH, make_settings
from tests.ingest.server.conftest import adt
from tests.ops.conftest import admin
from tests.postgres import PostgresServer

IDENTIFIER = "urn:oid:2.16.156.10011.1.3"


@pytest.fixture
def pg_empty(pg_server: PostgresServer) -> Iterator[Callable[[], str]]:
    """Makes empty PostgreSQL databases (no tables) on the test server; dropped afterwards."""
    made: list[str] = []

    def make() -> str:
        name = f"c_{uuid.uuid4().hex[:12]}"
        admin(pg_server.url, f'CREATE DATABASE "{name}"')
        made.append(name)
        return pg_server.database_url(name)

    yield make
    for name in made:
        admin(pg_server.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fill(services: Services, actor: Actor) -> dict[str, str]:
    """A small store: patients, observations referring to them, an update and a deletion (history rows)."""
    ids: dict[str, str] = {}
    for n in range(12):
        patient = services.store.create(
            actor,
            {
                "resourceType": "Patient",
                "identifier": [{"system": IDENTIFIER, "value": f"MR{n:06d}"}],
                "name": [{"family": "王", "given": [f"测试{n}"]}],
                "gender": "female" if n % 2 else "male",
                "birthDate": f"19{60 + n}-03-0{1 + n % 9}",
            },
        )
        ids[f"p{n}"] = patient.res_id
        obs = services.store.create(
            actor,
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}], "text": "体温"},
                "subject": {"reference": f"Patient/{patient.res_id}"},
                "effectiveDateTime": f"2025-06-{1 + n:02d}T08:00:00+08:00",
                "valueQuantity": {"value": 36.5 + n / 10, "unit": "Cel"},
            },
        )
        ids[f"o{n}"] = obs.res_id
    services.store.update(
        actor,
        "Patient",
        ids["p0"],
        {
            "resourceType": "Patient",
            "id": ids["p0"],
            "identifier": [{"system": IDENTIFIER, "value": "MR000000"}],
            "name": [{"family": "王", "given": ["改名"]}],
            "gender": "male",
        },
    )
    services.store.delete(actor, "Observation", ids["o11"])
    messages = [examine(adt(f"CP{n}", mrn=f"MR{n:06d}"), "his").incoming for n in range(5)]  # the message store too
    services.db.write(lambda conn: inbox.insert_batch(conn, [*messages, examine(b"junk", "his").incoming]))
    stored = [r.id for r in inbox.search(services.db, inbox.Query(status="received"))]
    services.db.write(lambda conn: inbox.mark_many(conn, [inbox.Mark(i, "processed") for i in stored]))
    return ids


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            names = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
            return {t: int(conn.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar_one()) for t in names}  # noqa: S608
    finally:
        engine.dispose()


def test_sqlite_store_copied_to_postgresql_is_the_same_store(
    sqlite_settings: Settings, sqlite_services: Services, actor: Actor, pg_empty: Callable[[], str]
) -> None:
    ids = _fill(sqlite_services, actor)
    sqlite_services.close()
    source = sqlite_settings.database.url
    target = pg_empty()

    report = copy_database(source, target)

    assert report.problems == []
    assert report.target_revision == migrate.head_revisions()
    assert _counts(target) == _counts(source)  # the message store's tally too: its triggers did not fire again
    assert _counts(source)["ingest_message_patient"] == 5 and _counts(source)["ingest_tally"] == 6 + 2 * 5
    assert report.rows == sum(_counts(source).values())
    assert report.sequences > 0

    engine = sa.create_engine(target, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            chain = verify_chain(conn)  # `huitong audit verify`, on the copy
            indexes = {i["name"] for i in sa.inspect(conn).get_indexes("resource")}
            assert "ix_resource_res_type_pk" in indexes  # dropped for the load, built again after it
    finally:
        engine.dispose()
    assert chain.ok, chain.problems
    assert chain.rows == _counts(source)["audit_event"]

    settings = make_settings(target)
    services = open_services(settings)
    try:
        patient = services.store.read(actor, "Patient", ids["p0"])
        assert patient.version_id == 2
        assert services.store.vread(actor, "Patient", ids["p0"], 1).version_id == 1
        assert services.store.read(actor, "Observation", ids["o3"]).version_id == 1
        # New writes continue the copied keys and the copied audit chain.
        created = services.store.create(actor, {"resourceType": "Patient", "name": [{"family": "李"}]})
        assert services.store.read(actor, "Patient", created.res_id).version_id == 1
        with services.db.read() as conn:
            assert verify_chain(conn).ok
    finally:
        services.close()

    with TestClient(create_app(settings), headers=AUTH) as client:
        found = client.get("/fhir/Patient", params={"identifier": f"{IDENTIFIER}|MR000005"}).json()
        assert [e["resource"]["id"] for e in found.get("entry", [])] == [ids["p5"]]
        observations = client.get("/fhir/Observation", params={"subject": f"Patient/{ids['p3']}"}).json()
        assert [e["resource"]["id"] for e in observations.get("entry", [])] == [ids["o3"]]
        renamed = client.get("/fhir/Patient", params={"name": "改名"}).json()
        assert [e["resource"]["id"] for e in renamed.get("entry", [])] == [ids["p0"]]
        assert client.get(f"/fhir/Observation/{ids['o11']}").status_code == 410


def test_copy_refuses_a_target_holding_data_unless_forced(
    sqlite_settings: Settings, sqlite_services: Services, actor: Actor, pg_empty: Callable[[], str]
) -> None:
    sqlite_services.store.create(actor, {"resourceType": "Patient", "name": [{"family": "张"}]})
    sqlite_services.close()
    target = pg_empty()
    copy_database(sqlite_settings.database.url, target)
    with pytest.raises(CopyRefusedError, match="--force"):
        copy_database(sqlite_settings.database.url, target)
    again = copy_database(sqlite_settings.database.url, target, force=True)
    assert again.problems == []
    assert _counts(target)["resource"] == 1


def test_a_freshly_migrated_empty_target_is_accepted(
    sqlite_settings: Settings, sqlite_services: Services, actor: Actor, pg_empty: Callable[[], str]
) -> None:
    sqlite_services.store.create(actor, {"resourceType": "Patient", "name": [{"family": "赵"}]})
    sqlite_services.close()
    target = pg_empty()
    migrate.upgrade(DatabaseSettings(url=target))  # `huitong db upgrade` run first, as the install guide says
    assert copy_database(sqlite_settings.database.url, target).problems == []
    assert _counts(target)["resource"] == 1


def test_an_older_source_arrives_migrated_to_this_release(tmp_path: Path, pg_empty: Callable[[], str]) -> None:
    path = tmp_path / "old.db"
    migrate.upgrade(DatabaseSettings(url=f"sqlite:///{path}"), "0002")  # only the resource store's branch
    target = pg_empty()
    report = copy_database(f"sqlite:///{path}", target)
    assert report.source_revision == "0002"
    assert report.target_revision == migrate.head_revisions()


def test_bad_sources_and_targets_are_refused_with_advice(tmp_path: Path, pg_empty: Callable[[], str]) -> None:
    plain = tmp_path / "plain.db"
    sqlite3.connect(plain).close()
    target = pg_empty()
    with pytest.raises(CopyError, match="not a Huitong database"):
        copy_database(f"sqlite:///{plain}", target)
    with pytest.raises(CopyError, match="no SQLite database"):
        copy_database(f"sqlite:///{tmp_path / 'missing.db'}", target)
    with pytest.raises(CopyError, match="not PostgreSQL"):
        copy_database(f"sqlite:///{plain}", f"sqlite:///{tmp_path / 'other.db'}")
    old = tmp_path / "old.db"
    migrate.upgrade(DatabaseSettings(url=f"sqlite:///{old}"), "0002")
    missing_db = make_url(target).set(database="no_such_database_here").render_as_string(hide_password=False)
    with pytest.raises(CopyError, match="createdb"):
        copy_database(f"sqlite:///{old}", missing_db)
    assert not (tmp_path / "missing.db").exists()  # the source is only ever opened read-only


def test_cli_copies_and_exits_4_on_a_target_holding_data(
    sqlite_settings: Settings,
    sqlite_services: Services,
    actor: Actor,
    pg_empty: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sqlite_services.store.create(actor, {"resourceType": "Patient", "name": [{"family": "钱"}]})
    sqlite_services.close()
    monkeypatch.setenv("HUITONG_DATABASE__URL", sqlite_settings.database.url)
    target = pg_empty()
    runner = CliRunner()
    done = runner.invoke(app, ["db", "copy", "--to", target])
    assert done.exit_code == 0, done.output
    assert "counts match the source" in done.output
    refused = runner.invoke(app, ["db", "copy", "--to", target])
    assert refused.exit_code == 4
    assert "--force" in refused.output
    forced = runner.invoke(app, ["db", "copy", "--from", sqlite_settings.database.url, "--to", target, "--force"])
    assert forced.exit_code == 0, forced.output
