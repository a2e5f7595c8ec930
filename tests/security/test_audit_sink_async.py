"""Audit rows submitted from an event loop (the HTTP read fast path) are committed, chained, before their waits end."""

from __future__ import annotations

import asyncio
import threading

import sqlalchemy as sa

from huitong.security import audit
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry
from huitong.security.audit_chain import verify_chain
from huitong.security.schema import audit_log
from huitong.services import Services


def test_loop_waiters_end_after_their_rows_are_committed(services: Services) -> None:
    sink = services.store.audit_sink
    actor = Actor.system("tests")

    async def many() -> list[int]:
        waits = [
            sink.submit_async([audit.audit_row(actor, AuditEntry("read", entity_type="Patient", entity_id=f"p-{i}"))])
            for i in range(40)
        ]
        waits.append(sink.submit_async([]))  # nothing to write: done at once
        await asyncio.gather(*waits)
        with services.db.read() as conn:
            query = sa.select(sa.func.count()).select_from(audit_log).where(audit_log.c.entity_id.like("p-%"))
            return [conn.execute(query).scalar_one()]

    assert asyncio.run(many()) == [40]
    with services.db.read() as conn:
        assert verify_chain(conn).ok


def test_concurrent_threads_all_committed_in_one_chain(services: Services) -> None:
    """Rows that arrive while a batch commits are written by the next one: none is lost, the chain holds."""
    sink = services.store.audit_sink
    actor = Actor.system("tests")

    def submit_many(thread: int) -> None:
        for i in range(50):
            entry = AuditEntry("read", entity_type="Patient", entity_id=f"t{thread}-{i}")
            sink.append([audit.audit_row(actor, entry)])

    threads = [threading.Thread(target=submit_many, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with services.db.read() as conn:
        query = sa.select(sa.func.count()).select_from(audit_log).where(audit_log.c.entity_id.like("t%-%"))
        assert conn.execute(query).scalar_one() == 400
        assert verify_chain(conn).ok


def test_close_writes_what_is_queued(services: Services) -> None:
    """Closing the sink waits until every row submitted before is committed."""
    sink = services.store.audit_sink
    actor = Actor.system("tests")
    futures = [
        sink.submit([audit.audit_row(actor, AuditEntry("read", entity_type="Patient", entity_id=f"c-{i}"))])
        for i in range(100)
    ]
    sink.close()
    assert all(f.done() and f.exception() is None for f in futures)
    with services.db.read() as conn:
        query = sa.select(sa.func.count()).select_from(audit_log).where(audit_log.c.entity_id.like("c-%"))
        assert conn.execute(query).scalar_one() == 100
