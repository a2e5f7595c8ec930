"""The processing lease, on both backends: one engine processes a message store while others stand by, and a
standby takes over when the holder stops, crashes (its lease expires) or its process is gone."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import socket
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from huitong.ingest import inbox
from huitong.ingest.engine import Engine
from huitong.ingest.lease import ProcessingLease, lease_state
from huitong.ingest.receive import examine
from huitong.ingest.schema import PROCESSED, ingest_lease
from huitong.services import Services
from tests.ingest.server.conftest import oru, rows


def _set(services: Services, **values: object) -> None:
    services.db.write(lambda conn: conn.execute(ingest_lease.update().values(**values)))


def _dead_pid() -> int:
    process = multiprocessing.get_context("spawn").Process(target=int)
    process.start()
    process.join()
    assert process.pid is not None
    return process.pid


def test_one_holder_at_a_time_and_every_way_to_take_over(services: Services) -> None:
    a, b = ProcessingLease(services.db), ProcessingLease(services.db)
    assert a.hold() and not b.hold()
    with services.db.read() as conn:
        assert lease_state(conn, datetime.now(UTC), a.holder) | {"until": None} == {
            "holder": a.holder, "until": None, "active": True, "this_engine": True,
        }  # fmt: skip
    a.release()
    assert b.hold() and not a.hold()  # released: the standby takes it at once

    _set(services, expires_at=datetime.now(UTC) - timedelta(seconds=1))  # b stopped renewing (a crash)
    assert a.hold() and not b.hold() and not b.held

    _set(
        services, holder=f"{socket.gethostname()}:{_dead_pid()}:gone", expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    assert b.hold()  # its process is gone from this machine: no need to wait for the expiry

    _set(services, holder="another-host:1:x", expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert not a.hold() and not b.hold()  # alive elsewhere, for all this machine can tell: wait for the expiry


def test_a_standby_engine_takes_over_when_the_active_one_stops(services: Services) -> None:
    active = Engine(services.settings, services.store, listen=False)
    standby = Engine(services.settings, services.store, listen=False)
    for engine in (active, standby):
        # long enough that a loaded machine never lets it lapse mid-test: the hand-over here is the clean release
        engine.pipeline.lease = ProcessingLease(services.db, seconds=5.0)
        engine.pipeline.poll_interval = 0.05

    async def processed(count: int) -> None:
        for _ in range(200):
            await asyncio.sleep(0.05)
            # the counters too: a commit is visible before the worker's coroutine resumes to count it
            counted = active.pipeline.processed + standby.pipeline.processed
            if counted == count and sum(r.status == PROCESSED for r in rows(services)) == count:
                return
        raise AssertionError(f"{count} messages were not processed")

    async def run() -> tuple[int, int, int]:
        await active.start()
        await asyncio.sleep(0.2)  # the active engine takes the lease first
        await standby.start()
        try:
            services.db.write(
                lambda c: inbox.insert_batch(c, [examine(oru(f"L{i}"), "lis").incoming for i in range(6)])
            )
            await processed(6)
            before = standby.pipeline.processed
            await active.stop()  # a clean stop releases the lease
            services.db.write(
                lambda c: inbox.insert_batch(c, [examine(oru(f"M{i}"), "lis").incoming for i in range(4)])
            )
            await processed(10)
            return active.pipeline.processed, before, standby.pipeline.processed
        finally:
            await standby.stop()
            await active.stop()

    by_active, standby_before, by_standby = asyncio.run(run())
    assert (by_active, standby_before, by_standby) == (6, 0, 4)
    with services.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ingest_lease)).scalar_one() == 0  # all released


def test_hl7_status_says_who_processes_and_exits_3_when_nobody_does(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from huitong.cli import app

    monkeypatch.setenv("HUITONG_DATABASE__URL", services.settings.database.url)
    runner = CliRunner()
    empty = runner.invoke(app, ["hl7", "status"])
    assert empty.exit_code == 0 and "no engine holds the lease" in empty.output  # nothing queued: nothing waits
    services.db.write(lambda c: inbox.insert_batch(c, [examine(oru("S1"), "lis").incoming]))
    waiting = runner.invoke(app, ["hl7", "status"])
    assert waiting.exit_code == 3, waiting.output  # a message waits and nobody will process it
    assert "lis" in waiting.output and "no engine holds the lease" in waiting.output
    lease = ProcessingLease(services.db)
    assert lease.hold()
    held = runner.invoke(app, ["hl7", "status", "--json"])
    assert held.exit_code == 0, held.output
    data = json.loads(held.output)
    assert data["processing"]["holder"] == lease.holder and data["processing"]["active"]
    assert data["channels"][0]["queued"] == 1


def test_renewing_the_lease_does_not_count_as_a_write_someone_waits_on(services: Services) -> None:
    """The lease is renewed every few seconds; on SQLite a foreground write would keep the pipeline's transactions short
    (``store_batch_while_waited_on``) for a second each time, receipts or not. It is background work."""
    if not services.db.is_sqlite:
        assert not services.db.writer.waited_on_within(60.0)  # PostgreSQL: writes never wait on one another
        return
    from huitong.db.writer import SerialWriter

    services.db.writer.close()
    services.db.writer = SerialWriter(services.db.write_engine)  # a writer whose every write is this test's
    lease = ProcessingLease(services.db)
    assert lease.hold() and lease.hold()
    assert not services.db.writer.waited_on_within(60.0)
    lease.release()
    assert services.db.writer.waited_on_within(60.0)  # a plain write (the release) does count
