"""The read-by-id fast path: ``GET /fhir/{type}/{id}`` without FastAPI's routing and dependency resolution.

Reading one resource by id is the hottest call of the API. Through FastAPI it paid, per request, for matching
some hundred routes, solving the route's dependencies and two hops through AnyIO's thread pool, on top of the
read itself. This plain ASGI layer (installed innermost, inside the request-id, security-header and metrics
middleware) takes the plain form of that request and runs **the same code** the route runs:

- the actor: :func:`huitong.deps.get_actor` (static token, OAuth token or refusal; the per-credential rate limit);
- the format check (:func:`huitong.fhir.http.check_format`, 406 for XML);
- the read: :meth:`ResourceStore.read_pending_audit` — role, scopes and patient reach checked in the store, the
  audit row queued for the group commit (refusals and failures audited before they are raised);
- the answer: :func:`huitong.fhir.api.read_response` — the stored bytes as they are, ``ETag``,
  ``Last-Modified``, 304 for a matching ``If-None-Match``;
- errors: the application's own exception handlers (OperationOutcome with the right status, 401 with
  ``WWW-Authenticate``, 429 with ``Retry-After``).

The only difference is where the wait for the audit commit happens: the response is sent once the read's audit
row is committed, as before, but the event loop awaits that commit instead of a worker thread blocking on it, so
sixteen concurrent reads do not hold sixteen threads while their audit batch commits.

Anything else goes to the general path untouched: other methods, a query string (``_format``, ``_summary``,
``_elements``, ``_pretty`` …), a trailing slash, an id FHIR does not allow, no bearer token (browser sessions
and their login redirects), or a path that is not a resource type.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from huitong.deps import get_actor
from huitong.fhir.api import read_response
from huitong.fhir.http import check_format
from huitong.fhir.resource_types import is_resource_type
from huitong.fhir.validate import ID_PATTERN
from huitong.services import Services

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _RouteLabel:
    path: str


#: The route the fast path stands in for: its template labels the request in the metrics, as the route's would.
READ_ROUTE = _RouteLabel("/fhir/{rtype}/{res_id}")

#: Threads running the store reads of the fast path (they only read; the audit commit is awaited on the loop).
READ_THREADS = 8

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _read_executor() -> ThreadPoolExecutor:
    """The process's read threads, started on first use and shared by every app in the process."""
    global _executor  # one small pool per process, like AnyIO's default thread limiter
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="huitong-read")
        return _executor


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` on a read thread with the caller's context variables (request id in the logs)."""
    context = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_read_executor(), functools.partial(context.run, fn, *args))


def match_read(scope: Scope) -> tuple[str, str] | None:
    """``(type, id)`` when ``scope`` is a plain read by id the fast path serves, else ``None``."""
    if scope["type"] != "http" or scope["method"] != "GET" or scope.get("query_string"):
        return None
    path: str = scope["path"]
    if not path.startswith("/fhir/"):
        return None
    rtype, _, res_id = path[6:].partition("/")
    if not res_id or not is_resource_type(rtype) or not ID_PATTERN.fullmatch(res_id):
        return None
    for name, value in scope["headers"]:
        if name == b"authorization":
            return (rtype, res_id) if value[:7].lower() == b"bearer " else None
    return None  # no bearer token: sessions, anonymous development callers and login redirects take the long way


class FhirReadFastPath:
    """ASGI middleware serving plain reads by id; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = match_read(scope)
        if target is None:
            await self.app(scope, receive, send)
            return
        app = scope["app"]
        scope["route"] = READ_ROUTE
        request = Request(scope, receive)
        try:
            response = await self._read(request, app.state.services, *target)
        except Exception as exc:
            handler = _handler_for(app.exception_handlers, exc)
            if handler is None:
                raise
            response = handler(request, exc)
            if inspect.isawaitable(response):
                response = await response
        await response(scope, receive, send)

    @staticmethod
    async def _read(request: Request, services: Services, rtype: str, res_id: str) -> Response:
        actor = await get_actor(request, services)
        check_format(request)
        stored, audited = await in_thread(services.store.read_pending_audit, actor, rtype, res_id)
        await asyncio.wrap_future(audited)  # nothing is sent before the read's audit row is committed
        return read_response(stored, request, services)


def _handler_for(handlers: dict[Any, Callable[..., Any]], exc: Exception) -> Callable[..., Any] | None:
    """The application's handler for ``exc`` (nearest class first), as Starlette's exception middleware finds it."""
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None
