"""Fixtures shared by every test: databases on SQLite and PostgreSQL, settings, services, HTTP client.

Every test that takes ``db_url`` (or anything built on it) runs twice: on SQLite and on PostgreSQL —
the way Splink runs its tests on each backend. Each test gets a fresh database (a copy of a migrated
template), so tests never clean up after one another. PostgreSQL tests skip only where no PostgreSQL
binaries exist, and fail instead when ``HUITONG_REQUIRE_POSTGRES=1`` (as in CI).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import settings as hypothesis_settings
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.db import migrate
from huitong.fhir.store import ResourceStore
from huitong.security.actor import Actor
from huitong.services import Services, open_services
from huitong.settings import Settings
from tests.postgres import PostgresServer, PostgresUnavailableError, postgres_server

API_TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
BACKENDS = ["sqlite", "postgresql"]

# Hypothesis profiles. "dev" (the default) draws fresh random examples on every run, so people find new
# bugs; "ci" draws the same examples every run (a CI run is red only for a change, never for luck);
# "fuzz" (`make fuzz`) draws many more. A failure's examples are kept as @example in the test.
hypothesis_settings.register_profile("dev")
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("fuzz", max_examples=5000, deadline=None, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HUITONG_HYPOTHESIS_PROFILE", "dev"))


def make_settings(url: str, **overrides: Any) -> Settings:
    """Test settings on the database at ``url``."""
    values: dict[str, Any] = {
        "env": "test",
        "database": {"url": url},
        "security": {"secret_key": "x" * 48, "api_tokens": {"tests": API_TOKEN}},
        # Patients written through the API are linked by a background thread of the server; tests that want it
        # say so (tests/empi/test_api_link.py), so no other test sees golden Patients appear while it runs.
        "empi": {"link_api_patients": False},
        # The pipeline maps in its own threads: a spawned worker process per engine started would cost every test
        # that starts one a second or two; tests/ingest/server/test_pipeline_processes.py runs the default (1) and 2.
        "ingest": {"prepare_processes": 0},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            values[key] = {**values[key], **value}
        else:
            values[key] = value
    return Settings(**values)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailableError as exc:
        if os.environ.get("HUITONG_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here (HUITONG_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def pg_template(pg_server: PostgresServer) -> str:
    """A migrated database used as the template of every test database."""
    name = f"huitong_tpl_{uuid.uuid4().hex[:8]}"
    _pg_admin(pg_server, f'CREATE DATABASE "{name}"')
    migrate.upgrade(make_settings(pg_server.database_url(name)).database)
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(make_settings(f"sqlite:///{path}").database)
    return path


def _pg_admin(server: PostgresServer, sql: str) -> None:
    engine = sa.create_engine(server.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "huitong.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    template_name: str = request.getfixturevalue("pg_template")
    name = f"t_{uuid.uuid4().hex[:12]}"
    _pg_admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    yield server.database_url(name)
    _pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    opened = open_services(settings)
    yield opened
    opened.close()


@pytest.fixture
def store(services: Services) -> ResourceStore:
    return services.store


@pytest.fixture
def actor() -> Actor:
    return Actor.system("tests")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The real app over the test database, in-process, with the test client's bearer token."""
    with TestClient(create_app(settings), headers=AUTH) as test_client:
        yield test_client
