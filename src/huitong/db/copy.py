"""``huitong db copy``: every table of a Huitong database copied into PostgreSQL — the hospital's path from the
embedded SQLite default to PostgreSQL (a PostgreSQL source works too, e.g. to move to a new server).

1. The source is read in one snapshot (SQLite opened read-only; PostgreSQL ``REPEATABLE READ READ ONLY``), and
   its Alembic revisions are read from its ``alembic_version``.
2. The target must hold no Huitong data (refused otherwise, unless ``force``). Its ``public`` schema is
   emptied when it has tables, then the project's migrations bring it to exactly the source's revisions, so
   every table and column matches.
3. In **one transaction**, every table (in foreign-key order) is filled with ``COPY … FROM STDIN``, rows
   streamed from the source in batches; secondary indexes are dropped before and built after the load (as
   ``pg_restore`` does), the tables' own triggers are off meanwhile (the rows they would derive are copied
   too), and the tables' serial sequences are moved past the copied keys. Either everything lands or nothing
   does.
4. The row count of every table in the target is compared with the source's snapshot; then the target is
   migrated to this release's heads (so an older source arrives up to date) and ``ANALYZE``\\ d.

Values travel in COPY's text format, in the session time zone UTC: SQLite keeps timestamps as UTC text and
booleans as 0/1, both of which PostgreSQL reads as they are; binary columns arrive as ``bytea``.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from huitong.db import migrate
from huitong.db.database import dialect_of
from huitong.db.errors import DatabaseError
from huitong.settings import DatabaseSettings

#: Tables the copy never carries: Alembic's own bookkeeping (set by the migrations) and SQLite internals.
SKIPPED = {"alembic_version"}
#: Rows a fresh migration writes itself; a target holding only these counts as empty.
SEEDED = {"audit_chain_head": "length = 0"}


class CopyError(DatabaseError):
    """The copy could not be done; nothing was committed to the target. The message says what to do."""

    exit_code = 1


class CopyRefusedError(CopyError):
    """The target already holds data and ``force`` was not given."""

    exit_code = 4


class CopyMismatchError(CopyError):
    """After the copy, a table's row count in the target differs from the source's."""

    exit_code = 5


@dataclass(frozen=True, slots=True)
class TableCopy:
    """One table: rows in the source snapshot, rows streamed, rows found in the target afterwards."""

    name: str
    source_rows: int
    copied_rows: int
    target_rows: int


@dataclass
class CopyReport:
    """What :func:`copy_database` did."""

    source_revision: str
    target_revision: str | None = None
    tables: list[TableCopy] = field(default_factory=list)
    sequences: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.copied_rows for t in self.tables)

    @property
    def problems(self) -> list[str]:
        return [
            f"table {t.name}: {t.source_rows} rows in the source, {t.copied_rows} copied, {t.target_rows} in the target"
            for t in self.tables
            if not t.source_rows == t.copied_rows == t.target_rows
        ]


class Progress(Protocol):
    """What the copy reports to (a rich progress bar in the CLI)."""

    def start(self, total_rows: int) -> None: ...

    def table(self, name: str, rows: int) -> None: ...

    def advance(self, rows: int) -> None: ...

    def stage(self, text: str) -> None: ...


class _Silent:
    def start(self, total_rows: int) -> None:
        pass

    def table(self, name: str, rows: int) -> None:
        pass

    def advance(self, rows: int) -> None:
        pass

    def stage(self, text: str) -> None:
        pass


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def copy_database(
    source_url: str,
    target_url: str,
    *,
    force: bool = False,
    batch_rows: int = 5000,
    progress: Progress | bool = False,
) -> CopyReport:
    """Copy the Huitong database at ``source_url`` into the PostgreSQL database at ``target_url``.

    See the module docstring. Raises :class:`CopyRefusedError` for a target holding data (unless ``force``),
    :class:`CopyMismatchError` when counts differ afterwards, :class:`CopyError` for anything else.
    """
    started = time.perf_counter()
    if dialect_of(target_url) != "postgresql":
        raise CopyError(
            f"the target {_safe(target_url)} is not PostgreSQL; `huitong db copy` moves a store to PostgreSQL "
            "(for a SQLite copy use `huitong backup create` and `huitong backup restore --target-url`)"
        )
    if make_url(source_url) == make_url(target_url):
        raise CopyError("the source and the target are the same database; name another target with --to")
    bar = _RichProgress() if progress is True else None
    report_to: Progress = bar or (progress if not isinstance(progress, bool) else _Silent())
    try:
        return _copy(source_url, target_url, force=force, batch_rows=batch_rows, progress=report_to, started=started)
    finally:
        if bar is not None:
            bar.close()


def _copy(
    source_url: str, target_url: str, *, force: bool, batch_rows: int, progress: Progress, started: float
) -> CopyReport:
    report_to = progress
    with _source(source_url) as source:
        revisions = _source_revisions(source, source_url)
        report = CopyReport(source_revision=",".join(revisions))
        tables = [t for t in source.tables() if t not in SKIPPED]
        report_to.stage("counting source rows")
        counts = {t: source.count(t) for t in tables}
        engine = _target_engine(target_url)
        try:
            report_to.stage("preparing the target")
            _prepare_target(engine, target_url, force=force)
            settings = DatabaseSettings(url=target_url)
            for revision in revisions:
                migrate.upgrade(settings, revision)
            target_tables = _check_tables(engine, source, tables)
            report_to.start(sum(counts.values()))
            copied, report.sequences = _copy_all(engine, source, target_tables, counts, batch_rows, report_to)
            report_to.stage("comparing counts")
            found = _target_counts(engine, list(target_tables))
            report.tables = [
                TableCopy(t, counts.get(t, 0), copied.get(t, 0), found.get(t, 0)) for t in sorted(target_tables)
            ]
            if report.problems:
                raise CopyMismatchError(
                    "row counts differ after the copy: " + "; ".join(report.problems) + ". Was the source written to "
                    "during the copy? Stop Huitong, then run the copy again with --force."
                )
            report_to.stage("migrating the target to this release")
            report.target_revision = migrate.upgrade(settings)
            report_to.stage("ANALYZE (planner statistics)")
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
        finally:
            engine.dispose()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


# --- the source -------------------------------------------------------------------------------------------


class _Source(Protocol):
    def tables(self) -> list[str]: ...

    def columns(self, table: str) -> list[str]: ...

    def count(self, table: str) -> int: ...

    def rows(self, table: str, columns: list[str], batch: int) -> Iterator[list[tuple[Any, ...]]]: ...

    def revisions(self) -> list[str] | None: ...


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _SqliteSource:
    """A SQLite file opened read-only, in one read transaction (one snapshot, also while Huitong writes)."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise CopyError(f"no SQLite database at {path}: check --from or HUITONG_DATABASE__URL")
        self.conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30, isolation_level=None)
        self.conn.execute("BEGIN")
        self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts here

    def close(self) -> None:
        self.conn.rollback()
        self.conn.close()

    def tables(self) -> list[str]:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        return [str(r[0]) for r in self.conn.execute(sql)]

    def columns(self, table: str) -> list[str]:
        return [str(r[1]) for r in self.conn.execute(f"PRAGMA table_info({_quote(table)})")]

    def count(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0])  # noqa: S608

    def rows(self, table: str, columns: list[str], batch: int) -> Iterator[list[tuple[Any, ...]]]:
        names = ", ".join(_quote(c) for c in columns)
        cursor = self.conn.execute(f"SELECT {names} FROM {_quote(table)}")  # noqa: S608 - names from the catalogue
        try:
            while rows := cursor.fetchmany(batch):
                yield rows
        finally:
            cursor.close()

    def revisions(self) -> list[str] | None:
        if "alembic_version" not in self.tables():
            return None
        return sorted(str(r[0]) for r in self.conn.execute("SELECT version_num FROM alembic_version"))


