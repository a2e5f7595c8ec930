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
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from huitong.deps import get_actor
from huitong.fhir.api import read_response
from huitong.fhir.errors import FhirError
from huitong.fhir.http import check_format
from huitong.fhir.resource_types import is_resource_type
from huitong.fhir.validate import ID_PATTERN
from huitong.middleware import new_request_id, request_id_of, response_headers
from huitong.ops.logs import request_id_var
from huitong.ops.metrics import MetricsMiddleware
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


_BODY_HEADERS = (b"content-length", b"transfer-encoding")


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
    bearer = False
    for name, value in scope["headers"]:
        if name == b"authorization":
            bearer = value[:7].lower() == b"bearer "
        elif name in _BODY_HEADERS:
            return None  # a GET with a body: the general path applies the body size limit
    # no bearer token: sessions, anonymous development callers and login redirects take the long way
    return (rtype, res_id) if bearer else None


async def serve_read(app: Any, scope: Scope, receive: Receive, send: Send, target: tuple[str, str]) -> None:
    """Answer the plain read ``target`` (from :func:`match_read`) of ``app`` (the Huitong application).

    Called by the application itself before Starlette's middleware stack (``app.py``), so this one function does
    what the request-context and metrics middleware do for every other request — with the same functions: the
    request id (``X-Request-ID``), the security headers, the metrics and the access log — and then the read.
    """
    scope["app"] = app
    scope["route"] = READ_ROUTE
    rid = ""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            rid = request_id_of(value)
            break
    rid = rid or new_request_id()
    scope.setdefault("state", {})["request_id"] = rid
    token = request_id_var.set(rid)
    started = time.perf_counter()
    status = 500
    try:
        request = Request(scope, receive)
        try:
            response = await _read(request, app.state.services, *target)
        except Exception as exc:
            handler = _handler_for(app.exception_handlers, exc)
            if handler is None:
                raise
            response = handler(request, exc)
            if inspect.isawaitable(response):
                response = await response
        status = response.status_code
        response.raw_headers.extend(response_headers(rid, scope, _hsts(app)))
        await response(scope, receive, send)
    finally:
        MetricsMiddleware.observe(scope, READ_ROUTE.path, status, time.perf_counter() - started)
        request_id_var.reset(token)


async def _read(request: Request, services: Services, rtype: str, res_id: str) -> Response:
    actor = await get_actor(request, services)
    check_format(request)
    store = services.store
    if store.reads_inline(actor):  # one raw SQLite look-up: cheaper on the loop than a hop to a thread
        outcome, audited = store.read_on_loop(actor, rtype, res_id)
        await audited  # nothing is sent before the read's (or the refusal's) audit row is committed
    else:
        outcome, committed = await in_thread(store.read_submit, actor, rtype, res_id)
        await asyncio.wrap_future(committed)
    if isinstance(outcome, FhirError):
        raise outcome
    return read_response(outcome, request, services)


def _hsts(app: Any) -> bytes | None:
    value: bytes | None = getattr(app.state, "hsts", None)
    return value


def _handler_for(handlers: dict[Any, Callable[..., Any]], exc: Exception) -> Callable[..., Any] | None:
    """The application's handler for ``exc`` (nearest class first), as Starlette's exception middleware finds it."""
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None
