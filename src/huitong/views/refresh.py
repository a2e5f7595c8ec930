"""Materialised views in DuckDB, kept up to date incrementally from the resource store.

Per view, DuckDB holds the view's table, the version of every resource it was built from
(``_huitong_view_versions``) and a watermark (``_huitong_views``: the newest ``last_updated`` read and the
definition's hash). A refresh reads only resources updated since the watermark minus ``overlap`` (so a
transaction that committed late with an older timestamp is still seen), skips those whose version it
already has, replaces the rows of changed resources and deletes the rows of deleted ones — all in one
DuckDB transaction. A changed definition, or ``full=True``, rebuilds the table from scratch.

:func:`refresh_views` refreshes several views at once: views of the same resource type that read from the same
point share one read of the store and one parse of each resource (orjson), and each view's rows come from its
compiled accessors (:mod:`huitong.views.fastpath`) where it has them, else from the runner. Rows are inserted in
Arrow batches of up to :data:`~huitong.views.duckdb_sink.BATCH_ROWS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import duckdb
import pyarrow as pa

from huitong.db import Database
from huitong.security.actor import Actor
from huitong.views.duckdb_sink import BATCH_ROWS, KEY_COLUMN, create_table, insert_arrow, insert_rows, quote
from huitong.views.errors import MaterialiseError, ViewsError
from huitong.views.fastpath import FastView, compile_view, load_fast, rows_of
from huitong.views.parallel import PARALLEL_MIN_RESOURCES, GroupTask, rebuild_in_workers
from huitong.views.runner import Row
from huitong.views.store_source import (
    MetaBatch,
    StoredText,
    count_current,
    read_changed_meta,
    read_changed_text,
    read_texts,
    record_bulk_read,
)
from huitong.views.viewdef import ViewDefinition

STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS _huitong_views (view_name VARCHAR PRIMARY KEY, resource_type VARCHAR NOT NULL, "
    "definition_hash VARCHAR NOT NULL, watermark TIMESTAMP, refreshed_at TIMESTAMP NOT NULL)",
    "CREATE TABLE IF NOT EXISTS _huitong_view_versions (view_name VARCHAR NOT NULL, res_id VARCHAR NOT NULL, "
    "version_id INTEGER NOT NULL, PRIMARY KEY (view_name, res_id))",
)
DEFAULT_OVERLAP = timedelta(seconds=60)
#: Resources read from the store per batch (one version lookup in DuckDB per batch).
READ_BATCH = 10_000
#: Versions (no JSON) compared with the views' per batch in an incremental refresh.
META_BATCH = 100_000


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What one refresh did."""

    view: str
    mode: Literal["full", "incremental"]
    resources_read: int
    resources_changed: int
    resources_deleted: int
    rows_inserted: int
    watermark: datetime | None


def ensure_state_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in STATE_DDL:
        con.execute(ddl)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def refresh_view(
    con: duckdb.DuckDBPyConnection,
    db: Database,
    view: ViewDefinition,
    actor: Actor,
    *,
    full: bool = False,
    overlap: timedelta = DEFAULT_OVERLAP,
) -> RefreshResult:
    """Bring the DuckDB table of ``view`` up to date with the store; see the module docstring."""
    return refresh_views(con, db, [view], actor, full=full, overlap=overlap)[0]


@dataclass(slots=True)
class _Counts:
    read: int = 0
    changed: int = 0
    deleted: int = 0
    inserted: int = 0
    watermark: datetime | None = None


@dataclass(slots=True)
class _Plan:
    """One view's refresh: what to read, what it found, and the rows waiting to be inserted."""

    view: ViewDefinition
    fast: FastView | None
    rebuild: bool
    previous: datetime | None
    since: datetime | None
    counts: _Counts = field(default_factory=_Counts)
    rows: list[Row] = field(default_factory=list)
    versions: list[tuple[str, int]] = field(default_factory=list)

    @property
    def table(self) -> str:
        return self.view.name

    def result(self) -> RefreshResult:
        watermark = self.counts.watermark or (None if self.rebuild else self.previous)
        return RefreshResult(
            self.table,
            "full" if self.rebuild else "incremental",
            self.counts.read,
            self.counts.changed,
            self.counts.deleted,
            self.counts.inserted,
            watermark,
        )


