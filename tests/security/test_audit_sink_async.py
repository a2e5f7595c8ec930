"""Audit rows submitted from an event loop (the HTTP read fast path) are committed, chained, before their waits end."""

from __future__ import annotations

import asyncio

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
