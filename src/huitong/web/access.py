"""Who may open which page, checked by each page itself (the navigation only hides links)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from huitong.deps import ServicesDep
from huitong.security.actor import Actor
from huitong.security.deps import NotAuthenticatedError, actor_from_request


class LoginRequiredError(Exception):
    """A page was opened without a signed-in user."""


class PageForbiddenError(Exception):
    """The signed-in user's role may not open this page."""


def page_actor(request: Request, services: ServicesDep) -> Actor:
    """The signed-in actor, or :class:`LoginRequiredError` (the app turns it into a redirect to sign in)."""
    try:
        return actor_from_request(request, services.settings)
    except NotAuthenticatedError as exc:
        raise LoginRequiredError(str(exc)) from exc


PageActor = Annotated[Actor, Depends(page_actor)]

#: Roles allowed on each area; ``developer`` is the anonymous development actor of ``make demo``.
AREAS: dict[str, frozenset[str]] = {
    "doctor": frozenset({"doctor", "developer"}),
    "nurse": frozenset({"nurse", "developer"}),
    "operations": frozenset({"manager", "operations", "quality_officer", "developer"}),
    "portal": frozenset({"patient", "developer"}),
}


def require_area(actor: Actor, area: str) -> None:
    """Refuse ``actor`` unless their role may use ``area``."""
    if actor.role not in AREAS[area]:
        raise PageForbiddenError(f"role {actor.role!r} may not open the {area} pages")