def _plan(con: duckdb.DuckDBPyConnection, view: ViewDefinition, full: bool, overlap: timedelta) -> _Plan:
    quote(view.name)
    state = con.execute(
        "SELECT definition_hash, watermark FROM _huitong_views WHERE view_name = ?", [view.name]
    ).fetchone()
    rebuild = full or state is None or state[0] != view.definition_hash
    previous = None if state is None or state[1] is None else state[1].replace(tzinfo=UTC)
    since = None if rebuild or previous is None else previous - overlap
    return _Plan(view, compile_view(view), rebuild, previous, since)


def refresh_views(
    con: duckdb.DuckDBPyConnection,
    db: Database,
    views: list[ViewDefinition],
    actor: Actor,
    *,
    full: bool = False,
    overlap: timedelta = DEFAULT_OVERLAP,
    workers: int | None = None,
) -> list[RefreshResult]:
    """Bring the tables of ``views`` up to date, reading each resource type once; results in the order given.

    Full rebuilds of several resource types run in ``workers`` processes (default: one per core when they cover
    at least :data:`~huitong.views.parallel.PARALLEL_MIN_RESOURCES` resources; 1: in this process)."""
    ensure_state_tables(con)
    plans = [_plan(con, view, full, overlap) for view in views]
    groups: dict[tuple[str, datetime | None], list[_Plan]] = {}
    for plan in plans:
        groups.setdefault((plan.view.resource, plan.since), []).append(plan)
    rebuilds = {key: group for key, group in groups.items() if all(plan.rebuild for plan in group)}
    count = _worker_count(db, [key[0] for key in rebuilds], workers)
    if count > 1:
        _rebuild_parallel(con, db, list(rebuilds.items()), count)
        for (res_type, _), group in rebuilds.items():
            for plan in group:
                record_bulk_read(db, actor, res_type, plan.table, plan.counts.read)
        groups = {key: group for key, group in groups.items() if key not in rebuilds}
    for (res_type, since), group in groups.items():
        _refresh_group(con, db, res_type, since, group)
        for plan in group:
            record_bulk_read(db, actor, res_type, plan.table, plan.counts.read)
    return [plan.result() for plan in plans]


def _worker_count(db: Database, res_types: list[str], workers: int | None) -> int:
    if len(res_types) < 2 or workers == 1:
        return 1
    if workers is not None:
        return min(workers, len(res_types))
    cores = os.cpu_count() or 1
    if cores < 2 or count_current(db, res_types) < PARALLEL_MIN_RESOURCES:
        return 1
    return min(cores, len(res_types))


def _begin(con: duckdb.DuckDBPyConnection, group: list[_Plan]) -> None:
    for plan in group:
        if plan.rebuild:
            create_table(con, plan.view, plan.table)
            con.execute("DELETE FROM _huitong_view_versions WHERE view_name = ?", [plan.table])


