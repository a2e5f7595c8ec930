"""The message store's totals per channel and status, kept as they change (migration ``ingest_0004``).

Triggers on ``ingest_message`` write a row of ``ingest_tally`` — ``(channel, status, n)``, a change of ``n``
messages — whenever a message is stored, changes status or channel, or is deleted; no path that writes messages can
forget them. SQLite's triggers fire per row, PostgreSQL's once per statement (reading its transition tables). Rows
are only ever inserted, never a shared counter updated, so concurrent writers never wait on one another here.
:func:`counts` sums them; :func:`fold_tally` replaces the rows written so far by one per channel and status —
:func:`fold_if_long` does so when they have grown past :data:`TALLY_FOLD_AT` (before :func:`counts` sums, after a
retention purge, and once a minute in a running engine).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from huitong.db import Database
from huitong.ingest.schema import RECEIVED, STATUSES, ingest_message, ingest_tally

#: Unfolded ``ingest_tally`` rows above which :func:`fold_if_long` folds them.
TALLY_FOLD_AT = 10_000


def counts(db: Database, *, since: datetime | None = None) -> dict[str, dict[str, int]]:
    """Messages per channel and status (received in ``since`` or later, when given).

    The totals are the sums of ``ingest_tally`` (folded first when it has grown long); with ``since`` the
    messages of the window are counted instead."""
    t, tally = ingest_message, ingest_tally
    if since is None:
        fold_if_long(db)
        query = sa.select(tally.c.channel, tally.c.status, sa.func.sum(tally.c.n)).group_by(
            tally.c.channel, tally.c.status
        )
    else:
        query = (
            sa.select(t.c.channel, t.c.status, sa.func.count())
            .where(t.c.received_at >= since)
            .group_by(t.c.channel, t.c.status)
        )
    out: dict[str, dict[str, int]] = {}
    with db.read() as conn:
        for channel, status, n in conn.execute(query):
            if n:
                out.setdefault(channel, dict.fromkeys(STATUSES, 0))[status] = int(n)
    return out


def queued(db: Database) -> int:
    """Messages stored and not processed yet (``received``), on every channel: one read of the small tally."""
    tally = ingest_tally
    with db.read() as conn:
        total = conn.execute(sa.select(sa.func.sum(tally.c.n)).where(tally.c.status == RECEIVED)).scalar_one()
    return int(total or 0)


def tally_length(conn: sa.Connection) -> int:
    """About how many rows ``ingest_tally`` holds (from its first and last key: two index look-ups)."""
    tally = ingest_tally
    low, high = conn.execute(sa.select(sa.func.min(tally.c.id), sa.func.max(tally.c.id))).one()
    return 0 if low is None else int(high) - int(low) + 1


def fold_if_long(db: Database) -> int:
    """Fold the tally when it holds more than :data:`TALLY_FOLD_AT` rows (a read, then a write only if so);
    returns how many rows were folded."""
    with db.read() as conn:
        length = tally_length(conn)
    return int(db.write(fold_tally, background=True)) if length > TALLY_FOLD_AT else 0


def fold_tally(conn: sa.Connection) -> int:
    """Replace the ``ingest_tally`` rows written so far by one per channel and status (their sums); returns how
    many rows were folded. Safe beside concurrent writers: only rows this statement saw are removed."""
    tally = ingest_tally
    if conn.dialect.name == "postgresql":
        folded = conn.execute(
            sa.text(
                "WITH gone AS (DELETE FROM ingest_tally RETURNING channel, status, n), "
                "summed AS (INSERT INTO ingest_tally (channel, status, n) "
                "SELECT channel, status, sum(n) FROM gone GROUP BY channel, status HAVING sum(n) <> 0) "
                "SELECT count(*) FROM gone"
            )
        ).scalar_one()
        return int(folded)
    last = conn.execute(sa.select(sa.func.max(tally.c.id))).scalar_one()  # SQLite: the one writer is this one
    if last is None:
        return 0
    sums = (
        sa.select(tally.c.channel, tally.c.status, sa.func.sum(tally.c.n))
        .where(tally.c.id <= last)
        .group_by(tally.c.channel, tally.c.status)
        .having(sa.func.sum(tally.c.n) != 0)
    )
    conn.execute(tally.insert().from_select(["channel", "status", "n"], sums))
    return int(conn.execute(tally.delete().where(tally.c.id <= last)).rowcount)
