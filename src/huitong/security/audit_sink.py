"""Group commit for audit rows written on their own: reads, searches and refused calls.

Every read is audited, and a read returns only once its audit row is committed. Written one by one, each of
those rows costs a transaction, a savepoint and an append to the hash chain (whose head every append locks), so
sixteen concurrent readers would queue behind sixteen chain appends. :class:`AuditSink` gathers the rows that
arrive while one append is being written and appends them together, in one transaction: each caller still
waits for the commit that holds its row (nothing is acknowledged before it is durable), but N concurrent readers
cost one write instead of N.

On SQLite the sink hands its write job straight to the single writer's queue (``db/writer.py``): at most one
job of the sink waits there at a time, the writer thread runs it, and its done callback releases the rows'
waiters and queues the next job if rows arrived meanwhile. On PostgreSQL, whose writer runs a job in the
calling thread, the sink runs a daemon thread of its own, started on first use. Either way :meth:`close`
writes what is queued. The rows of a batch are taken from the queue when the write job runs, not when it is
queued: on SQLite with several server processes (``--workers N``) the writer may first wait for another
process's commit, and the rows that arrive meanwhile join the batch instead of waiting for the next one.
(A sink thread on SQLite as well cost every read two more hand-offs between threads: ``huitong bench fhir``,
docs/benchmarks.md.)

Callers on an event loop use :meth:`submit_async`: their waits are asyncio futures of that loop, and a commit
settles all of one loop's futures with one wake-up of the loop (one ``call_soon_threadsafe``), not one per row.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from concurrent.futures import Future
from typing import Any, TypeAlias

import sqlalchemy as sa

from huitong.db.database import Database
from huitong.db.errors import WriterClosedError
from huitong.security import audit_chain

log = logging.getLogger(__name__)

_BATCH_MAX = 512

#: What waits for a commit: a thread's future, or an asyncio future of some event loop.
Waiter: TypeAlias = "Future[None] | asyncio.Future[None]"


def _settle(waiters: list[asyncio.Future[None]], error: BaseException | None) -> None:
    """On the waiters' loop: resolve them (skipping any whose request was cancelled meanwhile)."""
    for waiter in waiters:
        if not waiter.done():
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)


