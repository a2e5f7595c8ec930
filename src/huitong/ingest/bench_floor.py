"""The floor of durable ingest for ``huitong bench ingest``: the least a listener can do and still ACK after commit.

The protocol echo (``bench.py``) reads the MSH and ACKs at once; this server does the same and, before the ACK,
appends the raw message with its control id to a one-table SQLite database (WAL, ``synchronous=FULL``) through a
writer thread with group commit — and nothing else: no full parse (so no AE/AR for a malformed body), no
duplicate check, no message-store columns or indexes, no tally, no patient ids. The run reports it beside the
real listener so the durable goal (≥ 0.3× the echo) can be judged against what any durable listener reaches on
the machine, and the real listener against it.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from typing import Any

from huitong.ingest.errors import Hl7ParseError
from huitong.ingest.hl7v2.ack import build_ack
from huitong.ingest.hl7v2.header import peek_header
from huitong.ingest.mllp.framing import frame

_Job = tuple[str, bytes, asyncio.Transport, bytes]


def _send(answers: list[tuple[asyncio.Transport, bytes]]) -> None:
    for transport, ack in answers:
        if not transport.is_closing():
            transport.write(ack)


class _Writer:
    """Group commit of ``(control id, raw)`` rows; the ACKs go back to the loop once per commit."""

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS message (seq INTEGER PRIMARY KEY, control_id TEXT, raw BLOB)")
        self.loop = loop
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="floor-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            first = self.jobs.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while True:
                try:
                    job = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                batch.append(job)
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany("INSERT INTO message (control_id, raw) VALUES (?, ?)", [j[:2] for j in batch])
            self.conn.execute("COMMIT")
            self.loop.call_soon_threadsafe(_send, [(j[2], j[3]) for j in batch])
            if stop:
                return

    def close(self) -> None:
        self.jobs.put(None)
        self.thread.join(10)
        self.conn.close()


async def durable_echo(path: str) -> tuple[asyncio.Server, _Writer]:
    """Start the floor server on a free loopback port, storing into the SQLite file ``path``."""
    from huitong.ingest.bench import payload_protocol

    writer = _Writer(path, asyncio.get_running_loop())

    def store(payload: bytes, transport: asyncio.Transport) -> None:
        try:
            header = peek_header(payload)
            ack, control_id = frame(build_ack(header, "AA")), header.control_id
        except Hl7ParseError as exc:
            ack, control_id = frame(build_ack(payload, error=exc)), ""
        writer.jobs.put((control_id, payload, transport, ack))

    server = await asyncio.get_running_loop().create_server(payload_protocol(store), "127.0.0.1", 0)
    return server, writer


def stored(path: str) -> list[tuple[str, bytes]]:
    """What the floor server stored, in order (for tests)."""
    with sqlite3.connect(path) as conn:
        rows: list[Any] = conn.execute("SELECT control_id, raw FROM message ORDER BY seq").fetchall()
    return [(str(c), bytes(r)) for c, r in rows]
