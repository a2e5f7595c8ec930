"""Rebuilding views of several resource types at once, one worker process per type (up to the number of cores).

Each worker reads its resource type from the store over its own connection, parses and flattens every resource
exactly as the single-process refresh does (:func:`huitong.views.fastpath.rows_of`) and sends the rows back as
Arrow batches; the parent, which owns the DuckDB connection and its transaction, inserts them. Only full
rebuilds go this way: an incremental refresh reads little and needs the versions DuckDB holds.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from huitong.views import errors
from huitong.views.duckdb_sink import BATCH_ROWS, arrow_rows
from huitong.views.errors import MaterialiseError, ViewsError
from huitong.views.fastpath import compile_view, load_fast, rows_of
from huitong.views.runner import Row
from huitong.views.store_source import read_changed_text
from huitong.views.viewdef import parse_view

#: A full rebuild of at least this many resources (of more than one type) is spread over worker processes.
PARALLEL_MIN_RESOURCES = 100_000
_POLL_SECONDS = 2.0
_VERSIONS = pa.schema([pa.field("res_id", pa.string()), pa.field("version_id", pa.int32())])


@dataclass(frozen=True, slots=True)
class GroupTask:
    """The views of one resource type to rebuild (their definitions as JSON, so they cross processes)."""

    index: int
    res_type: str
    sources: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class GroupDone:
    """What a worker read for one group."""

    index: int
    read: int
    changed: int
    watermark: datetime | None


class _EngineReader:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn, conn.begin() as tx:
            yield conn
            tx.rollback()


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _table(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


def _flatten_group(url: str, task: GroupTask, out: Any) -> None:
    engine = sa.create_engine(url)
    try:
        views = [parse_view(source) for source in task.sources]
        fasts = [compile_view(view) for view in views]
        rows: list[list[Row]] = [[] for _ in views]
        versions: list[list[tuple[str, int]]] = [[] for _ in views]

        def send(i: int) -> None:
            if rows[i]:
                out.put(("rows", task.index, i, _ipc(arrow_rows(views[i], rows[i]))))
                rows[i] = []
            if versions[i]:
                ids = pa.array([v[0] for v in versions[i]], pa.string())
                numbers = pa.array([v[1] for v in versions[i]], pa.int32())
                out.put(("versions", task.index, i, _ipc(pa.Table.from_arrays([ids, numbers], schema=_VERSIONS))))
                versions[i] = []

        read = changed = 0
        newest: datetime | None = None
        for batch in read_changed_text(_EngineReader(engine), task.res_type, None):
            read += len(batch)
            newest = max(newest or batch[-1].last_updated, batch[-1].last_updated)
            for stored in batch:
                if stored.deleted:
                    continue
                changed += 1
                if stored.text is None:
                    continue
                parsed = load_fast(stored.text)
                for i, view in enumerate(views):
                    key = stored.res_id
                    rows[i].extend((key, *values) for values in rows_of(view, fasts[i], stored.text, parsed))
                    versions[i].append((key, stored.version_id))
            for i in range(len(views)):
                if len(rows[i]) >= BATCH_ROWS or len(versions[i]) >= BATCH_ROWS:
                    send(i)
        for i in range(len(views)):
            send(i)
        out.put(("done", GroupDone(task.index, read, changed, newest)))
    finally:
        engine.dispose()


def _worker(url: str, tasks: Any, out: Any) -> None:
    """A worker process: flatten groups until the sentinel (None); report the first error and stop."""
    while (task := tasks.get()) is not None:
        try:
            _flatten_group(url, task, out)
        except ViewsError as exc:
            out.put(("error", type(exc).__name__, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
            out.put(("error", "MaterialiseError", f"rebuilding {task.res_type} views failed: {exc!r}"))
            return


def rebuild_in_workers(
    url: str,
    tasks: list[GroupTask],
    workers: int,
    on_rows: Callable[[int, int, pa.Table], None],
    on_versions: Callable[[int, int, pa.Table], None],
) -> list[GroupDone]:
    """Flatten ``tasks`` in ``workers`` processes; ``on_rows``/``on_versions`` (group, view, batch) are called in
    this process as batches arrive. Raises the workers' first error (after stopping them)."""
    context = multiprocessing.get_context("spawn")
    todo: Any = context.Queue()
    out: Any = context.Queue(maxsize=8)
    for task in tasks:
        todo.put(task)
    processes = [context.Process(target=_worker, args=(url, todo, out), daemon=True) for _ in range(workers)]
    for _ in processes:
        todo.put(None)
    for process in processes:
        process.start()
    done: list[GroupDone] = []
    try:
        while len(done) < len(tasks):
            try:
                message = out.get(timeout=_POLL_SECONDS)
            except queue_module.Empty:
                if not any(process.is_alive() for process in processes):
                    raise MaterialiseError("a view worker process ended without finishing its views") from None
                continue
            kind = message[0]
            if kind == "rows":
                on_rows(message[1], message[2], _table(message[3]))
            elif kind == "versions":
                on_versions(message[1], message[2], _table(message[3]))
            elif kind == "done":
                done.append(message[1])
            else:
                error = getattr(errors, message[1], None)
                if not (isinstance(error, type) and issubclass(error, ViewsError)):
                    error = MaterialiseError
                raise error(message[2])
    finally:
        for process in processes:
            if process.is_alive() and len(done) < len(tasks):
                process.terminate()
        for process in processes:
            process.join()
    return sorted(done, key=lambda group: group.index)