def _finish(con: duckdb.DuckDBPyConnection, plan: _Plan) -> None:
    _flush(con, plan)
    watermark = plan.counts.watermark or (None if plan.rebuild else plan.previous)
    con.execute(
        "INSERT OR REPLACE INTO _huitong_views VALUES (?, ?, ?, ?, ?)",
        [
            plan.table,
            plan.view.resource,
            plan.view.definition_hash,
            _naive_utc(watermark) if watermark else None,
            _naive_utc(datetime.now(UTC)),
        ],
    )


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection, plans: list[_Plan]) -> Iterator[None]:
    """One DuckDB transaction; a failure rolls back (the previous tables stay) and is raised as a ViewsError."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except (ViewsError, duckdb.Error) as exc:
        con.execute("ROLLBACK")
        if isinstance(exc, ViewsError):
            raise
        names = ", ".join(repr(plan.table) for plan in plans)
        raise MaterialiseError(f"refreshing view {names} failed: {exc}") from exc
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _refresh_group(
    con: duckdb.DuckDBPyConnection, db: Database, res_type: str, since: datetime | None, group: list[_Plan]
) -> None:
    """Refresh views of one resource type that read from the same point, in one DuckDB transaction. Versions
    are looked up once per batch for all the views, and a resource is parsed only if some view needs its rows."""
    checked = [plan.table for plan in group if not plan.rebuild]
    with _transaction(con, group):
        _begin(con, group)
        if len(checked) == len(group):
            _refresh_changed(con, db, res_type, since, group)
        else:
            for batch in read_changed_text(db, res_type, since, batch_size=READ_BATCH):
                _note_read(group, len(batch), batch[-1].last_updated)
                _apply_batch(con, group, checked, batch)
        for plan in group:
            _finish(con, plan)


def _note_read(group: list[_Plan], count: int, newest: datetime) -> None:
    for plan in group:
        plan.counts.read += count
        plan.counts.watermark = max(plan.counts.watermark or newest, newest)


def _apply_batch(
    con: duckdb.DuckDBPyConnection, group: list[_Plan], checked: list[str], batch: list[StoredText]
) -> None:
    """Apply one batch of read resources to every view of the group (each resource parsed at most once)."""
    stored = _stored_versions(con, checked, [r.res_id for r in batch]) if checked else {}
    parsed: dict[int, Any] = {}

    def parse(i: int) -> Any:
        if i not in parsed:
            text = batch[i].text
            parsed[i] = None if text is None else load_fast(text)
        return parsed[i]

    for plan in group:
        _apply(con, plan, batch, stored.get(plan.table, {}), parse)


def _refresh_changed(
    con: duckdb.DuckDBPyConnection, db: Database, res_type: str, since: datetime | None, group: list[_Plan]
) -> None:
    """An incremental refresh of views that all have their tables: read the versions of the resources updated
    since ``since`` first (no JSON), find in DuckDB those whose version some view lacks, and read and apply only
    those. The overlap window re-reads many resources the views already hold; their JSON is no longer read."""
    tables = [plan.table for plan in group]
    for metas in read_changed_meta(db, res_type, since, batch_size=META_BATCH):
        _note_read(group, len(metas.pks), metas.newest)
        wanted = [metas.pks[i] for i in _changed(con, tables, metas)]
        for start in range(0, len(wanted), READ_BATCH):
            part = wanted[start : start + READ_BATCH]
            texts = read_texts(db, part)
            batch = [texts[pk] for pk in part if pk in texts]
            if batch:
                _apply_batch(con, group, tables, batch)


def _changed(con: duckdb.DuckDBPyConnection, tables: list[str], metas: MetaBatch) -> list[int]:
    """Positions in ``metas`` of the resources whose current version (None once deleted) differs from the one
    stored for at least one of ``tables`` (one scan of the version table)."""
    batch = pa.table(
        {
            "idx": pa.array(range(len(metas.pks)), pa.int64()),
            "res_id": pa.array(metas.res_ids, pa.string()),
            "version_id": pa.array(metas.versions, pa.int32()),
        }
    )
    con.register("_huitong_meta", batch)
    try:
        rows = con.execute(
            "SELECT DISTINCT m.idx FROM _huitong_meta m CROSS JOIN (SELECT unnest(?) AS view_name) w "
            "LEFT JOIN _huitong_view_versions v ON v.view_name = w.view_name AND v.res_id = m.res_id "
            "WHERE v.version_id IS DISTINCT FROM m.version_id ORDER BY m.idx",
            [tables],
        ).fetchall()
    finally:
        con.unregister("_huitong_meta")
    return [int(row[0]) for row in rows]


def _rebuild_parallel(
    con: duckdb.DuckDBPyConnection,
    db: Database,
    groups: list[tuple[tuple[str, datetime | None], list[_Plan]]],
    workers: int,
) -> None:
    """Rebuild every view of ``groups`` from scratch in worker processes, in one DuckDB transaction."""
    every = [plan for _, group in groups for plan in group]
    tasks = [
        GroupTask(i, res_type, [plan.view.source for plan in group]) for i, ((res_type, _), group) in enumerate(groups)
    ]

    def on_rows(group: int, view: int, batch: pa.Table) -> None:
        plan = groups[group][1][view]
        plan.counts.inserted += insert_arrow(con, plan.table, batch)

    def on_versions(group: int, view: int, batch: pa.Table) -> None:
        con.register("_huitong_versions", batch)
        try:
            con.execute(
                "INSERT INTO _huitong_view_versions SELECT ?, res_id, version_id FROM _huitong_versions",
                [groups[group][1][view].table],
            )
        finally:
            con.unregister("_huitong_versions")

    with _transaction(con, every):
        for _, group in groups:
            _begin(con, group)
        for done in rebuild_in_workers(db.url, tasks, workers, on_rows, on_versions):
            for plan in groups[done.index][1]:
                plan.counts.read = done.read
                plan.counts.changed = done.changed
                plan.counts.watermark = done.watermark
        for plan in every:
            _finish(con, plan)


def _apply(
    con: duckdb.DuckDBPyConnection,
    plan: _Plan,
    batch: list[StoredText],
    stored: dict[str, int],
    parse: Callable[[int], Any],
) -> None:
    """Queue the rows of the batch's new and changed resources; delete the rows of changed and deleted ones."""
    stale: list[str] = []
    counts = plan.counts
    for i, row in enumerate(batch):
        known = stored.get(row.res_id)
        if known == (None if row.deleted else row.version_id):
            continue
        if known is not None:
            stale.append(row.res_id)
        if row.deleted:
            if known is not None:
                counts.deleted += 1
            continue
        counts.changed += 1
        if row.text is None:
            continue
        key = row.res_id
        parsed = parse(i) if plan.fast is not None else None
        plan.rows.extend((key, *values) for values in rows_of(plan.view, plan.fast, row.text, parsed))
        plan.versions.append((key, row.version_id))
    if stale:
        _delete(con, plan.table, stale)
    if len(plan.rows) >= BATCH_ROWS or len(plan.versions) >= BATCH_ROWS:
        _flush(con, plan)


