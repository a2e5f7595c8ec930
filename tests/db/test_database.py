"""The database layer on both backends: migrations, the writer, concurrent writes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from huitong.db import migrate
from huitong.db.database import dialect_of
from huitong.db.errors import UnsupportedDatabaseError, WriterClosedError
from huitong.db.schema import audit_event
from huitong.db.writer import SerialWriter
from huitong.services import Services
from huitong.settings import Settings


def test_schema_is_at_head(settings: Settings) -> None:
    assert migrate.current_revision(settings.database) == migrate.head_revisions()


def test_upgrade_twice_is_a_no_op(settings: Settings) -> None:
    assert migrate.upgrade(settings.database) == migrate.head_revisions()


def _insert(conn: sa.Connection, who: str) -> int:
    return int(
        conn.execute(
            audit_event.insert().returning(audit_event.c.seq),
            {
                "recorded": datetime.now(UTC),
                "action": "E",
                "interaction": "test",
                "outcome": "0",
                "actor_id": who,
                "actor_role": "tester",
            },
        ).scalar_one()
    )


def test_concurrent_writes_all_commit(services: Services) -> None:
    """32 threads × 25 writes: none fails with 'database is locked', none is lost."""
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(25):
                services.db.write(lambda conn, n=n, i=i: _insert(conn, f"w{n}-{i}"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with services.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_event)).scalar_one() == 800


def test_failing_job_is_undone_alone(services: Services) -> None:
    """In a group commit, a job that raises rolls back only its own writes."""
    writer = services.db.writer
    gate = threading.Event()
    # On SQLite the blocker holds the writer thread so the next three jobs queue up and share one commit;
    # PostgreSQL runs each job in its own transaction in the caller's thread, so nothing needs holding.
    blocker = writer.submit(lambda conn: gate.wait(5)) if services.db.is_sqlite else None
    good = writer.submit(lambda conn: _insert(conn, "good"))

    def bad(conn: sa.Connection) -> None:
        _insert(conn, "bad")
        raise ValueError("boom")

    failing = writer.submit(bad)
    good2 = writer.submit(lambda conn: _insert(conn, "good2"))
    gate.set()
    if blocker is not None:
        blocker.result()
        assert services.db.writer.commits >= 1  # type: ignore[attr-defined]
    assert good.result() > 0 and good2.result() > 0
    with pytest.raises(ValueError, match="boom"):
        failing.result()
    with services.db.read() as conn:
        who = set(conn.execute(sa.select(audit_event.c.actor_id)).scalars())
    assert who == {"good", "good2"}


def test_write_result_only_after_commit(services: Services) -> None:
    seq = services.db.write(lambda conn: _insert(conn, "x"))
    with services.db.read() as conn:
        assert conn.execute(sa.select(audit_event.c.actor_id).where(audit_event.c.seq == seq)).scalar_one() == "x"


def test_closed_writer_refuses(settings: Settings) -> None:
    from huitong.db import open_database

    db = open_database(settings.database)
    db.close()
    with pytest.raises(WriterClosedError):
        db.write(lambda conn: None)


def test_unsupported_urls_are_refused_with_advice() -> None:
    with pytest.raises(UnsupportedDatabaseError, match="postgresql"):
        dialect_of("mysql://x@y/z")
    from huitong.db.database import prepare_sqlite_path

    with pytest.raises(UnsupportedDatabaseError, match="file"):
        prepare_sqlite_path("sqlite://")


def test_writer_without_a_usable_lock_file_still_writes(tmp_path: Path) -> None:
    """A lock path that cannot be opened (here: its folder is missing) leaves SQLite's own lock to serialise."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    writer = SerialWriter(engine, lock_path=str(tmp_path / "missing" / "w.db-writer.lock"))
    try:
        writer.submit(lambda conn: conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")).result(timeout=30)
        assert writer.submit(lambda conn: conn.exec_driver_sql("SELECT count(*) FROM t").scalar()).result(30) == 0
    finally:
        writer.close()
        engine.dispose()


def test_writer_waits_for_the_lock_only_as_long_as_the_busy_timeout(tmp_path: Path) -> None:
    """A process that keeps the writers' lock (stopped mid-commit, say) makes this writer wait at most its lock
    wait; then it writes without the lock (SQLite's own lock decides) instead of waiting for ever. A lock given up
    in time is taken at once."""
    import fcntl
    import os
    import time

    lock_path = tmp_path / "w.db-writer.lock"
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    holder = os.open(lock_path, os.O_RDONLY | os.O_CREAT, 0o644)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another open file description: flock excludes it as another process
    writer = SerialWriter(engine, lock_path=str(lock_path), lock_wait_s=0.5)
    try:
        started = time.monotonic()
        writer.submit(lambda conn: conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")).result(timeout=30)
        waited = time.monotonic() - started
        assert waited >= 0.45  # it did wait for the holder first
        fcntl.flock(holder, fcntl.LOCK_UN)
        assert writer.submit(lambda conn: conn.exec_driver_sql("SELECT count(*) FROM t").scalar()).result(30) == 0
    finally:
        writer.close()
        os.close(holder)
        engine.dispose()


def test_the_writer_checkpoints_the_wal_as_the_settings_say(tmp_path: Path) -> None:
    """The writing connection has the settings' ``wal_autocheckpoint`` (readers are read-only and never checkpoint);
    SQLite's own default of 1,000 pages is not what a hospital database runs with."""
    from huitong.db import open_database
    from huitong.settings import DatabaseSettings

    for pages in (10_000, 250):
        db = open_database(
            DatabaseSettings(url=f"sqlite:///{tmp_path}/wal-{pages}.db", sqlite_wal_autocheckpoint_pages=pages)
        )
        try:
            seen = db.write(lambda conn: conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())
            assert seen == pages
        finally:
            db.close()
