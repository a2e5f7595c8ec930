"""The pipeline's processing lease: one engine processes a message store at a time, others stand by.

Receiving is safe from any number of engines on one database (a repeated control id is recognised by the unique
key), but processing is not: each engine keeps the messages it has in flight in memory. So an engine's pipeline
processes only while it holds the lease — a row of ``ingest_lease`` naming it, with an expiry it renews every
third of :data:`LEASE_S`. An engine that finds the lease held by another waits and tries again; it takes over when
the holder lets go (a clean stop releases at once), when the lease has expired (the holder stopped renewing: a
crash, a hung machine, a lost database connection), or — on the same machine — as soon as the holder's process is
gone. That gives a hospital an active/standby pair without a cluster manager: two engines on one PostgreSQL
database, and the second takes over within :data:`LEASE_S` seconds of the first one's crash.

Expiry is compared with each engine's own clock (UTC), so the machines' clocks must agree to within a few seconds
(NTP, which MLPS 2.0 level 3 asks for anyway). An engine that stalls for longer than the lease (a frozen virtual
machine) may find, when it wakes, that a standby took over; it then stops taking new messages, and the few it had in
flight may be processed twice — which the pipeline's idempotent writes allow (deterministic resource ids, no new
version of an unchanged resource).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from huitong.db import Database
from huitong.db.bulk import insert_ignoring_conflicts
from huitong.fhir.stored import utc
from huitong.ingest.schema import ingest_lease

#: Seconds a lease lasts without renewal (renewed every third of it): how long a standby waits after a crash.
LEASE_S = 15.0


def _alive_here(holder: str) -> bool:
    """Whether ``holder`` (``host:pid:token``) may still be running: always, unless it names a process of this
    machine that no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


class ProcessingLease:
    """The lease ``name`` on ``db``, for this engine (``holder``: host, process id and a token of its own)."""

    def __init__(self, db: Database, name: str = "pipeline", *, seconds: float | None = None) -> None:
        self.db = db
        self.name = name
        self.seconds = LEASE_S if seconds is None else seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.held = False

    def hold(self) -> bool:
        """Take the lease or renew it (one short write); returns (and remembers) whether this engine holds it."""
        # background: nobody waits on it (renewed every third of the lease, a delay behind a few pipeline batches
        # is harmless), and on SQLite a foreground write would cut the pipeline's batches short for a second
        self.held = bool(self.db.write(self._hold, background=True))
        return self.held

    def _hold(self, conn: sa.Connection) -> bool:
        t = ingest_lease
        now = datetime.now(UTC)
        until = now + timedelta(seconds=self.seconds)
        row = conn.execute(sa.select(t.c.holder, t.c.expires_at).where(t.c.name == self.name)).first()
        if row is None:
            first = {"name": self.name, "holder": self.holder, "expires_at": until}  # two starting together: one wins
            taken = insert_ignoring_conflicts(conn, t).values(first).returning(t.c.name)
            return conn.execute(taken).first() is not None
        if row.holder != self.holder and utc(row.expires_at) > now and _alive_here(row.holder):
            return False
        taken = (  # only if nobody changed it since it was read (another engine taking it meanwhile)
            t.update()
            .where(t.c.name == self.name, t.c.holder == row.holder)
            .values(holder=self.holder, expires_at=until)
            .returning(t.c.name)  # not ``rowcount``: PostgreSQL's driver may not know it here (see the first insert)
        )
        return conn.execute(taken).first() is not None

    def release(self) -> None:
        """Let go (a clean stop): a standby takes over at its next try, without waiting for the expiry."""
        t = ingest_lease
        self.db.write(lambda conn: conn.execute(t.delete().where(t.c.name == self.name, t.c.holder == self.holder)))
        self.held = False


def lease_state(
    conn: sa.Connection, now: datetime, holder: str | None = None, name: str = "pipeline"
) -> dict[str, Any]:
    """Who processes the message store, for the dashboard: ``holder`` and ``until`` (or ``None``), ``active``
    (the lease has not expired) and ``this_engine`` (``holder`` is the one given)."""
    t = ingest_lease
    row = conn.execute(sa.select(t.c.holder, t.c.expires_at).where(t.c.name == name)).first()
    if row is None:
        return {"holder": None, "until": None, "active": False, "this_engine": False}
    until = utc(row.expires_at)
    return {
        "holder": str(row.holder),
        "until": until.isoformat(),
        "active": until > now,
        "this_engine": holder is not None and row.holder == holder,
    }
