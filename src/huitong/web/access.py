"""Who may open which page, checked by each page itself (the navigation only hides links).

Pages use the same identities as the API (``security/deps.py``): a signed-in session, a bearer token, or the
anonymous development actor of ``make demo``. A state-changing page request authenticated by a session cookie
must carry the session's CSRF token (hidden ``csrf`` form field, or the ``X-CSRF-Token`` header HTMX sends).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from huitong.deps import ServicesDep
from huitong.security.actor import Actor
from huitong.security.deps import UNSAFE_METHODS, CsrfError, NotAuthenticatedError, actor_from_request, security_of
from huitong.security.sessions import COOKIE


class LoginRequiredError(Exception):
    """A page was opened without a signed-in user."""


class PageForbiddenError(Exception):
    """The signed-in user's role may not open this page."""


def csrf_token(request: Request) -> str:
    """The CSRF token of the request's session, or ``""`` when it has none."""
    security = security_of(request)
    cookie = request.cookies.get(COOKIE)
    if security is None or not cookie:
        return ""
    session = security.sessions.resolve(cookie)
    return session.csrf_token if session is not None else ""


async def page_actor(request: Request, services: ServicesDep) -> Actor:
    """The signed-in actor, or :class:`LoginRequiredError` (the app turns it into a redirect to sign in)."""
    try:
        actor = actor_from_request(request, services.settings, security_of(request))
    except NotAuthenticatedError as exc:
        raise LoginRequiredError(str(exc)) from exc
    if request.method in UNSAFE_METHODS and request.cookies.get(COOKIE) and actor.kind.value != "dev":
        expected = csrf_token(request)
        given = request.headers.get("x-csrf-token") or str((await request.form()).get("csrf", ""))
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise CsrfError("missing or wrong CSRF token; reload the page")
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]

#: Roles allowed on each area; ``developer`` is the anonymous development actor of ``make demo``.
AREAS: dict[str, frozenset[str]] = {
    "doctor": frozenset({"doctor", "developer"}),
    "nurse": frozenset({"nurse", "developer"}),
    "operations": frozenset({"manager", "operations", "quality_officer", "developer"}),
    "portal": frozenset({"patient", "developer"}),
    "cockpit": frozenset({"manager", "operations", "quality_officer", "developer"}),
    # data-quality scorecards: operations and data management (quality officers)
    "quality": frozenset({"manager", "operations", "quality_officer", "developer"}),
    # patient identity across source systems (EMPI review): needs to read every patient, writes nothing itself
    "empi": frozenset({"quality_officer", "developer"}),
}


def require_area(actor: Actor, area: str) -> None:
    """Refuse ``actor`` unless their role may use ``area``."""
    if actor.role not in AREAS[area]:
        raise PageForbiddenError(f"role {actor.role!r} may not open the {area} pages")
