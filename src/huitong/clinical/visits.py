"""One row per outpatient visit, kept in step with Encounters by a write hook, for the operations board.

The board shows, for one day, the visits by hour, the appointment rate and the median waiting time. Reading the
day's Encounters for that (about 2,300 on a busy day of a tertiary hospital) cost ~350 ms; this table answers it
with one grouped query on ``(day, wait_minutes)`` and one seek for the median. A row holds only what the figures
need — no patient — so the board keeps showing aggregates only.

A visit is an Encounter of class ``AMB``; its day and hour are those of ``period.start`` in China time (the day the
board's search by ``date`` start selected before). Deleted Encounters lose their row; archiving removes it with
the Encounter's index rows (``resource_pk`` without a foreign key, see ``ops/archive.py``) and a restore writes it
again through this hook. Migration ``clinical_0002`` fills the table for Encounters stored before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from huitong.clinical.schema import outpatient_visit
from huitong.db import bulk
from huitong.fhir.hooks import ResourceChange
from huitong.fhir.stored import moment_of
from huitong.times import CHINA


def _instant(text: object) -> datetime | None:
    return moment_of(text, need_time=True)  # a time without a zone is no instant


def visit_row(encounter: dict[str, Any]) -> dict[str, Any] | None:
    """The ``outpatient_visit`` row of an Encounter (without ``resource_pk``), ``None`` when it is no outpatient
    visit with a start."""
    if (encounter.get("class") or {}).get("code") != "AMB":
        return None
    start = (encounter.get("period") or {}).get("start")
    if not isinstance(start, str) or len(start) < 10:
        return None
    moment = _instant(start)
    if moment is not None:
        local = moment.astimezone(CHINA)
        day, hour = local.date().isoformat(), local.hour
    elif "T" in start:
        return None  # a time without a zone: no instant, the date index does not place it either
    else:
        day, hour = start[:10], None
    history = {
        h.get("status"): _instant((h.get("period") or {}).get("start"))
        for h in encounter.get("statusHistory") or []
        if isinstance(h, dict)
    }
    arrived, seen = history.get("arrived"), history.get("in-progress")
    wait = (seen - arrived).total_seconds() / 60 if arrived and seen and seen >= arrived else None
    return {"day": day, "hour": hour, "booked": bool(encounter.get("appointment")), "wait_minutes": wait}


class OutpatientVisitHook:
    """Writes, rewrites or removes the visit row of each Encounter written."""

    def resource_written(self, conn: sa.Connection, change: ResourceChange) -> None:
        self.resources_written(conn, [change])

    def resources_written(self, conn: sa.Connection, changes: Sequence[ResourceChange]) -> None:
        """The rows of many written resources: one delete and one insert for all of them."""
        encounters = [c for c in changes if c.res_type == "Encounter"]
        stale = [c.pk for c in encounters if not c.created]
        for start in range(0, len(stale), 500):
            conn.execute(_DELETE, {"b_pks": stale[start : start + 500]})
        rows = [
            {"resource_pk": c.pk, **row}
            for c in encounters
            if c.resource is not None and (row := visit_row(c.resource)) is not None
        ]
        bulk.insert_rows(conn, outpatient_visit, rows)


_DELETE = outpatient_visit.delete().where(outpatient_visit.c.resource_pk.in_(sa.bindparam("b_pks", expanding=True)))


def day_figures(conn: sa.Connection, day: str) -> dict[str, Any]:
    """Visits by hour, visits, booked visits and the median waiting time of ``day`` (YYYY-MM-DD, China time).

    One grouped query on the ``(day, wait_minutes)`` index, and one seek for the median (the middle wait of
    those recorded, as ``sorted(waits)[len // 2]``)."""
    v = outpatient_visit.c
    rows = conn.execute(
        sa.select(
            v.hour,
            sa.func.count(),
            sa.func.sum(sa.case((v.booked, 1), else_=0)),
            sa.func.count(v.wait_minutes),
        )
        .where(v.day == day)
        .group_by(v.hour)
    ).all()
    hours = [0] * 24
    visits = booked = waits = 0
    for hour, n, b, w in rows:
        if hour is not None:
            hours[int(hour)] = int(n)
        visits, booked, waits = visits + int(n), booked + int(b or 0), waits + int(w)
    median = None
    if waits:
        median = conn.execute(
            sa.select(v.wait_minutes)
            .where(v.day == day, v.wait_minutes.is_not(None))
            .order_by(v.wait_minutes)
            .limit(1)
            .offset(waits // 2)
        ).scalar()
    return {"hours": hours, "visits": visits, "booked": booked, "wait_count": waits, "wait_median": median}
