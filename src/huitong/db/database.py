"""The database: one object that knows the backend, hands out read connections and runs writes.

:func:`open_database` builds it from :class:`~huitong.settings.DatabaseSettings`. Reads run concurrently
(SQLite in WAL mode lets readers proceed while one writer writes); every write goes through the
:class:`~huitong.db.writer.Writer` — a single writer thread with group commit on SQLite, pooled
transactions on PostgreSQL — so the same calling code works on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

from huitong.db.errors import UnsupportedDatabaseError
from huitong.db.writer import Job, PooledWriter, SerialWriter, Writer
from huitong.settings import DatabaseSettings

T = TypeVar("T")
Dialect = Literal["sqlite", "postgresql"]


class Database:
    """Engines and the writer for one database. Create with :func:`open_database`; close when done."""

    def __init__(
        self, url: str, dialect: Dialect, read_engine: sa.Engine, writer: Writer, write_engine: sa.Engine
    ) -> None:
        self.url = url
        self.dialect: Dialect = dialect
        self.read_engine = read_engine
        self.write_engine = write_engine
        self.writer = writer

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A connection in a read transaction (a consistent snapshot); rolled back on exit."""
        with self.read_engine.connect() as conn, conn.begin() as tx:
            yield conn
            tx.rollback()

    def write(self, job: Job[T], *, background: bool = False) -> T:
        """Run ``job(conn)`` in a write transaction and return its result once committed. ``background``: bulk work
        that gives way to the writes others wait on (:class:`~huitong.db.writer.SerialWriter`)."""
        return self.writer.submit(job, background=background).result()

    async def write_async(self, job: Job[T]) -> T:
        """:meth:`write` for coroutines: the event loop is not blocked while the job waits or runs."""
        if self.is_sqlite:
            return await asyncio.wrap_future(self.writer.submit(job))
        return await asyncio.to_thread(self.write, job)

    def close(self) -> None:
        """Finish queued writes and close every connection."""
        self.writer.close()
        self.write_engine.dispose()
        self.read_engine.dispose()


def dialect_of(url: str) -> Dialect:
    """``sqlite`` or ``postgresql`` for a database URL; anything else is refused with advice."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return "sqlite"
    if backend == "postgresql":
        return "postgresql"
    raise UnsupportedDatabaseError(
        f"unsupported database {backend!r} in HUITONG_DATABASE__URL; use sqlite:///PATH or "
        "postgresql+psycopg://USER:PASS@HOST:PORT/DB"
    )


def open_database(settings: DatabaseSettings) -> Database:
    """Open the database named by ``settings.url`` (creating the folder of a SQLite file)."""
    dialect = dialect_of(settings.url)
    if dialect == "sqlite":
        return _open_sqlite(settings)
    return _open_postgresql(settings)


def _open_postgresql(settings: DatabaseSettings) -> Database:
    engine = sa.create_engine(
        settings.url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_pre_ping=True,
        echo=settings.echo_sql,
    )
    return Database(settings.url, "postgresql", engine, PooledWriter(engine), engine)


def prepare_sqlite_path(url_text: str) -> None:
    """Create the folder of a SQLite database file; refuse in-memory databases. No-op for PostgreSQL."""
    if dialect_of(url_text) != "sqlite":
        return
    url = make_url(url_text)
    if not url.database or url.database == ":memory:":
        raise UnsupportedDatabaseError(
            "an in-memory SQLite database cannot be shared between the reader and writer connections; "
            "use a file, e.g. sqlite:///var/huitong.db"
        )
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _open_sqlite(settings: DatabaseSettings) -> Database:
    prepare_sqlite_path(settings.url)
    url = make_url(settings.url)
    read_engine = sa.create_engine(
        url,
        pool_size=settings.sqlite_readers,
        max_overflow=0,
        echo=settings.echo_sql,
        connect_args={"check_same_thread": False},
    )
    write_engine = sa.create_engine(
        url, poolclass=sa.pool.StaticPool, echo=settings.echo_sql, connect_args={"check_same_thread": False}
    )
    configure_sqlite(write_engine, settings, begin="BEGIN IMMEDIATE", query_only=False)
    configure_sqlite(read_engine, settings, begin="BEGIN", query_only=True)
    # Create the WAL before any reader opens the file.
    with write_engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    # The processes of one server (``--workers N``) take turns to write through a lock file beside the database.
    writer = SerialWriter(
        write_engine,
        batch_max=settings.writer_batch_max,
        lock_path=f"{url.database}-writer.lock",
        lock_wait_s=settings.sqlite_busy_timeout_ms / 1000,
    )
    return Database(settings.url, "sqlite", read_engine, writer, write_engine)


def configure_sqlite(engine: sa.Engine, settings: DatabaseSettings, *, begin: str, query_only: bool) -> None:
    """Pragmas on every new connection, and explicit BEGIN so SQLAlchemy controls transactions.

    Python's sqlite3 module otherwise starts transactions lazily and silently, which breaks savepoints
    (needed for group commit) and lets a read "upgrade" into a write lock.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={settings.sqlite_synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cursor.execute(f"PRAGMA mmap_size={int(settings.sqlite_mmap_mb) * 1024 * 1024}")
        cursor.execute("PRAGMA foreign_keys=ON")
        if query_only:
            cursor.execute("PRAGMA query_only=ON")
        else:
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(settings.sqlite_wal_autocheckpoint_pages)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # on the driver's connection: through ``exec_driver_sql`` this statement cost about a third of the time the
        # ingest writer held the interpreter lock (a commit every few messages); nothing of SQLAlchemy's
        # statement handling applies to it (no parameters, no result)
        conn.connection.driver_connection.execute(begin)  # type: ignore[union-attr]
