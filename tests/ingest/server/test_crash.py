"""The durability promise, tested the hard way: SIGKILL the engine while 8 senders are sending.

After a restart every message that was ACKed is stored exactly once and processed; senders resend what
was not ACKed (as MLLP senders do) and those repeats are recognised, not stored twice.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from huitong.db import open_database
from huitong.fhir.bench.server import free_port
from huitong.ingest.errors import MllpError
from huitong.ingest.hl7v2.ack import read_ack
from huitong.ingest.mllp.client import MllpClient
from huitong.ingest.schema import PROCESSED, RECEIVED, ingest_message
from huitong.settings import Settings
from tests.ingest.server.conftest import adt, oru

CLIENTS = 8
PER_CLIENT = 40
KILL_AFTER_ACKS = 100


def _start(db_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HUITONG_ENV": "development",
        "HUITONG_DATABASE__URL": db_url,
        "HUITONG_MLLP__HOST": "127.0.0.1",
        "HUITONG_MLLP__PORT": str(port),
        "HUITONG_INGEST__POLL_INTERVAL_S": "0.2",
        "HUITONG_INGEST__LINK_PATIENTS": "false",  # durability is the point here; EMPI linking has its own test
    }
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "huitong.ingest.cli", "listen"], env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the listener exited: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the listener did not start within 60 s")


def _messages(k: int) -> list[bytes]:
    return [
        adt(f"CR{k}-{i}", mrn=f"7{k:02d}{i % 5}") if i % 2 else oru(f"CR{k}-{i}", mrn=f"7{k:02d}{i % 5}")
        for i in range(PER_CLIENT)
    ]


async def _send_all(port: int, acked: set[str], stop_after: int | None) -> None:
    """Each client sends its messages in order, skipping those already ACKed, until the server dies."""

    async def client(k: int) -> None:
        try:
            async with MllpClient("127.0.0.1", port, ack_timeout=20) as c:
                for i, message in enumerate(_messages(k)):
                    cid = f"CR{k}-{i}"
                    if cid in acked:
                        continue
                    ack = read_ack(await c.send(message))
                    assert ack.code == "AA" and ack.control_id == cid
                    acked.add(cid)
                    if stop_after is not None and len(acked) >= stop_after:
                        await asyncio.sleep(0.5)  # keep sending while the test kills the server
        except MllpError:
            return

    await asyncio.gather(*(client(k) for k in range(CLIENTS)))


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL's durability is its own; keeps it fast
def test_every_acked_message_survives_sigkill_exactly_once(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "listener.log"
    acked: set[str] = set()
    proc = _start(db_url, port, log)
    try:

        async def first_round() -> None:
            sending = asyncio.create_task(_send_all(port, acked, stop_after=KILL_AFTER_ACKS))
            while len(acked) < KILL_AFTER_ACKS and not sending.done():
                await asyncio.sleep(0.01)
            proc.kill()  # SIGKILL, mid-stream: some messages are in flight, some ACKed but not processed
            await sending

        asyncio.run(first_round())
        proc.wait(10)
        acked_before_kill = set(acked)
        assert len(acked_before_kill) >= KILL_AFTER_ACKS

        db = open_database(Settings(database={"url": db_url}).database)
        try:
            with db.read() as conn:
                stored = Counter(conn.execute(sa.select(ingest_message.c.control_id)).scalars())
            assert acked_before_kill <= set(stored)  # ACKed means durably stored
            assert max(stored.values()) == 1

            proc = _start(db_url, port, log)
            asyncio.run(_send_all(port, acked, stop_after=None))  # senders resend whatever was not ACKed
            assert len(acked) == CLIENTS * PER_CLIENT

            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with db.read() as conn:
                    left = conn.execute(
                        sa.select(sa.func.count()).where(ingest_message.c.status == RECEIVED)
                    ).scalar_one()
                if left == 0:
                    break
                time.sleep(0.2)
            with db.read() as conn:
                final = conn.execute(sa.select(ingest_message.c.control_id, ingest_message.c.status)).all()
        finally:
            db.close()
        counts = Counter(cid for cid, _ in final)
        assert set(counts) == acked and max(counts.values()) == 1  # every message exactly once
        assert {status for _, status in final} == {PROCESSED}, log.read_text(errors="replace")[-3000:]
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
