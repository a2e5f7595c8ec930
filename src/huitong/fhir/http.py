"""HTTP details of the FHIR API: media types, headers, preconditions, base URLs."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from huitong.fhir import errors, jsonio
from huitong.fhir.stored import StoredResource, utc
from huitong.settings import Settings

FHIR_JSON = "application/fhir+json"
_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir", "text/json")
_XML_TYPES = ("application/fhir+xml", "application/xml", "text/xml", "application/xml+fhir", "xml")
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


class PreparedResponse(Response):
    """A response whose status, raw (lower-case, encoded) headers and body are ready: nothing to work out."""

    def __init__(self, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code = status
        self.raw_headers = raw_headers
        self.body = body
        self.background = None


FHIR_JSON_CONTENT_TYPE = (b"content-type", b"application/fhir+json; charset=utf-8")


def fhir_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A response carrying FHIR JSON."""
    return Response(body, status_code=status, media_type=f"{FHIR_JSON}; charset=utf-8", headers=headers)


def json_body(value: Any, request: Request, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise ``value`` (pretty with ``_pretty=true``) as a FHIR JSON response."""
    pretty = request.query_params.get("_pretty") == "true"
    return fhir_response(jsonio.dumps_pretty(value) if pretty else jsonio.dumps(value), status, headers)


def base_url(request: Request, settings: Settings) -> str:
    """The absolute base of the FHIR API, e.g. ``http://127.0.0.1:8000/fhir``."""
    configured = settings.http.public_base_url.rstrip("/")
    root = configured or str(request.base_url).rstrip("/")
    return f"{root}/fhir"


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def last_modified(stored: StoredResource) -> str:
    """The ``Last-Modified`` header of a stored version (an HTTP date, GMT; what ``email.utils.format_datetime``
    gives with ``usegmt``, spelt out here because every read sends it)."""
    m = utc(stored.last_updated)
    return (
        f"{_DAYS[m.weekday()]}, {m.day:02d} {_MONTHS[m.month - 1]} {m.year:04d} "
        f"{m.hour:02d}:{m.minute:02d}:{m.second:02d} GMT"
    )


def version_headers(stored: StoredResource, request: Request, settings: Settings) -> dict[str, str]:
    """ETag, Last-Modified and Location of a stored version."""
    return {
        "ETag": stored.etag,
        "Last-Modified": last_modified(stored),
        "Location": f"{base_url(request, settings)}/{stored.res_type}/{stored.res_id}/_history/{stored.version_id}",
    }


def check_format(request: Request) -> None:
    """Refuse XML: this server speaks FHIR JSON only (406 with an OperationOutcome saying so)."""
    check_media(request.query_params.get("_format", "") if request.scope["query_string"] else "", request.headers)


def check_media(fmt: str, headers: Any) -> None:
    """:func:`check_format` given the ``_format`` parameter and the request headers (a mapping)."""
    accept = headers.get("accept", "")
    if "xml" not in fmt and "xml" not in accept:  # every XML type names it: nothing to refuse
        return
    wants_xml_only = any(t in accept for t in _XML_TYPES) and not any(
        t in accept for t in (*_JSON_TYPES, "*/*", "application/*")
    )
    if any(t in fmt for t in _XML_TYPES) or wants_xml_only:
        raise errors.not_supported("only FHIR JSON is supported (application/fhir+json)", status=406)


async def read_resource_body(request: Request) -> dict[str, Any]:
    """The request body parsed as a FHIR JSON resource (decimals exact); 415/400 otherwise."""
    ctype = request.headers.get("content-type", FHIR_JSON).split(";")[0].strip().lower()
    if ctype and ctype not in _JSON_TYPES:
        raise errors.not_supported(f"content type {ctype!r} is not supported; send application/fhir+json", status=415)
    raw = await request.body()
    if not raw.strip():
        raise errors.invalid("the request has no body; send a FHIR resource as JSON")
    try:
        value = jsonio.loads(raw)
    except jsonio.JsonError as exc:
        raise errors.invalid(str(exc)) from exc
    if not isinstance(value, dict):
        raise errors.invalid("the body must be a JSON object (a FHIR resource)")
    return value


def parse_if_match(request: Request) -> int | None:
    """The version number in ``If-Match`` (``W/"3"``), or ``None`` when absent."""
    header = request.headers.get("if-match")
    if header is None:
        return None
    match = _ETAG.match(header)
    if not match:
        raise errors.invalid(f'If-Match must name a version as W/"N", got {header!r}')
    return int(match.group(1))


def prefer_return(request: Request) -> str:
    """``representation`` (default), ``minimal`` or ``OperationOutcome`` from the ``Prefer`` header."""
    for part in request.headers.get("prefer", "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip() == "return" and value.strip() in ("minimal", "representation", "OperationOutcome"):
            return value.strip()
    return "representation"
