"""The message table's indexes after the migrations, on both backends, and ingest_0003 undone and done again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from huitong.db import migrate
from huitong.settings import Settings

INDEXES = {  # name → whether it is partial (``WHERE processed_at IS NOT NULL``)
    "ix_ingest_message_status_id": False,
    "ix_ingest_message_control_id": False,
    "ix_ingest_message_received_at_channel": False,
    "ix_ingest_message_processed_at": True,
}


def _indexes(settings: Settings) -> dict[str, bool]:
    """The table's own indexes (not the unique key's), each with whether it is partial."""
    engine = sa.create_engine(settings.database.url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                found = conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ingest_message' "
                    "AND sql IS NOT NULL"
                ).all()
            else:
                found = conn.exec_driver_sql(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ingest_message'"
                ).all()
    finally:
        engine.dispose()
    return {name: " WHERE " in sql.upper() for name, sql in found if name.startswith("ix_")}


def _alembic(settings: Settings, action: str, revision: str) -> None:
    engine = sa.create_engine(settings.database.url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            config = migrate._alembic_config()
            config.attributes["connection"] = conn
            getattr(command, action)(config, revision)
    finally:
        engine.dispose()


def test_receipt_writes_only_the_indexes_a_query_needs(settings: Settings) -> None:
    assert _indexes(settings) == INDEXES


def test_ingest_0003_down_and_up_again(settings: Settings) -> None:
    _alembic(settings, "downgrade", "ingest_0002")
    assert _indexes(settings) == {
        "ix_ingest_message_status_id": False,
        "ix_ingest_message_control_id": False,
        "ix_ingest_message_received_at": False,
        "ix_ingest_message_processed_at": False,
        "ix_ingest_message_channel_received_at": False,
    }
    _alembic(settings, "upgrade", "heads")
    assert _indexes(settings) == INDEXES
    assert migrate.current_revision(settings.database) == migrate.head_revisions()
