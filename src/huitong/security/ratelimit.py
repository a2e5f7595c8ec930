"""Rate limits in fixed one-minute windows per key, shared by every process on the same database.

Keys are client addresses (login, token, registration) or credentials (API). Each process counts in memory and
decides in memory, so a request never waits for the database; the counts are shared through the table
``sec_rate_count`` (one row per scope, key and minute):

- :class:`RateLimiter` (the API limit) adds its hits to the table every ``sync_seconds`` from a background thread
  and reads back the totals of every process. Between two syncs each process may admit up to what it sees as the
  rest of the minute's allowance, so with N processes the minute's total may exceed the limit by at most the
  hits the N processes take in one sync interval.
- :meth:`RateLimiter.hit_exact` (login, token and registration: rare, and what a password-guessing attack
  hammers) adds the hit in the database first and decides on the shared total, so no number of processes
  lets more through.

``sync_seconds = 0`` keeps the counts in the process (no table; each process allows the full rate).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from huitong.db import Database
from huitong.security.schema import sec_rate_count

log = logging.getLogger(__name__)

MAX_KEYS = 100_000


class RateLimitedError(Exception):
    """Too many requests; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; retry after {retry_after} s")
        self.retry_after = retry_after


def add_hits(conn: sa.Connection, dialect: str, scope: str, window: int, hits: Mapping[str, int]) -> dict[str, int]:
    """Add ``hits`` to the shared counts of ``window`` and return the new totals of those keys.

    Counts of minutes before the previous one are deleted on the way.
    """
    t = sec_rate_count
    insert = pg_insert(t) if dialect == "postgresql" else sqlite_insert(t)
    upsert = insert.on_conflict_do_update(
        index_elements=[t.c.scope, t.c.key, t.c.minute], set_={"hits": t.c.hits + insert.excluded.hits}
    )
    rows = [{"scope": scope, "key": key, "minute": window, "hits": n} for key, n in sorted(hits.items())]
    conn.execute(upsert, rows)  # sorted: two processes lock the same rows in the same order (PostgreSQL)
    conn.execute(sa.delete(t).where(t.c.scope == scope, t.c.minute < window - 1))  # minutes no one decides on
    return shared_hits(conn, scope, window, hits)


def shared_hits(conn: sa.Connection, scope: str, window: int, keys: Iterable[str]) -> dict[str, int]:
    """The totals of every process for ``keys`` in ``window``."""
    t = sec_rate_count
    found = conn.execute(
        sa.select(t.c.key, t.c.hits).where(t.c.scope == scope, t.c.minute == window, t.c.key.in_(list(keys)))
    )
    return {key: int(total) for key, total in found}


class RateLimiter:
    """Allows ``per_minute`` hits per key per clock minute, counted across processes (see the module)."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], datetime],
        *,
        db: Database | None = None,
        scope: str = "",
        sync_seconds: float = 0.0,
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.db = db if sync_seconds > 0 else None
        self.scope = scope
        self.sync_seconds = sync_seconds
        self._lock = threading.Lock()
        self._window = -1
        self._pending: dict[str, int] = {}  # this process's hits not yet added to the table
        self._shared: dict[str, int] = {}  # totals of every process at the last sync (ours included)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _roll(self, window: int) -> None:
        if window != self._window or len(self._pending) + len(self._shared) > MAX_KEYS:
            self._window, self._pending, self._shared = window, {}, {}

    def hit(self, key: str) -> None:
        """Count one request of ``key``; raise :class:`RateLimitedError` past the limit. Waits for no database."""
        now = self.clock()
        window = int(now.timestamp()) // 60
        with self._lock:
            self._roll(window)
            pending = self._pending.get(key, 0) + 1
            self._pending[key] = pending
            count = self._shared.get(key, 0) + pending
        if self.db is not None and self._thread is None:
            self._start()
        self._decide(count, now)

    def hit_exact(self, key: str) -> None:
        """:meth:`hit`, decided on the shared total after adding this hit to the table (a database write)."""
        if self.db is None:
            self.hit(key)
            return
        now, job = self._exact(key)
        self._decide(self.db.write(job)[key], now)

    async def hit_exact_async(self, key: str) -> None:
        """:meth:`hit_exact` for coroutines: the event loop does not wait for the write."""
        if self.db is None:
            self.hit(key)
            return
        now, job = self._exact(key)
        self._decide((await self.db.write_async(job))[key], now)

    def _exact(self, key: str) -> tuple[datetime, Callable[[sa.Connection], dict[str, int]]]:
        """The moment and the write job that adds one hit of ``key`` (only with a database)."""
        now, db = self.clock(), self.db
        if db is None:
            raise RuntimeError("exact rate limits need the database")
        window = int(now.timestamp()) // 60
        return now, lambda conn: add_hits(conn, db.dialect, self.scope, window, {key: 1})

    def _decide(self, total: int, now: datetime) -> None:
        """Refuse once ``total`` hits of this minute pass the limit."""
        if total > self.per_minute:
            raise RateLimitedError(60 - int(now.timestamp()) % 60)

    def sync(self) -> None:
        """Add this process's pending hits to the table and learn every process's totals (the thread calls it)."""
        if self.db is None:
            return
        with self._lock:
            window, pending, known = self._window, self._pending, list(self._shared)
            self._pending = {}
        if not pending and not known:
            return
        db, scope, keys = self.db, self.scope, set(pending) | set(known)

        def job(conn: sa.Connection) -> dict[str, int]:
            add_hits(conn, db.dialect, scope, window, pending)
            return shared_hits(conn, scope, window, keys)

        try:
            if pending:
                totals = db.write(job)
            else:  # nothing to add: only learn what the other processes counted
                with db.read() as conn:
                    totals = shared_hits(conn, scope, window, keys)
        except Exception:  # the database is away: keep the hits for the next sync and decide locally meanwhile
            log.warning("rate limit counts not shared (database unavailable); retrying", exc_info=True)
            with self._lock:
                if self._window == window:
                    for key, n in pending.items():
                        self._pending[key] = self._pending.get(key, 0) + n
            return
        with self._lock:
            if self._window == window:
                self._shared.update(totals)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name=f"rate-sync-{self.scope}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.sync_seconds):
            self.sync()

    def close(self) -> None:
        """Stop the sync thread after a last sync."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self.sync()
