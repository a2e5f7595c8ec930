"""Materialised views in DuckDB, kept up to date incrementally from the resource store.

Per view, DuckDB holds the view's table, the version of every resource it was built from
(``_huitong_view_versions``) and a watermark (``_huitong_views``: the newest ``last_updated`` read and the
definition's hash). A refresh reads only resources updated since the watermark minus ``overlap`` (so a
transaction that committed late with an older timestamp is still seen), skips those whose version it
already has, replaces the rows of changed resources and deletes the rows of deleted ones — all in one
DuckDB transaction. A changed definition, or ``full=True``, rebuilds the table from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import duckdb
import pyarrow as pa

from huitong.db import Database
from huitong.security.actor import Actor
from huitong.views.duckdb_sink import KEY_COLUMN, create_table, insert_rows, quote
from huitong.views.errors import MaterialiseError, ViewsError
from huitong.views.runner import Row, resource_rows
from huitong.views.store_source import StoredRow, read_changed, record_bulk_read
from huitong.views.viewdef import ViewDefinition

STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS _huitong_views (view_name VARCHAR PRIMARY KEY, resource_type VARCHAR NOT NULL, "
    "definition_hash VARCHAR NOT NULL, watermark TIMESTAMP, refreshed_at TIMESTAMP NOT NULL)",
    "CREATE TABLE IF NOT EXISTS _huitong_view_versions (view_name VARCHAR NOT NULL, res_id VARCHAR NOT NULL, "
    "version_id INTEGER NOT NULL, PRIMARY KEY (view_name, res_id))",
)
DEFAULT_OVERLAP = timedelta(seconds=60)


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
    ensure_state_tables(con)
    table = view.name
    quote(table)
    state = con.execute("SELECT definition_hash, watermark FROM _huitong_views WHERE view_name = ?", [table]).fetchone()
    rebuild = full or state is None or state[0] != view.definition_hash
    since = None if rebuild or state is None or state[1] is None else state[1].replace(tzinfo=UTC) - overlap
    con.execute("BEGIN TRANSACTION")
    try:
        if rebuild:
            create_table(con, view, table)
            con.execute("DELETE FROM _huitong_view_versions WHERE view_name = ?", [table])
        counts = _apply_changes(con, db, view, table, since, known_empty=rebuild)
        watermark = counts.watermark or (
            None if rebuild or state is None or state[1] is None else state[1].replace(tzinfo=UTC)
        )
        con.execute(
            "INSERT OR REPLACE INTO _huitong_views VALUES (?, ?, ?, ?, ?)",
            [
                table,
                view.resource,
                view.definition_hash,
                _naive_utc(watermark) if watermark else None,
                _naive_utc(datetime.now(UTC)),
            ],
        )
        con.execute("COMMIT")
    except (ViewsError, duckdb.Error) as exc:
        con.execute("ROLLBACK")
        if isinstance(exc, ViewsError):
            raise
        raise MaterialiseError(f"refreshing view {table!r} failed: {exc}") from exc
    except BaseException:
        con.execute("ROLLBACK")
        raise
    record_bulk_read(db, actor, view.resource, table, counts.read)
    return RefreshResult(
        table,
        "full" if rebuild else "incremental",
        counts.read,
        counts.changed,
        counts.deleted,
        counts.inserted,
        watermark,
    )


@dataclass(slots=True)
class _Counts:
    read: int = 0
    changed: int = 0
    deleted: int = 0
    inserted: int = 0
    watermark: datetime | None = None


def _apply_changes(
    con: duckdb.DuckDBPyConnection,
    db: Database,
    view: ViewDefinition,
    table: str,
    since: datetime | None,
    *,
    known_empty: bool,
) -> _Counts:
    counts = _Counts()
    for batch in read_changed(db, view.resource, since):
        counts.read += len(batch)
        counts.watermark = max(counts.watermark or batch[-1].last_updated, batch[-1].last_updated)
        stored = {} if known_empty else _stored_versions(con, table, [r.res_id for r in batch])
        changed = [r for r in batch if stored.get(r.res_id) != (None if r.deleted else r.version_id)]
        if not changed:
            continue
        counts.changed += sum(1 for r in changed if not r.deleted)
        counts.deleted += sum(1 for r in changed if r.deleted and r.res_id in stored)
        _replace(con, view, table, changed, stored, counts)
    return counts


def _stored_versions(con: duckdb.DuckDBPyConnection, table: str, ids: list[str]) -> dict[str, int]:
    rows = con.execute(
        "SELECT res_id, version_id FROM _huitong_view_versions WHERE view_name = ? AND res_id IN (SELECT unnest(?))",
        [table, ids],
    ).fetchall()
    return {str(res_id): int(version) for res_id, version in rows}


def _replace(
    con: duckdb.DuckDBPyConnection,
    view: ViewDefinition,
    table: str,
    changed: list[StoredRow],
    stored: dict[str, int],
    counts: _Counts,
) -> None:
    stale = [r.res_id for r in changed if r.res_id in stored]
    if stale:
        con.execute(
            f"DELETE FROM {quote(table)} WHERE {quote(KEY_COLUMN)} IN (SELECT unnest(?))",  # noqa: S608 - quoted
            [stale],
        )
        con.execute(
            "DELETE FROM _huitong_view_versions WHERE view_name = ? AND res_id IN (SELECT unnest(?))", [table, stale]
        )
    rows: list[Row] = []
    versions: list[tuple[str, str, int]] = []
    for row in changed:
        if row.deleted or row.content is None:
            continue
        rows.extend((row.res_id, *values) for values in resource_rows(view, row.content))
        versions.append((table, row.res_id, row.version_id))
    counts.inserted += insert_rows(con, view, table, rows)
    if versions:
        batch = pa.table(
            {
                "view_name": [v[0] for v in versions],
                "res_id": [v[1] for v in versions],
                "version_id": pa.array([v[2] for v in versions], pa.int32()),
            }
        )
        con.register("_huitong_versions", batch)
        try:
            con.execute("INSERT INTO _huitong_view_versions SELECT * FROM _huitong_versions")
        finally:
            con.unregister("_huitong_versions")
