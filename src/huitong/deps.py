"""FastAPI dependencies, named once (``Annotated`` aliases) so route signatures read like prose."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from huitong.security.actor import Actor, ActorKind
from huitong.security.deps import actor_from_request, security_of, system_token_actor
from huitong.services import Services


async def get_services(request: Request) -> Services:
    """The services opened by the app's lifespan."""
    services: Services = request.app.state.services
    return services


async def get_actor(request: Request, services: Annotated[Services, Depends(get_services)]) -> Actor:
    """The actor of the request (401 when there is none, 429 past the API rate; see :mod:`huitong.security.deps`).

    Async, so a request does not hop to a worker thread just to be identified: a static system token is checked
    in the event loop, and only look-ups that read the database (sessions, OAuth tokens) go to the thread pool.
    """
    security = security_of(request)
    actor = system_token_actor(request, services.settings)
    if actor is None:
        actor = await run_in_threadpool(actor_from_request, request, services.settings, security)
    if security is not None:
        security.api_limiter.hit(actor.id if actor.kind is not ActorKind.DEVELOPMENT else str(actor.source_address))
    return actor


ServicesDep = Annotated[Services, Depends(get_services)]
ActorDep = Annotated[Actor, Depends(get_actor)]
