"""Group commit for audit rows written on their own: reads, searches and refused calls.

Every read is audited, and a read returns only once its audit row is committed. Written one by one, each of
those rows costs a transaction, a savepoint and an append to the hash chain (whose head every append locks), so
sixteen concurrent readers would queue behind sixteen chain appends. :class:`AuditSink` gathers the rows that
arrive while one append is being written and appends them together, in one transaction: each caller still
waits for the commit that holds its row (nothing is acknowledged before it is durable), but N concurrent readers
cost one write instead of N.

The sink runs one daemon thread, started on first use; :meth:`close` writes what is queued and stops it.
"""

from __future__ import annotations

import functools
import logging
import threading
from concurrent.futures import Future
from typing import Any

from huitong.db.database import Database
from huitong.security import audit_chain

log = logging.getLogger(__name__)

_BATCH_MAX = 512


class AuditSink:
    """Appends audit rows to the chain in batches; :meth:`append` returns once its rows are committed."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cond = threading.Condition()
        self._queue: list[tuple[list[dict[str, Any]], Future[None]]] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        self.batches = 0
        self.rows = 0

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
        with self._cond:
            if self._closed:  # shutting down: write directly rather than lose the row
                closed = True
            else:
                closed = False
                self._queue.append((rows, future))
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="huitong-audit", daemon=True)
                    self._thread.start()
                self._cond.notify()
        if closed:
            self._db.write(lambda conn: audit_chain.append(conn, rows))
            future.set_result(None)
        return future

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        with self._cond:
            self._closed = True
            thread = self._thread
            self._cond.notify()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue[:_BATCH_MAX], self._queue[_BATCH_MAX:]
            rows = [row for rows, _future in batch for row in rows]
            try:
                self._db.write(functools.partial(audit_chain.append, rows=rows))
            except BaseException as exc:  # handed to every waiting caller
                log.exception("writing %d audit rows failed", len(rows))
                for _rows, future in batch:
                    future.set_exception(exc)
                continue
            self.batches += 1
            self.rows += len(rows)
            for _rows, future in batch:
                future.set_result(None)