class _PostgresSource:
    """A PostgreSQL database read in one ``REPEATABLE READ READ ONLY`` transaction."""

    def __init__(self, url: str) -> None:
        self.engine = _target_engine(url)
        try:
            self.conn = self.engine.connect().execution_options(isolation_level="REPEATABLE READ")
        except sa.exc.OperationalError as exc:
            self.engine.dispose()
            raise CopyError(f"cannot connect to the source {_safe(url)}: {exc.orig}") from exc
        self.conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        self.raw = self.conn.connection.driver_connection

    def close(self) -> None:
        self.conn.rollback()
        self.conn.close()
        self.engine.dispose()

    def tables(self) -> list[str]:
        return sorted(sa.inspect(self.conn).get_table_names())

    def columns(self, table: str) -> list[str]:
        return [str(c["name"]) for c in sa.inspect(self.conn).get_columns(table)]

    def count(self, table: str) -> int:
        return int(self.conn.exec_driver_sql(f"SELECT count(*) FROM {_quote(table)}").scalar_one())  # noqa: S608

    def rows(self, table: str, columns: list[str], batch: int) -> Iterator[list[tuple[Any, ...]]]:
        names = ", ".join(_quote(c) for c in columns)
        with self.raw.cursor(name=f"huitong_copy_{uuid.uuid4().hex[:8]}") as cursor:  # type: ignore[union-attr]
            cursor.execute(f"SELECT {names} FROM {_quote(table)}")  # noqa: S608 - names from the catalogue
            while rows := cursor.fetchmany(batch):
                yield rows

    def revisions(self) -> list[str] | None:
        if "alembic_version" not in self.tables():
            return None
        return sorted(str(r) for r in self.conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())


