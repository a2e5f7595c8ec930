"""What the CLI, the cockpit and the benchmark call: open the indicators' DuckDB file, bring it up to date,
compute and store values, and drill down to cases."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from huitong.db import Database
from huitong.indicators import engine, reference, values
from huitong.indicators.definition import base_sql
from huitong.indicators.engine import Case, IndicatorValue
from huitong.security.actor import Actor

#: How long a drill-down waits for another process (``huitong indicators compute``, a refresh) to let go of the
#: DuckDB file before it gives up with :class:`IndicatorsBusyError`.
BUSY_WAIT_S = 15.0


class IndicatorsBusyError(RuntimeError):
    """The DuckDB file stayed locked by another process (computing, refreshing) for :data:`BUSY_WAIT_S`."""

    def __init__(self) -> None:
        super().__init__(
            f"the indicators are being computed or refreshed by another process (waited {BUSY_WAIT_S:.0f} s); "
            "try again in a minute"
        )


def _open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``path``, waiting up to :data:`BUSY_WAIT_S` while another process writes it.

    DuckDB lets one process write a file or any number read it, never both; its error names the other process's
    binary, its PID and the file's path, none of which a manager's page should show."""
    deadline = time.monotonic() + BUSY_WAIT_S
    pause = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise IndicatorsBusyError() from exc
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


@dataclass(frozen=True, slots=True)
class Workspace:
    """The DuckDB file and the definition parameter overrides."""

    duckdb_path: Path
    overrides: Mapping[str, str] = field(default_factory=dict)


@contextmanager
def prepared(
    db: Database, workspace: Workspace, actor: Actor, *, refresh: bool = True, full: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the views refreshed (unless ``refresh`` is false: read-only, as they are), the
    reference tables copied and the shared tables built."""
    workspace.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(workspace.duckdb_path), read_only=not refresh)
    try:
        if refresh:
            engine.prepare(con, db, actor, full=full)
        else:
            reference.copy_to_duckdb(db, con)
            engine.build_base(con)
        yield con
    finally:
        con.close()


def compute_and_store(
    db: Database,
    workspace: Workspace,
    actor: Actor,
    start: date,
    end: date,
    *,
    ids: Iterable[str] | None = None,
    full: bool = False,
    store: bool = True,
) -> list[IndicatorValue]:
    """Refresh, compute every value in [start, end] and store them; returns the values."""
    with prepared(db, workspace, actor, full=full) as con:
        computed = engine.compute(con, start, end, ids=ids, overrides=workspace.overrides)
    if store:
        values.save(db, computed)
    return computed


def drill_down(
    db: Database,
    workspace: Workspace,
    actor: Actor,
    indicator_id: str,
    period: str,
    department: str = engine.HOSPITAL,
    *,
    only_numerator: bool = False,
    limit: int = 1000,
) -> list[Case]:
    """The cases behind one value, read from the views as last refreshed (over the case base kept in the DuckDB
    file, see :func:`case_base`)."""
    with case_base(db, workspace) as con:
        return engine.drill_down(
            con,
            indicator_id,
            period,
            department,
            only_numerator=only_numerator,
            limit=limit,
            overrides=workspace.overrides,
        )


#: The DuckDB table recording what the case base kept in the file was built from.
BASE_STATE = "_huitong_indicator_base"
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path.resolve(), threading.Lock())


def base_stamp(db: Database, con: duckdb.DuckDBPyConnection) -> str | None:
    """SHA-256 of what the case base is built from: the shared tables' SQL, every view's state (definition hash,
    watermark, time of the last refresh: any refresh changes it) and the reference rows; None before the views
    were ever refreshed."""
    try:
        views = con.execute(
            "SELECT view_name, definition_hash, watermark, refreshed_at FROM _huitong_views ORDER BY view_name"
        ).fetchall()
    except duckdb.CatalogException:
        return None
    hasher = hashlib.sha256(base_sql().encode())
    hasher.update(repr(views).encode())
    hasher.update(reference.digest(db).encode())
    return hasher.hexdigest()


def _stored_stamp(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        row = con.execute(f"SELECT stamp FROM {BASE_STATE}").fetchone()  # noqa: S608 (our name)
    except duckdb.CatalogException:
        return None
    return None if row is None else str(row[0])


def keep_base(db: Database, con: duckdb.DuckDBPyConnection) -> str | None:
    """Build the reference tables and the shared tables into the DuckDB file (a writable connection) and record
    their stamp; returns it (None, and nothing built, before the views were ever refreshed). The stamp is taken
    before the reference rows are copied, so rows imported meanwhile make it stale, never wrongly current."""
    stamp = base_stamp(db, con)
    if stamp is None:
        return None
    con.execute(f"CREATE TABLE IF NOT EXISTS {BASE_STATE} (stamp VARCHAR NOT NULL, built_at TIMESTAMP NOT NULL)")
    con.execute(f"DELETE FROM {BASE_STATE}")  # noqa: S608 (our name)
    reference.copy_to_duckdb(db, con, persist=True)
    engine.build_base(con, persist=True)
    con.execute(f"INSERT INTO {BASE_STATE} VALUES (?, now()::TIMESTAMP)", [stamp])  # noqa: S608 (our name)
    con.execute("CHECKPOINT")
    return stamp


def keep_case_base(db: Database, workspace: Workspace) -> str | None:
    """Build the kept case base now (e.g. right after computing), so that the first drill-down does not."""
    with _lock(workspace.duckdb_path):
        con = duckdb.connect(str(workspace.duckdb_path))
        try:
            return keep_base(db, con)
        finally:
            con.close()


@contextmanager
def case_base(db: Database, workspace: Workspace) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only DuckDB connection over the views as last refreshed, with the reference and shared tables.

    They are kept in the file with a stamp of what they were built from (:func:`base_stamp`): while it matches,
    nothing is rebuilt (the drill-down's cost is its own query). New view data, another reference import or other
    shared-table SQL changes the stamp: the tables are then rebuilt into the file once (when it can be opened for
    writing; else, as before, as temporary tables of this connection only). Drill-downs of one file are taken
    one at a time in a process, so that the rebuild's writable connection never meets a read-only one."""
    path = workspace.duckdb_path
    with _lock(path):
        con = _open_read_only(path)
        try:
            stamp = base_stamp(db, con)
            current = stamp is not None and _stored_stamp(con) == stamp
        except BaseException:
            con.close()
            raise
        if not current and stamp is not None:
            con.close()
            try:
                writer = duckdb.connect(str(path))
            except duckdb.Error:
                writer = None  # another process is writing (e.g. computing): rebuild for this connection only
            if writer is not None:
                try:
                    keep_base(db, writer)
                finally:
                    writer.close()
            con = _open_read_only(path)
            current = _stored_stamp(con) == base_stamp(db, con)
        try:
            if not current:
                reference.copy_to_duckdb(db, con)
                engine.build_base(con)
            yield con
        finally:
            con.close()
