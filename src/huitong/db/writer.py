"""Writers: the one path every database write takes.

SQLite allows one writer at a time. Rather than let concurrent requests fight over the lock (and fail with
"database is locked"), :class:`SerialWriter` owns the only write connection on one thread and runs queued
jobs there. It commits up to ``batch_max`` waiting jobs in one transaction (group commit: one disk sync
for many writes), each inside its own savepoint, so a job that raises is undone alone while the others
commit. A job's future resolves only after the commit that made it durable.

Several processes on one SQLite file (``huitong serve --workers N``) each have such a writer. SQLite itself
lets the second one wait for the first by *sleeping and retrying* (its busy handler backs off 1, 2, 5, 10 … ms),
so under a steady stream of audited reads the workers' writers lose most of their time asleep while the lock
is free, and a request can wait 25–100 ms for a commit that takes one. With ``lock_path`` the writers first take
an exclusive ``flock`` on that file (the kernel wakes the next waiter the moment the lock is released), then take
everything queued meanwhile into the batch, then run SQLite's ``BEGIN IMMEDIATE`` — which then finds the
database free. The lock is advisory, taken only around the write transaction, and released by the kernel if the
process dies; other SQLite writers that do not take it (a CLI command) still wait on SQLite's own lock. A writer
waits for it at most the busy timeout (a process stopped mid-commit keeps it): then it writes without it and SQLite's
busy timeout decides, as it did before the lock file existed.

PostgreSQL takes concurrent writers natively; :class:`PooledWriter` runs each job in its own transaction
on a pooled connection in the calling thread.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa

from huitong.db.errors import WriterClosedError

T = TypeVar("T")
Job = Callable[[sa.Connection], T]

log = logging.getLogger(__name__)


class Writer(Protocol):
    """Runs write jobs, each in a transaction of its own (or a savepoint of a shared one)."""

    def submit(self, job: Job[T]) -> Future[T]:
        """Queue ``job``; the future resolves with its result once it is durably committed."""
        ...

    def close(self) -> None:
        """Finish queued jobs and release the connection."""
        ...


@dataclass
class _Queued:
    job: Job[Any]
    future: Future[Any] = field(default_factory=Future)


_STOP = object()


class SerialWriter:
    """One thread, one connection, group commit. See the module docstring."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        batch_max: int = 256,
        name: str = "huitong-writer",
        lock_path: str | None = None,
        lock_wait_s: float = 5.0,
    ) -> None:
        self._engine = engine
        #: Longest wait for the writers' lock before writing without it (the database's busy timeout).
        self._lock_wait_s = lock_wait_s
        self._batch_max = batch_max
        #: The file whose ``flock`` the writers of every process on the database take in turn (module docstring).
        self._lock_path = lock_path
        self._queue: queue.SimpleQueue[_Queued | object] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self.commits = 0
        self.jobs = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Job[T]) -> Future[T]:
        with self._lock:
            if self._closed:
                raise WriterClosedError("the database writer is closed; the platform is shutting down")
            item = _Queued(job)
            self._queue.put(item)
        return item.future

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join()

    def _take_batch(self) -> tuple[list[_Queued], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        if not isinstance(first, _Queued):
            raise TypeError("unexpected item in the write queue")
        return self._more([first])

    def _more(self, batch: list[_Queued]) -> tuple[list[_Queued], bool]:
        """``batch`` with what else is queued (up to ``batch_max``), and whether the queue asks to stop."""
        stop = False
        while len(batch) < self._batch_max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                stop = True
                break
            if not isinstance(item, _Queued):
                raise TypeError("unexpected item in the write queue")
            batch.append(item)
        return batch, stop

    def _run(self) -> None:
        lock_fd = self._open_lock()
        try:
            with self._engine.connect() as conn:
                while True:
                    batch, stop = self._take_batch()
                    if batch and lock_fd is not None:
                        held = self._turn(lock_fd)  # our turn among the processes' writers
                        try:
                            if not stop:  # what arrived while another process wrote joins this commit
                                batch, stop = self._more(batch)
                            self._commit_batch(conn, batch)
                        finally:
                            if held:
                                fcntl.flock(lock_fd, fcntl.LOCK_UN)
                    elif batch:
                        self._commit_batch(conn, batch)
                    if stop:
                        return
        finally:
            if lock_fd is not None:
                os.close(lock_fd)

    def _turn(self, lock_fd: int) -> bool:
        """Take the writers' lock, waiting at most ``lock_wait_s``; ``False`` when another process kept it that
        long (stopped mid-commit, say): the write then goes to SQLite's own lock, whose busy timeout fails it
        with "database is locked" rather than leaving every writer waiting for ever."""
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        deadline = time.monotonic() + self._lock_wait_s
        pause = 0.0002
        while time.monotonic() < deadline:
            time.sleep(pause)
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                pause = min(pause * 2, 0.002)
        log.warning("another process held the writer lock %s for %.1f s; writing without it", self._lock_path,
                    self._lock_wait_s)  # fmt: skip
        return False

    def _open_lock(self) -> int | None:
        """The lock file, opened (created if need be; ``flock`` needs no write access), or ``None`` without one."""
        if self._lock_path is None:
            return None
        try:
            return os.open(self._lock_path, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError as exc:  # still correct without it: SQLite's own lock (and busy handler) serialises writers
            log.warning("no writer lock file %s (%s): processes on this database wait by polling", self._lock_path, exc)
            return None

    def _commit_batch(self, conn: sa.Connection, batch: list[_Queued]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with conn.begin():
                for item in batch:
                    if not item.future.set_running_or_notify_cancel():
                        outcomes.append((False, None))
                        continue
                    savepoint = conn.begin_nested() if len(batch) > 1 else None
                    try:
                        result = item.job(conn)
                    except BaseException as exc:
                        if savepoint is None:
                            raise _SoleJobFailedError(exc) from exc
                        savepoint.rollback()
                        outcomes.append((False, exc))
                        continue
                    if savepoint is not None:
                        savepoint.commit()
                    outcomes.append((True, result))
        except _SoleJobFailedError as failed:
            batch[0].future.set_exception(failed.error)
            return
        except BaseException as exc:
            log.exception("group commit of %d jobs failed", len(batch))
            for item in batch:
                if item.future.running():
                    item.future.set_exception(exc)
            return
        self.commits += 1
        self.jobs += len(batch)
        for item, (ok, value) in zip(batch, outcomes, strict=True):
            if not item.future.running():
                continue
            if ok:
                item.future.set_result(value)
            else:
                item.future.set_exception(value)


class _SoleJobFailedError(Exception):
    """Carries the error of a batch of one out of its transaction so that it rolls back."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class PooledWriter:
    """Each job in its own transaction on a pooled connection, in the caller's thread (PostgreSQL)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._closed = False

    def submit(self, job: Job[T]) -> Future[T]:
        if self._closed:
            raise WriterClosedError("the database writer is closed; the platform is shutting down")
        future: Future[T] = Future()
        future.set_running_or_notify_cancel()
        try:
            with self._engine.begin() as conn:
                result = job(conn)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through its future
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

    def close(self) -> None:
        self._closed = True
