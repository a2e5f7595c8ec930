"""The message table's indexes after the migrations, on both backends, and ingest_0003 undone and done again;
ingest_0004's tally and patient index filled from the messages stored before it."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from huitong.db import migrate
from huitong.ingest.schema import ingest_message, ingest_message_patient, ingest_tally
from huitong.settings import Settings

INDEXES = {  # name → whether it is partial (``WHERE processed_at IS NOT NULL``)
    "ix_ingest_message_status_id": False,
    "ix_ingest_message_control_id": False,
    "ix_ingest_message_received_at_channel": False,
    "ix_ingest_message_processed_at_channel_status": True,
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


def _message(channel: str, status: str, patient_ids: str | None, cid: str) -> dict[str, object]:
    return {
        "received_at": datetime.now(UTC), "channel": channel, "sender_app": "HIS", "sender_facility": "H",
        "control_id": cid, "dedup_key": cid, "message_type": "ADT^A01", "version": "2.5", "charset": "",
        "patient_ids": patient_ids, "raw": b"MSH|", "ack_code": "AA", "status": status, "attempts": 0,
    }  # fmt: skip


def test_ingest_0004_counts_and_indexes_the_messages_already_stored(settings: Settings) -> None:
    _alembic(settings, "downgrade", "ingest_0003")
    engine = sa.create_engine(settings.database.url, poolclass=sa.pool.NullPool)
    t, mp, tally = ingest_message, ingest_message_patient, ingest_tally
    try:
        with engine.begin() as conn:  # stored before the revision: no trigger, no index rows
            conn.execute(
                t.insert(),
                [
                    _message("his", "processed", "A B_1", "C1"),
                    _message("his", "processed", "A", "C2"),
                    _message("lis", "error", None, "C3"),
                    _message("lis", "received", "Z", "C4"),
                ],
            )
        _alembic(settings, "upgrade", "heads")
        with engine.begin() as conn:
            ids = dict(conn.execute(sa.select(t.c.control_id, t.c.id)).all())
            sums = sa.select(tally.c.channel, tally.c.status, sa.func.sum(tally.c.n)).group_by(
                tally.c.channel, tally.c.status
            )
            assert {(c, s): int(n) for c, s, n in conn.execute(sums)} == {
                ("his", "processed"): 2,
                ("lis", "error"): 1,
                ("lis", "received"): 1,
            }
            assert {(p, m) for p, m in conn.execute(sa.select(mp.c.patient_id, mp.c.message_id))} == {
                ("A", ids["C1"]), ("B_1", ids["C1"]), ("A", ids["C2"]), ("Z", ids["C4"]),
            }  # fmt: skip
            conn.execute(t.update().where(t.c.control_id == "C4").values(status="processed"))  # the triggers work
            conn.execute(t.insert(), [_message("lis", "received", None, "C5")])
            conn.execute(t.delete().where(t.c.control_id == "C1"))
            assert {(c, s): int(n) for c, s, n in conn.execute(sums) if n} == {
                ("his", "processed"): 1,
                ("lis", "error"): 1,
                ("lis", "received"): 1,
                ("lis", "processed"): 1,
            }
    finally:
        engine.dispose()
