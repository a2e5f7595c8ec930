"""ASGI middleware: request ids, security headers and the request size limit.

Written as plain ASGI (not Starlette's BaseHTTPMiddleware) so the hot read path pays almost nothing.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from huitong.fhir import jsonio
from huitong.fhir.errors import Issue
from huitong.fhir.outcome import operation_outcome

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    ),
]


_PROCESS_PREFIX = os.urandom(8).hex()
_SEQUENCE = itertools.count(1)


def _new_process() -> None:
    global _PROCESS_PREFIX, _SEQUENCE  # a forked worker must not repeat its parent's ids
    _PROCESS_PREFIX, _SEQUENCE = os.urandom(8).hex(), itertools.count(1)


os.register_at_fork(after_in_child=_new_process)


def new_request_id() -> str:
    """A request id unique across processes and restarts: 16 random hex digits per process, then a counter.

    Not ``uuid4()`` per request: ``os.urandom`` gives up the GIL, and on a busy server getting it back costs the
    event loop up to a thread switch interval on every request. Request ids are not secrets.
    """
    return f"{_PROCESS_PREFIX}{next(_SEQUENCE):016x}"


def hsts_header(max_age: int) -> bytes | None:
    """The ``Strict-Transport-Security`` value for ``max_age`` seconds (``None``: not sent)."""
    return f"max-age={max_age}; includeSubDomains".encode() if max_age > 0 else None


def request_id_of(given: bytes) -> str:
    """The request's id: the caller's ``X-Request-ID`` (``given``; may be empty) if sane, else a new one."""
    text = given.decode("latin-1")
    return text if 0 < len(text) <= 64 and text.replace("-", "").isalnum() else new_request_id()


def response_headers(rid: str, scope: Scope, hsts: bytes | None) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries: its request id, the security headers, HSTS over TLS (RFC 6797 §7.2)."""
    out = [(b"x-request-id", rid.encode()), *SECURITY_HEADERS]
    if hsts is not None and scope.get("scheme") == "https":
        out.append((b"strict-transport-security", hsts))
    return out


class RequestContextMiddleware:
    """Gives each request an id (``X-Request-ID``), adds security headers, refuses oversized bodies."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, hsts_max_age: int = 31_536_000) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.hsts = hsts_header(hsts_max_age)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = request_id_of(headers.get(b"x-request-id", b""))
        scope.setdefault("state", {})["request_id"] = rid
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await _too_large(send, self.max_body_bytes, rid)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLargeError
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out: list[Any] = list(message.get("headers", []))
                out.extend(response_headers(rid, scope, self.hsts))
                message["headers"] = out
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _BodyTooLargeError:
            await _too_large(send, self.max_body_bytes, rid)


class _BodyTooLargeError(Exception):
    pass


async def _too_large(send: Send, limit: int, rid: str) -> None:
    body = jsonio.dumps(operation_outcome([Issue("error", "too-costly", f"request body larger than {limit} bytes")]))
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/fhir+json; charset=utf-8"),
                (b"x-request-id", rid.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
