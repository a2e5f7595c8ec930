"""Writers: the one path every database write takes.

SQLite allows one writer at a time. Rather than let concurrent requests fight over the lock (and fail with
"database is locked"), :class:`SerialWriter` owns the only write connection on one thread and runs queued
jobs there. It commits up to ``batch_max`` waiting jobs in one transaction (group commit: one disk sync
for many writes), each inside its own savepoint, so a job that raises is undone alone while the others
commit. A job's future resolves only after the commit that made it durable. Bulk work submitted as ``background``
gives way to the jobs someone waits on (see :class:`SerialWriter`).

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
import threading
import time
from collections import deque
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

    def submit(self, job: Job[T], *, background: bool = False) -> Future[T]:
        """Queue ``job``; the future resolves with its result once it is durably committed. A ``background`` job
        (bulk work nobody waits on: the pipeline's batches) gives way to the others (:class:`SerialWriter`)."""
        ...

    def close(self) -> None:
        """Finish queued jobs and release the connection."""
        ...

    def waited_on_within(self, seconds: float) -> bool:
        """Whether a write others wait on (not ``background``) was taken in the last ``seconds``, so that bulk work
        can keep its transactions short meanwhile."""
        ...

    def depth(self, *, background: bool = False) -> int:
        """Jobs queued and not yet taken into a transaction (foreground, or ``background``): the metrics' queue."""
        ...


@dataclass
class _Queued:
    job: Job[Any]
    future: Future[Any] = field(default_factory=Future)


class SerialWriter:
    """One thread, one connection, group commit. See the module docstring.

    A transaction takes the jobs queued when it begins, up to ``batch_max``; those that arrive meanwhile wait for the
    next one, so that the jobs written are answered at their commit and their callers carry on (with a stream of
    audited reads, a transaction that took every late-comer would commit only once every reader was waiting). Two
    queues, so that bulk work does not hold up those waiting on a commit (an MLLP sender waiting for its ACK, a reader
    for its audit entry):

    * a job from the foreground queue (the default) is always taken before a background one;
    * foreground jobs that arrive while a transaction runs background jobs join it after the running job; it then
      takes no more background jobs and commits. A foreground job so waits at most for the job running when it came,
      then one commit — not for every background job queued ahead of it;
    * after a transaction of foreground jobs only, the next one starts with a background job when one waits, so
      that a steady stream of foreground jobs does not starve the background.

    The first job of a transaction runs without a savepoint (if it fails, the transaction is rolled back before any
    other job ran in it); each job after it runs in a savepoint of its own, so one that raises is undone alone.
    """

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
        self._ready = threading.Condition()
        self._foreground: deque[_Queued] = deque()
        self._background: deque[_Queued] = deque()
        self._owe_background = False  # the last transaction took foreground jobs only while background ones waited
        self._foreground_at = -1e9  # time.monotonic() when the last foreground job was taken
        self._foreground_left = 0  # foreground jobs the open transaction may still take
        self._background_left = 0  # background jobs the open transaction may still take
        self._closed = False
        self.commits = 0
        self.jobs = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Job[T], *, background: bool = False) -> Future[T]:
        item = _Queued(job)
        with self._ready:
            if self._closed:
                raise WriterClosedError("the database writer is closed; the platform is shutting down")
            (self._background if background else self._foreground).append(item)
            self._ready.notify()
        return item.future

    def close(self) -> None:
        """Refuse new jobs, finish every queued one, then stop the thread."""
        with self._ready:
            if self._closed:
                return
            self._closed = True
            self._ready.notify()
        self._thread.join()

    def waited_on_within(self, seconds: float) -> bool:
        return time.monotonic() - self._foreground_at < seconds

    def depth(self, *, background: bool = False) -> int:
        return len(self._background if background else self._foreground)

    def _wait(self) -> bool:
        """Block until a job is queued; ``False`` once the writer is closed and nothing is left."""
        with self._ready:
            while not self._foreground and not self._background:
                if self._closed:
                    return False
                self._ready.wait()
            return True

    def _next(self, taken: int, foreground: bool) -> tuple[_Queued, bool] | None:
        """The next job for a transaction that has taken ``taken`` jobs (``foreground``: one of them from the
        foreground queue) and whether it is a foreground job; ``None``: commit now (see the class docstring)."""
        with self._ready:
            if taken == 0:  # the jobs queued as the transaction begins: it takes no later ones (but see below)
                self._foreground_left, self._background_left = len(self._foreground), len(self._background)
            if taken < self._batch_max:
                if taken == 0 and self._owe_background and self._background:
                    self._owe_background = False
                    self._background_left -= 1
                    return self._background.popleft(), False
                if not foreground and self._foreground:  # came while bulk work ran: those queued now join, then commit
                    self._foreground_left = len(self._foreground)
                if self._foreground_left > 0:
                    self._foreground_left -= 1
                    self._foreground_at = time.monotonic()
                    return self._foreground.popleft(), True
                if not foreground and self._background_left > 0:
                    self._background_left -= 1
                    return self._background.popleft(), False
            if foreground and self._background:  # background jobs waited through this commit: one goes next
                self._owe_background = True
            return None

    def _run(self) -> None:
        lock_fd = self._open_lock()
        try:
            with self._engine.connect() as conn:
                while self._wait():
                    held = self._turn(lock_fd) if lock_fd is not None else False  # our turn among processes
                    try:
                        self._commit_batch(conn)  # what arrived while another process wrote joins this commit
                    finally:
                        if held and lock_fd is not None:
                            fcntl.flock(lock_fd, fcntl.LOCK_UN)
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

    def _commit_batch(self, conn: sa.Connection) -> None:
        """One transaction: take jobs while :meth:`_next` gives them, each after the first in a savepoint; commit."""
        done: list[tuple[_Queued, bool, Any]] = []  # (job, succeeded, result or error)
        started: list[_Queued] = []
        foreground = False
        try:
            with conn.begin():
                while (nxt := self._next(len(started), foreground)) is not None:
                    item, is_foreground = nxt
                    if not item.future.set_running_or_notify_cancel():  # cancelled while queued
                        continue
                    foreground = foreground or is_foreground
                    savepoint = conn.begin_nested() if started else None
                    started.append(item)
                    try:
                        result = item.job(conn)
                    except BaseException as exc:
                        if savepoint is None:
                            raise _SoleJobFailedError(exc) from exc
                        savepoint.rollback()
                        done.append((item, False, exc))
                        continue
                    if savepoint is not None:
                        savepoint.commit()
                    done.append((item, True, result))
        except _SoleJobFailedError as failed:
            started[0].future.set_exception(failed.error)
            return
        except BaseException as exc:
            log.exception("group commit of %d jobs failed", len(started))
            for item in started:
                if item.future.running():
                    item.future.set_exception(exc)
            return
        self.commits += 1
        self.jobs += len(started)
        for item, ok, value in done:
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
    """Each job in its own transaction on a pooled connection, in the caller's thread (PostgreSQL: writers run
    side by side, so a ``background`` job holds up no other and is run like any)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._closed = False

    def submit(self, job: Job[T], *, background: bool = False) -> Future[T]:
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

    def waited_on_within(self, seconds: float) -> bool:
        return False  # jobs run side by side: none waits for another's

    def depth(self, *, background: bool = False) -> int:
        return 0  # each job runs at once, in its caller's thread

    def close(self) -> None:
        self._closed = True
