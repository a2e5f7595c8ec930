"""How an HTTP request becomes an :class:`~huitong.security.actor.Actor`.

Until the security domain adds login, sessions and OAuth, two ways are accepted: a static bearer token of
a system client (``HUITONG_SECURITY__API_TOKENS``), and — in development mode only, when
``HUITONG_SECURITY__ALLOW_ANONYMOUS`` is on — no credentials at all, as ``dev:anonymous``.
"""

from __future__ import annotations

import hmac
import uuid

from starlette.requests import Request

from huitong.security.actor import Actor, ActorKind
from huitong.settings import Settings


class NotAuthenticatedError(Exception):
    """The request carries no credentials Huitong accepts."""


def request_id(request: Request) -> str:
    """The request's id: the caller's ``X-Request-ID`` if sane, else a new one."""
    given = request.headers.get("x-request-id", "")
    if 0 < len(given) <= 64 and given.replace("-", "").isalnum():
        return given
    return uuid.uuid4().hex


def actor_from_request(request: Request, settings: Settings) -> Actor:
    """The actor of ``request``; raises :class:`NotAuthenticatedError` when there is none."""
    source = request.client.host if request.client else None
    rid = getattr(request.state, "request_id", None)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        for client, secret in settings.security.api_tokens.items():
            if hmac.compare_digest(token.encode(), secret.get_secret_value().encode()):
                return Actor(
                    id=f"system:{client}",
                    kind=ActorKind.SYSTEM,
                    role="system",
                    name=client,
                    source_address=source,
                    request_id=rid,
                )
        raise NotAuthenticatedError("the bearer token is not valid")
    if settings.is_development and settings.security.allow_anonymous:
        return Actor(
            id="dev:anonymous",
            kind=ActorKind.DEVELOPMENT,
            role="developer",
            name="anonymous (development)",
            source_address=source,
            request_id=rid,
        )
    raise NotAuthenticatedError("credentials required: send Authorization: Bearer <token>")