class AuditSink:
    """Appends audit rows to the chain in batches; :meth:`append` returns once its rows are committed."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cond = threading.Condition()
        self._queue: list[tuple[list[dict[str, Any]], Waiter]] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        self.batches = 0
        self.rows = 0
        #: On SQLite the sink needs no thread of its own: its job goes straight to the single writer's queue,
        #: which runs it on the writer thread (PostgreSQL's writer runs a job in the caller's thread).
        self._direct = db.is_sqlite
        self._job_queued = False  # a job of the sink waits in the writer's queue and has not taken its rows yet
        self._jobs = 0  # the sink's jobs submitted and not yet finished

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Write ``rows`` (``audit_event`` rows without chain columns) and wait until they are committed."""
        self.submit(rows).result()

    def submit(self, rows: list[dict[str, Any]]) -> Future[None]:
        """Queue ``rows``; the future resolves once they are committed (or fails with the write's error).

        The caller must wait for it before it hands out what the rows record: the HTTP read fast path
        (``fhir/fastpath.py``) awaits it on the event loop instead of holding a thread while the batch commits.
        """
        future: Future[None] = Future()
        if not rows:
            future.set_result(None)
            return future
        if not self._enqueue(rows, future):  # shutting down: write directly rather than lose the row
            self._db.write(lambda conn: audit_chain.append(conn, rows))
            future.set_result(None)
        return future

    def submit_async(self, rows: list[dict[str, Any]]) -> asyncio.Future[None]:
        """:meth:`submit` for a caller on the running event loop: await the returned future before answering."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not rows:
            future.set_result(None)
            return future
        if not self._enqueue(rows, future):
            self._db.write(lambda conn: audit_chain.append(conn, rows))  # only while shutting down
            future.set_result(None)
        return future

    def _enqueue(self, rows: list[dict[str, Any]], waiter: Waiter) -> bool:
        with self._cond:
            if self._closed:
                return False
            self._queue.append((rows, waiter))
            if self._direct:
                if not self._job_queued:
                    self._job_queued = True
                    self._submit_job()
                return True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="huitong-audit", daemon=True)
                self._thread.start()
            self._cond.notify()
        return True

    def close(self) -> None:
        """Write what is queued, then stop the thread (PostgreSQL) or wait for the last queued job (SQLite)."""
        with self._cond:
            self._closed = True
            thread = self._thread
            self._cond.notify()
            while self._direct and (self._queue or self._jobs):
                self._cond.wait(timeout=1.0)
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
            taken: list[tuple[list[dict[str, Any]], Waiter]] = []
            error: BaseException | None = None
            try:
                # The rows are taken when the write runs, not before: those that arrive while the writer waits
                # for its turn (another process's commit, db/writer.py) join this commit.
                written = self._db.write(functools.partial(self._append_queued, taken=taken))
            except BaseException as exc:  # handed to every waiting caller
                if not taken:  # the job never ran (the writer is closed): fail what it would have written
                    taken = self._take()
                log.exception("writing %d audit rows failed", sum(len(rows) for rows, _waiter in taken))
                error = exc
            else:
                self.batches += 1
                self.rows += written
            _release([waiter for _rows, waiter in taken], error)

    def _submit_job(self) -> None:
        """(SQLite, under the lock) queue one write job for the rows queued now and those that join it."""
        taken: list[tuple[list[dict[str, Any]], Waiter]] = []
        try:
            future = self._db.writer.submit(functools.partial(self._append_queued, taken=taken))
        except WriterClosedError as exc:  # shutting down: fail what waits (the caller's own wait included)
            self._job_queued = False
            pending, self._queue = self._queue, []
            _release([waiter for _rows, waiter in pending], exc)
            return
        self._jobs += 1
        future.add_done_callback(functools.partial(self._written, taken=taken))

    def _written(self, future: Future[int], *, taken: list[tuple[list[dict[str, Any]], Waiter]]) -> None:
        """(SQLite, on the writer thread) release the rows' waiters; queue the next job if rows came meanwhile."""
        error = future.exception()
        if error is None:
            self.batches += 1
            self.rows += future.result()
        else:
            if not taken:
                taken[:] = self._take()
            log.error("writing %d audit rows failed: %s", sum(len(rows) for rows, _waiter in taken), error)
        _release([waiter for _rows, waiter in taken], error)
        with self._cond:
            self._jobs -= 1
            if self._queue and not self._job_queued:
                self._job_queued = True
                self._submit_job()
            self._cond.notify_all()  # close() waits for the last job

    def _take(self) -> list[tuple[list[dict[str, Any]], Waiter]]:
        with self._cond:
            batch, self._queue = self._queue[:_BATCH_MAX], self._queue[_BATCH_MAX:]
            if self._direct:  # rows from now on need a job of their own (the done callback queues it for any left)
                self._job_queued = False
        return batch

    def _append_queued(self, conn: sa.Connection, taken: list[tuple[list[dict[str, Any]], Waiter]]) -> int:
        """The write job: append what is queued now (recorded in ``taken`` for the release); the rows written."""
        taken[:] = self._take()
        rows = [row for rows, _waiter in taken for row in rows]
        audit_chain.append(conn, rows)
        return len(rows)


def _release(waiters: list[Waiter], error: BaseException | None) -> None:
    """Resolve threads' futures here, and each loop's futures with one call on that loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for waiter in waiters:
        if isinstance(waiter, asyncio.Future):
            by_loop.setdefault(waiter.get_loop(), []).append(waiter)
        elif error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)
    for loop, futures in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, futures, error)
        except RuntimeError:  # the loop is closed: nobody waits any more
            log.warning("%d audit waiters of a closed event loop dropped", len(futures))
