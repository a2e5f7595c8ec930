"""How an HTTP request becomes an :class:`~huitong.security.actor.Actor`.

In order:

1. ``Authorization: Bearer`` — a static token of a trusted system client (``HUITONG_SECURITY__API_TOKENS``,
   a ``system`` actor with every scope), else an OAuth 2.0 access token from ``/auth/token`` (its scopes
   narrow the actor). An unknown or expired bearer token is refused, never ignored.
2. The session cookie of a web login that has passed every factor it needed. A state-changing request
   authenticated by cookie must carry the session's CSRF token (``X-CSRF-Token`` header or ``csrf`` form
   field, checked by the routes).
3. In development mode only, with ``HUITONG_SECURITY__ALLOW_ANONYMOUS``, no credentials: ``dev:anonymous``.
"""

from __future__ import annotations

import hmac
import uuid
from typing import TYPE_CHECKING

from starlette.requests import Request

from huitong.security.actor import Actor, ActorKind
from huitong.security.sessions import COOKIE
from huitong.settings import Settings

if TYPE_CHECKING:
    from huitong.security.runtime import SecurityServices

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NotAuthenticatedError(Exception):
    """The request carries no credentials Huitong accepts."""


class CsrfError(Exception):
    """A state-changing request authenticated by cookie without the session's CSRF token."""


def request_id(request: Request) -> str:
    """The request's id: the caller's ``X-Request-ID`` if sane, else a new one."""
    given = request.headers.get("x-request-id", "")
    if 0 < len(given) <= 64 and given.replace("-", "").isalnum():
        return given
    return uuid.uuid4().hex


def security_of(request: Request) -> SecurityServices | None:
    """The security services opened by the app's lifespan (``None`` before start-up)."""
    return getattr(request.app.state, "security", None)


def system_token_actor(request: Request, settings: Settings) -> Actor | None:
    """The actor of a request carrying one of the static system tokens (no database look-up), else ``None``."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    token = header[7:].strip().encode()
    for client, secret in settings.security.api_tokens.items():
        if hmac.compare_digest(token, secret.get_secret_value().encode()):
            return Actor(
                id=f"system:{client}",
                kind=ActorKind.SYSTEM,
                role="system",
                name=client,
                source_address=request.client.host if request.client else None,
                request_id=getattr(request.state, "request_id", None),
            )
    return None


def actor_from_request(request: Request, settings: Settings, security: SecurityServices | None = None) -> Actor:
    """The actor of ``request``; raises :class:`NotAuthenticatedError` when there is none."""
    source = request.client.host if request.client else None
    rid = getattr(request.state, "request_id", None)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        system = system_token_actor(request, settings)
        if system is not None:
            return system
        token = header[7:].strip()
        if security is not None:
            actor = security.tokens.resolve(token, security.accounts.get)
            if actor is not None:
                return actor.with_request(request_id=rid, source_address=source)
        raise NotAuthenticatedError("the bearer token is not valid")
    cookie = request.cookies.get(COOKIE)
    if cookie and security is not None:
        actor = session_actor(request, security, cookie)
        if actor is not None:
            if request.method in UNSAFE_METHODS and request.url.path.startswith("/fhir"):
                check_csrf(request, security, request.headers.get("x-csrf-token", ""))
            return actor
    if settings.is_development and settings.security.allow_anonymous:
        return Actor(
            id="dev:anonymous",
            kind=ActorKind.DEVELOPMENT,
            role="developer",
            name="anonymous (development)",
            source_address=source,
            request_id=rid,
        )
    raise NotAuthenticatedError("credentials required: sign in, or send Authorization: Bearer <token>")


def session_actor(request: Request, security: SecurityServices, cookie: str) -> Actor | None:
    """The actor of a fully authenticated session cookie, or ``None``."""
    session = security.sessions.resolve(cookie)
    if session is None or not session.mfa_passed:
        return None
    account = security.accounts.get(session.user_id)
    if account is None:
        return None
    source = request.client.host if request.client else None
    return account.actor(source_address=source, request_id=getattr(request.state, "request_id", None))


def check_csrf(request: Request, security: SecurityServices, given: str) -> None:
    """Raise :class:`CsrfError` unless ``given`` is the CSRF token of the request's session."""
    session = security.sessions.resolve(request.cookies.get(COOKIE, ""))
    if session is None or not given or not hmac.compare_digest(given.encode(), session.csrf_token.encode()):
        raise CsrfError("missing or wrong CSRF token")


def csrf_token_of(request: Request) -> str:
    """The CSRF token a page must put in its forms (``<input type="hidden" name="csrf">``) or send as
    ``X-CSRF-Token``; empty when the request has no live session."""
    security = security_of(request)
    if security is None:
        return ""
    session = security.sessions.resolve(request.cookies.get(COOKIE, ""))
    return session.csrf_token if session is not None else ""