def _stored_versions(con: duckdb.DuckDBPyConnection, tables: list[str], ids: list[str]) -> dict[str, dict[str, int]]:
    """The stored version of each of ``ids`` in each view of ``tables`` (one scan of the version table)."""
    rows = con.execute(
        "SELECT view_name, res_id, version_id FROM _huitong_view_versions "
        "WHERE view_name IN (SELECT unnest(?)) AND res_id IN (SELECT unnest(?))",
        [tables, ids],
    ).fetchall()
    out: dict[str, dict[str, int]] = {table: {} for table in tables}
    for table, res_id, version in rows:
        out[str(table)][str(res_id)] = int(version)
    return out


def _delete(con: duckdb.DuckDBPyConnection, table: str, stale: list[str]) -> None:
    con.execute(
        f"DELETE FROM {quote(table)} WHERE {quote(KEY_COLUMN)} IN (SELECT unnest(?))",  # noqa: S608 - quoted
        [stale],
    )
    con.execute(
        "DELETE FROM _huitong_view_versions WHERE view_name = ? AND res_id IN (SELECT unnest(?))", [table, stale]
    )


def _flush(con: duckdb.DuckDBPyConnection, plan: _Plan) -> None:
    """Insert the queued rows and versions of one view."""
    plan.counts.inserted += insert_rows(con, plan.view, plan.table, plan.rows)
    plan.rows = []
    if plan.versions:
        versions = plan.versions
        plan.versions = []
        batch = pa.table(
            {
                "view_name": pa.array([plan.table] * len(versions), pa.string()),
                "res_id": pa.array([v[0] for v in versions], pa.string()),
                "version_id": pa.array([v[1] for v in versions], pa.int32()),
            }
        )
        con.register("_huitong_versions", batch)
        try:
            con.execute("INSERT INTO _huitong_view_versions SELECT * FROM _huitong_versions")
        finally:
            con.unregister("_huitong_versions")
