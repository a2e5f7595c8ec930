"""The floor of durable ingest for ``huitong bench ingest``: the least a listener can do and still ACK after commit.

The protocol echo (``bench.py``) reads the MSH and ACKs at once; this server does the same and, before the ACK,
appends the raw message with its control id to a one-table SQLite database (WAL, ``synchronous=FULL``) through a
writer thread with group commit — and nothing else: no full parse (so no AE/AR for a malformed body), no
duplicate check, no message-store columns or indexes, no tally, no patient ids. The run reports it beside the
real listener so the durable goal (≥ 0.3× the echo) can be judged against what any durable listener reaches on
the machine, and the real listener against it.

With ``parse=True`` it also parses the whole message before it answers, as the issue asks of a listener: a
malformed body must get AE/AR with the reason in the ACK. That variant (``floor_parsed_*`` in the JSON) is the floor of
the required work; the one without is the floor of any durable MLLP listener.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from huitong.bench.group_commit import GroupCommitWriter
from huitong.ingest.errors import Hl7ParseError
from huitong.ingest.hl7v2.ack import build_ack
from huitong.ingest.hl7v2.header import header_of, peek_header
from huitong.ingest.hl7v2.parse import parse_message
from huitong.ingest.mllp.framing import frame

_Job = tuple[str, bytes, asyncio.Transport, bytes]


def _send(answers: list[tuple[asyncio.Transport, bytes]]) -> None:
    for transport, ack in answers:
        if not transport.is_closing():
            transport.write(ack)


async def durable_echo(path: str, *, parse: bool = False) -> tuple[asyncio.Server, GroupCommitWriter[_Job]]:
    """Start the floor server on a free loopback port, storing into the SQLite file ``path``; ``parse``: read the
    whole message first, and answer a malformed one with AE/AR and its reason."""
    from huitong.ingest.bench import payload_protocol

    loop = asyncio.get_running_loop()
    writer: GroupCommitWriter[_Job] = GroupCommitWriter(
        path,
        "CREATE TABLE IF NOT EXISTS message (seq INTEGER PRIMARY KEY, control_id TEXT, raw BLOB)",
        "INSERT INTO message (control_id, raw) VALUES (?, ?)",
        lambda batch: [job[:2] for job in batch],
        lambda batch: loop.call_soon_threadsafe(_send, [(job[2], job[3]) for job in batch]),
    )

    def store(payload: bytes, transport: asyncio.Transport) -> None:
        try:
            header = header_of(parse_message(payload).msh) if parse else peek_header(payload)
            ack, control_id = frame(build_ack(header, "AA")), header.control_id
        except Hl7ParseError as exc:
            ack, control_id = frame(build_ack(payload, error=exc)), ""
        writer.put((control_id, payload, transport, ack))

    server = await asyncio.get_running_loop().create_server(payload_protocol(store), "127.0.0.1", 0)
    return server, writer


def stored(path: str) -> list[tuple[str, bytes]]:
    """What the floor server stored, in order (for tests)."""
    with sqlite3.connect(path) as conn:
        rows: list[Any] = conn.execute("SELECT control_id, raw FROM message ORDER BY seq").fetchall()
    return [(str(c), bytes(r)) for c, r in rows]
