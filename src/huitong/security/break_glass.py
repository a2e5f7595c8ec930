"""Break-the-glass: emergency access to one patient outside a clinician's reach.

A clinician states a reason; the grant lasts ``break_glass_minutes``, is recorded as an audit event
(``break-glass``, with the reason) and stays flagged until a reviewer (quality officer) records a review.
Every read under the grant is audited like any other, so the review can see exactly what was opened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from huitong.db import Database
from huitong.security import audit
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry
from huitong.security.roles import grant_of
from huitong.security.schema import sec_break_glass
from huitong.settings import SecuritySettings

MIN_REASON = 8


class BreakGlassError(Exception):
    """Break-the-glass refused; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class Grant:
    grant_id: int
    user_id: str
    patient_id: str
    reason: str
    started: datetime
    expires: datetime
    reviewed_by: str | None


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class BreakGlass:
    """Grants on one database. ``clock`` is injectable so tests can move time."""

    def __init__(self, db: Database, settings: SecuritySettings, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def open(self, actor: Actor, patient_id: str, reason: str) -> Grant:
        """Grant ``actor`` access to ``patient_id`` for the configured time (audited, flagged for review)."""
        if grant_of(actor.role).reach != "department" or actor.user_id is None:
            raise BreakGlassError(f"role {actor.role!r} cannot break the glass")
        reason = reason.strip()
        if len(reason) < MIN_REASON:
            raise BreakGlassError(f"state the reason (at least {MIN_REASON} characters)")
        now = self.clock()
        expires = now + timedelta(minutes=self.settings.break_glass_minutes)
        user_id = actor.user_id

        def job(conn: sa.Connection) -> int:
            grant_id = conn.execute(
                sec_break_glass.insert()
                .values(user_id=user_id, patient_id=patient_id, reason=reason, started=now, expires=expires)
                .returning(sec_break_glass.c.grant_id)
            ).scalar_one()
            entry = AuditEntry("break-glass", entity_type="Patient", entity_id=patient_id, query=reason[:500])
            audit.record(conn, actor, [entry])
            return int(grant_id)

        grant_id = self.db.write(job)
        return Grant(grant_id, user_id, patient_id, reason, now, expires, None)

    def grants(self, *, unreviewed_only: bool = False, limit: int = 200) -> list[Grant]:
        """Grants newest first (for the review page)."""
        g = sec_break_glass
        query = sa.select(g).order_by(g.c.grant_id.desc()).limit(limit)
        if unreviewed_only:
            query = query.where(g.c.reviewed_at.is_(None))
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            Grant(
                r.grant_id,
                r.user_id,
                r.patient_id,
                r.reason,
                _aware(r.started),
                _aware(r.expires),
                r.reviewed_by,
            )
            for r in rows
        ]

    def review(self, by: Actor, grant_id: int, note: str) -> None:
        """Record the review of a grant (by a role that reviews break-the-glass; audited)."""
        if not grant_of(by.role).reviews_break_glass or by.user_id is None:
            raise BreakGlassError(f"role {by.role!r} does not review break-the-glass access")
        now = self.clock()
        reviewer = by.user_id

        def job(conn: sa.Connection) -> None:
            conn.execute(
                sec_break_glass.update()
                .where(sec_break_glass.c.grant_id == grant_id)
                .values(reviewed_by=reviewer, reviewed_at=now, review_note=note[:2000])
            )
            audit.record(conn, by, [AuditEntry("break-glass-review", entity_type="Grant", entity_id=str(grant_id))])

        self.db.write(job)
