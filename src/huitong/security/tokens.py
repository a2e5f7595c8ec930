"""OAuth 2.0 bearer tokens with SMART on FHIR v2 scopes.

System-to-system clients use the client-credentials grant (RFC 6749 §4.4) at ``POST /auth/token`` and get
``system/`` scopes narrowed to what their registration allows. Tokens are random strings; the database keeps
only their SHA-256, the scopes, the subject and the expiry. The static ``HUITONG_SECURITY__API_TOKENS`` of
the foundation still work (as ``system`` actors with every scope) for trusted internal producers.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from huitong.db import Database
from huitong.security import audit
from huitong.security.accounts import Account
from huitong.security.actor import Actor, ActorKind
from huitong.security.audit import AuditEntry, Outcome
from huitong.security.passwords import dummy_hash, hash_password, verify_password
from huitong.security.schema import sec_client, sec_token
from huitong.security.scopes import narrow, parse_scopes
from huitong.security.sessions import token_hash
from huitong.settings import SecuritySettings


class TokenError(Exception):
    """An OAuth error; ``code`` is the RFC 6749 error code (``invalid_client``, ``invalid_scope`` …)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str

    def response(self) -> dict[str, object]:
        """The token endpoint's JSON body."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class TokenService:
    """Clients and tokens on one database. ``clock`` is injectable so tests can move time."""

    def __init__(self, db: Database, settings: SecuritySettings, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def register_client(self, by: Actor, client_id: str, secret: str, scopes: str) -> None:
        """Register a system client allowed the given ``system/`` scopes (audited)."""
        parse_scopes(scopes)  # refuse malformed scopes now
        if len(secret) < 24:
            raise TokenError("invalid_request", "a client secret needs at least 24 characters")
        now = self.clock()

        def job(conn: sa.Connection) -> None:
            conn.execute(
                sec_client.insert().values(
                    client_id=client_id, secret_hash=hash_password(secret), scopes=scopes, is_active=True, created=now
                )
            )
            audit.record(conn, by, [AuditEntry("client-register", entity_type="Client", entity_id=client_id)])

        self.db.write(job)

    def client_credentials(
        self, client_id: str, secret: str, requested: str, *, source_address: str | None = None
    ) -> IssuedToken:
        """The client-credentials grant: check the client, narrow the scopes, issue a token (audited)."""
        with self.db.read() as conn:
            row = conn.execute(sa.select(sec_client).where(sec_client.c.client_id == client_id)).first()
        actor = Actor(
            id=f"client:{client_id[:50]}", kind=ActorKind.SYSTEM, role="system", source_address=source_address
        )
        if row is None or not row.is_active:
            verify_password(dummy_hash(), secret)
            self._audit(actor, client_id, Outcome.MINOR_FAILURE)
            raise TokenError("invalid_client", "unknown client or wrong secret")
        if not verify_password(row.secret_hash, secret):
            self._audit(actor, client_id, Outcome.MINOR_FAILURE)
            raise TokenError("invalid_client", "unknown client or wrong secret")
        scope = narrow(requested or row.scopes, row.scopes)
        if not scope or any(s.context != "system" for s in parse_scopes(scope)):
            self._audit(actor, client_id, Outcome.MINOR_FAILURE)
            raise TokenError("invalid_scope", "none of the requested system/ scopes is allowed to this client")
        issued = self._issue(client_id=client_id, user_id=None, scope=scope, patient_id=None)
        self._audit(actor, client_id, Outcome.SUCCESS)
        return issued

    def issue_for_user(self, account: Account, scope: str, *, patient_id: str | None = None) -> IssuedToken:
        """A token for a signed-in user's app (``user/`` or, for a patient, ``patient/`` scopes)."""
        scopes = parse_scopes(scope)
        if not scopes or any(s.context == "system" for s in scopes):
            raise TokenError("invalid_scope", "a user's token carries user/ or patient/ scopes")
        if any(s.context == "patient" for s in scopes):
            patient_id = account.patient_id or patient_id
            if patient_id is None:
                raise TokenError("invalid_scope", "patient/ scopes need a patient in context")
        return self._issue(client_id=None, user_id=account.user_id, scope=scope, patient_id=patient_id)

    def _issue(self, *, client_id: str | None, user_id: str | None, scope: str, patient_id: str | None) -> IssuedToken:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        lifetime = self.settings.token_minutes * 60
        self.db.write(
            lambda conn: conn.execute(
                sec_token.insert().values(
                    token_hash=token_hash(token),
                    client_id=client_id,
                    user_id=user_id,
                    scopes=scope,
                    patient_id=patient_id,
                    issued=now,
                    expires=now + timedelta(seconds=lifetime),
                    revoked=False,
                )
            )
        )
        return IssuedToken(token, lifetime, scope)

    def resolve(self, token: str, account_of: Callable[[str], Account | None]) -> Actor | None:
        """The actor of a bearer token, or ``None`` if it is unknown, revoked or expired."""
        if not token or len(token) > 128:
            return None
        with self.db.read() as conn:
            row = conn.execute(sa.select(sec_token).where(sec_token.c.token_hash == token_hash(token))).first()
        if row is None or row.revoked or _aware(row.expires) <= self.clock():
            return None
        scopes = tuple(row.scopes.split())
        if row.client_id is not None:
            return Actor(
                id=f"client:{row.client_id}", kind=ActorKind.SYSTEM, role="system", name=row.client_id, scopes=scopes
            )
        account = account_of(row.user_id) if row.user_id else None
        if account is None:
            return None
        actor = account.actor()
        return Actor(
            id=actor.id,
            kind=actor.kind,
            role=actor.role,
            name=actor.name,
            department=actor.department,
            patient_id=row.patient_id or actor.patient_id,
            scopes=scopes,
        )

    def revoke(self, token: str) -> None:
        """Revoke a token (RFC 7009 style; unknown tokens are ignored)."""
        digest = token_hash(token)
        self.db.write(
            lambda conn: conn.execute(sec_token.update().where(sec_token.c.token_hash == digest).values(revoked=True))
        )

    def _audit(self, actor: Actor, client_id: str, outcome: Outcome) -> None:
        entry = AuditEntry("token", outcome, entity_type="Client", entity_id=client_id[:64])
        self.db.write(lambda conn: audit.record(conn, actor, [entry]))
