"""The benchmarks' floors share one writer: a SQLite file of its own, one thread, group commit, nothing else.

``huitong bench fhir`` (the floor of an audited read, ``fhir/bench/floor.py``) and ``huitong bench ingest`` (the
floor of durable ingest, ``ingest/bench_floor.py``) each measure the least work their guarantee needs: a row
durably committed (WAL, ``synchronous=FULL``) before the answer. This is that writer: jobs queued from any
thread are written together, every job waiting when a commit starts in that commit, and ``committed`` is called
with the batch on the writer thread once it is durable.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

J = TypeVar("J")


class GroupCommitWriter(Generic[J]):
    """Writes ``rows(batch)`` with ``insert`` into the file ``path`` (``schema`` creates the table), a batch per
    commit; then calls ``committed(batch)``. :meth:`close` writes what is queued and stops the thread."""

    def __init__(
        self,
        path: str,
        schema: str,
        insert: str,
        rows: Callable[[list[J]], Sequence[tuple[Any, ...]]],
        committed: Callable[[list[J]], object],
    ) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute(schema)
        self._insert, self._rows, self._committed = insert, rows, committed
        self._jobs: queue.SimpleQueue[tuple[J] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="bench-floor-writer", daemon=True)
        self._thread.start()

    def put(self, job: J) -> None:
        """Queue ``job`` for the next commit."""
        self._jobs.put((job,))

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch, stop = [first[0]], False
            while True:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more[0])
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany(self._insert, self._rows(batch))
            self.conn.execute("COMMIT")
            self._committed(batch)
            if stop:
                return

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(10)
        self.conn.close()
