"""Fixtures of the operations tests: an empty second database on the backend of ``db_url``, and what tests
that run their own PostgreSQL clusters (PITR, failover drill) need."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from huitong.db.database import dialect_of
from huitong.ops.cluster import workspace
from huitong.ops.errors import ToolMissingError
from huitong.ops.pgtools import find_bindir
from huitong.services import Services, open_services
from huitong.settings import Settings
from tests.conftest import make_settings


def admin(server_url: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE) on a PostgreSQL server."""
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


@pytest.fixture
def empty_url(db_url: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes empty databases (no tables) on the backend of ``db_url``; dropped after the test."""
    made: list[str] = []

    def make() -> str:
        if dialect_of(db_url) == "sqlite":
            return f"sqlite:///{tmp_path / f'empty-{uuid.uuid4().hex[:8]}.db'}"
        name = f"e_{uuid.uuid4().hex[:12]}"
        admin(db_url, f'CREATE DATABASE "{name}"')
        made.append(name)
        return make_url(db_url).set(database=name).render_as_string(hide_password=False)

    yield make
    for name in made:
        admin(db_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_bindir() -> Path:
    try:
        folder = find_bindir()
    except ToolMissingError as exc:
        pytest.skip(str(exc))
    if not (folder / "initdb").exists():
        pytest.skip(f"no initdb in {folder}")
    return folder


@pytest.fixture
def cluster_dir() -> Iterator[Path]:
    """A folder under /tmp the postgres user can reach (pytest's tmp_path is private to root)."""
    with workspace(Path(tempfile.mkdtemp(prefix="huitong-ops-"))) as folder:
        yield folder


@pytest.fixture
def sqlite_settings(sqlite_template: Path, tmp_path: Path) -> Settings:
    """Settings over a fresh SQLite database only, for tests whose subject does not depend on the backend."""
    path = tmp_path / "huitong.db"
    shutil.copyfile(sqlite_template, path)
    return make_settings(f"sqlite:///{path}")


@pytest.fixture
def sqlite_services(sqlite_settings: Settings) -> Iterator[Services]:
    opened = open_services(sqlite_settings)
    yield opened
    opened.close()