@contextmanager
def _source(url: str) -> Iterator[_Source]:
    source: _SqliteSource | _PostgresSource
    if dialect_of(url) == "sqlite":
        database = make_url(url).database
        if not database or database == ":memory:":
            raise CopyError(f"{_safe(url)} names no SQLite file")
        source = _SqliteSource(Path(database))
    else:
        source = _PostgresSource(url)
    try:
        yield source
    finally:
        source.close()


def _source_revisions(source: _Source, url: str) -> list[str]:
    revisions = source.revisions()
    if not revisions:
        raise CopyError(
            f"{_safe(url)} is not a Huitong database (no Alembic revision): check --from, "
            "or run `huitong db upgrade` on it first"
        )
    known = migrate.known_revisions()
    unknown = [r for r in revisions if r not in known]
    if unknown:
        raise CopyError(
            f"the source is at revision(s) {', '.join(unknown)}, which this release of Huitong does not know: "
            "it was migrated by a newer Huitong; run the copy with that release"
        )
    return revisions


# --- the target -------------------------------------------------------------------------------------------


def _target_engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def _prepare_target(engine: sa.Engine, url: str, *, force: bool) -> None:
    """Refuse a target holding data (unless forced); empty the ``public`` schema when it has any tables."""
    try:
        conn_cm = engine.connect()
    except sa.exc.OperationalError as exc:
        raise CopyError(
            f"cannot connect to the target {_safe(url)}: {exc.orig}. Create it first, e.g. "
            "`createdb --owner huitong --encoding UTF8 --template template0 huitong`"
        ) from exc
    with conn_cm as conn:
        tables = sa.inspect(conn).get_table_names()
        if not tables:
            return
        holding = [t for t in tables if t not in SKIPPED and _holds_rows(conn, t)]
        if holding and not force:
            shown = ", ".join(holding[:5]) + (" …" if len(holding) > 5 else "")
            raise CopyRefusedError(
                f"the target {_safe(url)} already holds data (tables {shown}); copy into a new, empty database, "
                "or pass --force to replace everything in it"
            )
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public AUTHORIZATION pg_database_owner")
        conn.exec_driver_sql("GRANT USAGE ON SCHEMA public TO PUBLIC")


def _holds_rows(conn: sa.Connection, table: str) -> bool:
    extra = f" WHERE NOT ({SEEDED[table]})" if table in SEEDED else ""
    sql = f"SELECT EXISTS (SELECT 1 FROM {_quote(table)}{extra})"  # noqa: S608 - names from the catalogue
    return bool(conn.exec_driver_sql(sql).scalar_one())


def _check_tables(engine: sa.Engine, source: _Source, tables: list[str]) -> dict[str, list[str]]:
    """Target tables in foreign-key order, each with the columns to copy; refuse what does not fit."""
    reflected = sa.MetaData()
    with engine.connect() as conn:
        reflected.reflect(conn)
    missing = [t for t in tables if t not in reflected.tables]
    if missing:
        raise CopyError(
            f"the source has tables the migrated target lacks: {', '.join(missing)} — not tables of Huitong at "
            "the source's revision; remove them from the source or copy with the release that made them"
        )
    ordered: dict[str, list[str]] = {}
    for table in reflected.sorted_tables:
        if table.name in SKIPPED:
            continue
        target_columns = [c.name for c in table.columns]
        if table.name not in tables:
            ordered[table.name] = []
            continue
        source_columns = source.columns(table.name)
        extra = [c for c in source_columns if c not in target_columns]
        if extra:
            raise CopyError(
                f"table {table.name}: the source has columns the target lacks ({', '.join(extra)}); "
                "is the source's alembic_version right? Run `huitong db upgrade` on the source, then copy again"
            )
        ordered[table.name] = source_columns
    return ordered


