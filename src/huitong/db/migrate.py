"""Schema migrations with Alembic, run programmatically (no alembic.ini needed).

Each domain keeps its own branch of revisions, all rooted at ``0001`` (the resource store): a domain's
first revision has ``down_revision = "0001"`` and ``branch_labels = ("<domain>",)``, later ones follow it.
``upgrade`` goes to ``heads``, the newest revision of every branch, so domains never race for a number.

Schema migrations live in ``migrations/versions``; data backfills, when one is needed, get their own
module under ``backfills/`` and are run by the command that needs them, never by a schema migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from huitong.db.database import configure_sqlite, dialect_of, prepare_sqlite_path
from huitong.settings import DatabaseSettings


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "huitong.db:migrations")
    return config


def _migration_engine(settings: DatabaseSettings) -> sa.Engine:
    engine = sa.create_engine(settings.url, poolclass=sa.pool.NullPool)
    if dialect_of(settings.url) == "sqlite":
        configure_sqlite(engine, settings, begin="BEGIN IMMEDIATE", query_only=False)
    return engine


def upgrade(settings: DatabaseSettings, revision: str = "heads") -> str | None:
    """Bring the database to ``revision`` (default: the head of every domain's branch); returns where it is."""
    prepare_sqlite_path(settings.url)
    engine = _migration_engine(settings)
    try:
        with engine.connect() as conn:
            config = _alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            if conn.dialect.name == "sqlite":
                refresh_sqlite_statistics(conn)
            return _describe(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def refresh_sqlite_statistics(conn: sa.Connection) -> None:
    """Sampled planner statistics (``ANALYZE`` reading at most ~1,000 rows per index): seconds even on a
    hospital-year store. Without them SQLite cannot tell a selective search criterion from one matching half the
    table. PostgreSQL keeps its own statistics (autovacuum)."""
    refresh_statistics(conn)
    conn.commit()


def refresh_statistics(conn: sa.Connection) -> None:
    """The planner's statistics sampled again after a bulk load, on either backend, in the caller's transaction.
    PostgreSQL's autovacuum would get there, but not during the minute after a first import into a new database,
    when a search planned on a table it believes empty reads every row of a type (docs/fhir-store.md)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
    conn.exec_driver_sql("ANALYZE")


def current_revision(settings: DatabaseSettings) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    engine = _migration_engine(settings)
    try:
        with engine.connect() as conn:
            return _describe(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def head_revisions() -> str | None:
    """The newest revisions this version of Huitong knows (one per domain branch), comma-separated."""
    return _describe(ScriptDirectory.from_config(_alembic_config()).get_heads())


def known_revisions() -> set[str]:
    """Every revision of every domain branch this version of Huitong has."""
    return {s.revision for s in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def _describe(heads: tuple[str, ...] | list[str]) -> str | None:
    return ",".join(sorted(heads)) or None
