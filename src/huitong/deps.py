"""FastAPI dependencies, named once (``Annotated`` aliases) so route signatures read like prose."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from huitong.security.actor import Actor, ActorKind
from huitong.security.deps import actor_from_request, security_of
from huitong.services import Services


def get_services(request: Request) -> Services:
    """The services opened by the app's lifespan."""
    services: Services = request.app.state.services
    return services


def get_actor(request: Request, services: Annotated[Services, Depends(get_services)]) -> Actor:
    """The actor of the request (401 when there is none, 429 past the API rate; see :mod:`huitong.security.deps`)."""
    security = security_of(request)
    actor = actor_from_request(request, services.settings, security)
    if security is not None:
        security.api_limiter.hit(actor.id if actor.kind is not ActorKind.DEVELOPMENT else str(actor.source_address))
    return actor


ServicesDep = Annotated[Services, Depends(get_services)]
ActorDep = Annotated[Actor, Depends(get_actor)]