def _copy_all(
    engine: sa.Engine,
    source: _Source,
    tables: dict[str, list[str]],
    counts: dict[str, int],
    batch_rows: int,
    progress: Progress,
) -> tuple[dict[str, int], int]:
    """Empty every target table and COPY the source's rows in, all in one transaction; reset sequences."""
    copied: dict[str, int] = {}
    with engine.begin() as conn:
        raw: Any = conn.connection.driver_connection
        conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
        # The migrations seed a few rows (the audit chain head); the source's rows replace them.
        conn.exec_driver_sql("TRUNCATE " + ", ".join(_quote(t) for t in tables))
        # Like pg_restore: secondary indexes are built once after the load (a sort) instead of row by row.
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        indexes = _secondary_indexes(conn)
        for name, _definition in indexes:
            conn.exec_driver_sql(f"DROP INDEX {name}")
        # The rows arrive as they are: the triggers that keep derived rows (the message store's tally) must not
        # fire again for them, or the copied tally would be counted twice.
        for table in tables:
            conn.exec_driver_sql(f"ALTER TABLE {_quote(table)} DISABLE TRIGGER USER")
        with raw.cursor() as cursor:
            for table, columns in tables.items():
                copied[table] = 0
                if not columns:
                    continue
                progress.table(table, counts.get(table, 0))
                names = ", ".join(_quote(c) for c in columns)
                with cursor.copy(f"COPY {_quote(table)} ({names}) FROM STDIN") as copy:
                    for rows in source.rows(table, columns, batch_rows):
                        for row in rows:
                            copy.write_row(row)
                        copied[table] += len(rows)
                        progress.advance(len(rows))
        for table in tables:
            conn.exec_driver_sql(f"ALTER TABLE {_quote(table)} ENABLE TRIGGER USER")
        progress.stage(f"building {len(indexes)} indexes")
        for _name, definition in indexes:
            conn.exec_driver_sql(definition)
        progress.stage("moving sequences past the copied keys")
        sequences = _reset_sequences(conn)
    return copied, sequences


def _secondary_indexes(conn: sa.Connection) -> list[tuple[str, str]]:
    """(qualified name, CREATE INDEX statement) of every index that backs no constraint (primary key, unique)."""
    rows = conn.exec_driver_sql(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = current_schema() "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1"
    ).all()
    return [(str(name), str(definition)) for name, definition in rows]


def _reset_sequences(conn: sa.Connection) -> int:
    """Every serial or identity column's sequence continues after the highest copied value."""
    found = conn.exec_driver_sql(
        "SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL"
    ).all()
    for table, column, sequence in found:
        conn.exec_driver_sql(
            f"SELECT setval(%(seq)s, COALESCE(MAX({_quote(column)}), 0) + 1, false) FROM {_quote(table)}",  # noqa: S608
            {"seq": sequence},
        )
    return len(found)


def _target_counts(engine: sa.Engine, tables: list[str]) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {_quote(t)}").scalar_one())  # noqa: S608
            for t in tables
        }


# --- progress in the terminal -------------------------------------------------------------------------------


class _RichProgress:
    """A rich progress bar over all rows, naming the table being copied; stages printed as lines."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        self.console = Console(stderr=True)
        self.bar = Bar(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.task: Any = None

    def start(self, total_rows: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task("copying", total=total_rows)

    def table(self, name: str, rows: int) -> None:
        if self.task is not None:
            self.bar.update(self.task, description=f"{name} ({rows:,})")

    def advance(self, rows: int) -> None:
        if self.task is not None:
            self.bar.advance(self.task, rows)

    def stage(self, text: str) -> None:
        if self.task is not None and not self.bar.finished:
            self.bar.update(self.task, description=text)
            return
        self.close()
        self.console.print(f"[dim]{text} …[/dim]")

    def close(self) -> None:
        if self.task is not None:
            self.bar.update(self.task, description="copied")
            self.bar.stop()
            self.task = None
