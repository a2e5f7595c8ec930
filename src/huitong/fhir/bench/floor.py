"""The floor of an audited read: the least work a read by id can do on this stack and still be audited.

``huitong bench fhir`` serves this ASGI app beside the bare one (``bare.py``) to show what any implementation of
an audited read could reach on the machine, in the same run: a bearer-token look-up in a dict, one SQLite
``SELECT`` of the stored bytes, and one audit row appended to a SHA-256 hash chain and committed by a writer
thread with group commit (WAL, ``synchronous=FULL``) before the answer is sent — and nothing else: no roles,
scopes, patient reach, request ids, security headers, metrics, access log, ETag or error handling.

It is generous on purpose, an upper bound and not a competitor: each process writes its audit rows to a small
database of its own (no other writes share its WAL), and a row is four short columns. With
``HUITONG_BENCH_FLOOR_WAIT=0`` the answer does not even wait for the audit commit.

Environment: ``HUITONG_BENCH_DB`` (the benchmark's resource database, opened read-only),
``HUITONG_BENCH_AUDIT`` (a directory for the audit databases), ``HUITONG_BENCH_TOKEN`` (the accepted bearer
token), ``HUITONG_BENCH_FLOOR_WAIT`` (``1``, the default, or ``0``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from huitong.bench.group_commit import GroupCommitWriter

_TOKEN = b"Bearer " + os.environ.get("HUITONG_BENCH_TOKEN", "").encode()
_WAIT = os.environ.get("HUITONG_BENCH_FLOOR_WAIT", "1") != "0"
_HEADERS = [(b"content-type", b"application/fhir+json; charset=utf-8")]
_SQL = "SELECT content FROM resource WHERE res_type = ? AND res_id = ? AND deleted = 0"

_Job = tuple[float, str, "asyncio.Future[None] | None", asyncio.AbstractEventLoop]


class _Floor:
    """The read connection and the audit writer of one process, opened on first use."""

    def __init__(self) -> None:
        database = os.environ["HUITONG_BENCH_DB"]
        self.reader = sqlite3.connect(f"file:{database}?mode=ro", uri=True, check_same_thread=False)
        self.last_hash = "0" * 64
        self.writer = GroupCommitWriter(
            str(Path(os.environ["HUITONG_BENCH_AUDIT"]) / f"audit-{os.getpid()}.db"),
            "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, at REAL, entity TEXT, hash TEXT)",
            "INSERT INTO audit (at, entity, hash) VALUES (?, ?, ?)",
            self._chained,
            _release,
        )

    def _chained(self, batch: list[_Job]) -> list[tuple[float, str, str]]:
        rows = []
        for at, entity, _future, _loop in batch:
            self.last_hash = hashlib.sha256(f"{self.last_hash}|{at}|{entity}".encode()).hexdigest()
            rows.append((at, entity, self.last_hash))
        return rows


def _release(batch: list[_Job]) -> None:
    """Once the batch is committed: settle the waiting reads, one wake-up per event loop."""
    waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for _at, _entity, future, loop in batch:
        if future is not None:
            waiting.setdefault(loop, []).append(future)
    for loop, futures in waiting.items():
        loop.call_soon_threadsafe(_settle, futures)


def _settle(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)


_floor: _Floor | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer ``GET /fhir/{type}/{id}`` with the stored bytes once the read's audit row is committed."""
    global _floor  # one per process, opened in the worker (not in uvicorn's parent)
    if scope["type"] != "http":
        return
    if _floor is None:
        _floor = _Floor()
    authorised = any(name == b"authorization" and value == _TOKEN for name, value in scope["headers"])
    parts = scope["path"].split("/")
    row = _floor.reader.execute(_SQL, (parts[2], parts[3])).fetchone() if authorised and len(parts) == 4 else None
    if row is None:
        await send({"type": "http.response.start", "status": 404 if authorised else 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] | None = loop.create_future() if _WAIT else None
    _floor.writer.put((time.time(), scope["path"], future, loop))
    if future is not None:
        await future
    body = row[0].encode()
    headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
