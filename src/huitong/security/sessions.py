"""Server-side web sessions with idle and absolute time-outs (MLPS 8.1.4.1: session time-out).

The browser holds only a random token in a ``Secure; HttpOnly; SameSite=Lax`` cookie; the database holds
its SHA-256, the user, when it started and was last used, whether the second factor was passed, and the
session's CSRF token. A session ends on logout, after ``session_idle_minutes`` without use, or
``session_absolute_hours`` after login, whichever comes first.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from huitong.db import Database
from huitong.security.schema import sec_session
from huitong.settings import SecuritySettings

COOKIE = "huitong_session"
#: last_seen is written at most this often, so a busy page does not write on every request.
TOUCH_EVERY = timedelta(seconds=30)


def token_hash(token: str) -> str:
    """What the database stores instead of a session or bearer token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True, slots=True)
class Session:
    """A live session."""

    user_id: str
    mfa_passed: bool
    csrf_token: str
    created: datetime


class SessionStore:
    """Sessions in the database. ``clock`` is injectable so tests can move time."""

    def __init__(self, db: Database, settings: SecuritySettings, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def start(self, user_id: str, *, mfa_passed: bool, source_address: str | None = None) -> str:
        """Start a session; returns the cookie value (shown once, never stored)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.db.write(
            lambda conn: conn.execute(
                sec_session.insert().values(
                    token_hash=token_hash(token),
                    user_id=user_id,
                    created=now,
                    last_seen=now,
                    mfa_passed=mfa_passed,
                    csrf_token=secrets.token_urlsafe(24),
                    source_address=source_address,
                )
            )
        )
        return token

    def resolve(self, token: str) -> Session | None:
        """The live session of ``token``, refreshing its idle timer; ``None`` if unknown, ended or timed out."""
        if not token or len(token) > 128:
            return None
        digest = token_hash(token)
        with self.db.read() as conn:
            row = conn.execute(sa.select(sec_session).where(sec_session.c.token_hash == digest)).first()
        if row is None or row.ended is not None:
            return None
        now = self.clock()
        created, last_seen = _aware(row.created), _aware(row.last_seen)
        idle = timedelta(minutes=self.settings.session_idle_minutes)
        absolute = timedelta(hours=self.settings.session_absolute_hours)
        if now - last_seen > idle or now - created > absolute:
            self._end(digest, now)
            return None
        if now - last_seen > TOUCH_EVERY:
            self.db.write(
                lambda conn: conn.execute(
                    sec_session.update().where(sec_session.c.token_hash == digest).values(last_seen=now)
                )
            )
        return Session(row.user_id, row.mfa_passed, row.csrf_token, created)

    def pass_mfa(self, token: str) -> str:
        """Mark the session's second factor as passed and give it a new token (no session fixation)."""
        new = secrets.token_urlsafe(32)
        old = token_hash(token)
        now = self.clock()
        self.db.write(
            lambda conn: conn.execute(
                sec_session.update()
                .where(sec_session.c.token_hash == old)
                .values(token_hash=token_hash(new), mfa_passed=True, last_seen=now)
            )
        )
        return new

    def end(self, token: str) -> None:
        """Log out."""
        self._end(token_hash(token), self.clock())

    def end_all(self, user_id: str) -> None:
        """End every session of a user (after a password change or deactivation)."""
        now = self.clock()
        self.db.write(
            lambda conn: conn.execute(
                sec_session.update()
                .where(sec_session.c.user_id == user_id, sec_session.c.ended.is_(None))
                .values(ended=now)
            )
        )

    def _end(self, digest: str, now: datetime) -> None:
        self.db.write(
            lambda conn: conn.execute(sec_session.update().where(sec_session.c.token_hash == digest).values(ended=now))
        )

    def cookie_options(self) -> dict[str, Any]:
        """Arguments of ``Response.set_cookie`` for the session cookie."""
        return {
            "key": COOKIE,
            "httponly": True,
            "secure": self.settings.cookie_secure,
            "samesite": "lax",
            "path": "/",
            "max_age": self.settings.session_absolute_hours * 3600,
        }
