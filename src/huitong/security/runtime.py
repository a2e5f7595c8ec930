"""The security services of one running Huitong, built once from the settings (see huitong.services)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from huitong.db import Database
from huitong.security.access import AccessPolicy
from huitong.security.accounts import Accounts
from huitong.security.break_glass import BreakGlass
from huitong.security.crypto import FieldCipher
from huitong.security.oidc import OidcClient
from huitong.security.ratelimit import RateLimiter
from huitong.security.sessions import SessionStore
from huitong.security.tokens import TokenService
from huitong.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SecurityServices:
    """Accounts, sessions, tokens, break-the-glass, the field cipher and the access policy."""

    settings: Settings
    db: Database
    policy: AccessPolicy
    cipher: FieldCipher
    accounts: Accounts
    sessions: SessionStore
    tokens: TokenService
    break_glass: BreakGlass
    login_limiter: RateLimiter
    api_limiter: RateLimiter
    oidc: OidcClient
    clock: Callable[[], datetime] = field(default=utc_now)

    def close(self) -> None:
        """Stop the rate limiters' sync threads (before the database closes)."""
        self.api_limiter.close()
        self.login_limiter.close()


def open_security(
    settings: Settings, db: Database, policy: AccessPolicy, clock: Callable[[], datetime] = utc_now
) -> SecurityServices:
    """Build the security services on an open database."""
    sec = settings.security
    cipher = FieldCipher.from_settings(sec)
    return SecurityServices(
        settings=settings,
        db=db,
        policy=policy,
        cipher=cipher,
        accounts=Accounts(db, sec, cipher, clock),
        sessions=SessionStore(db, sec, clock),
        tokens=TokenService(db, sec, clock),
        break_glass=BreakGlass(db, sec, clock),
        login_limiter=RateLimiter(
            sec.login_rate_per_minute, clock, db=db, scope="login", sync_seconds=sec.rate_sync_seconds
        ),
        api_limiter=RateLimiter(sec.api_rate_per_minute, clock, db=db, scope="api", sync_seconds=sec.rate_sync_seconds),
        oidc=OidcClient(settings),
        clock=clock,
    )
