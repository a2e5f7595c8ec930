"""Bundles assembled from stored JSON bytes without parsing them again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from huitong.fhir import jsonio
from huitong.fhir.stored import StoredResource, instant

_STATUS_OF_METHOD = {"POST": "201 Created", "PUT": "200 OK", "DELETE": "204 No Content"}


def history_bundle(
    entries: Sequence[StoredResource], *, base_url: str, links: dict[str, str], total: int | None
) -> bytes:
    """A ``history`` Bundle: one entry per version, newest first, the resource bytes spliced in as stored."""
    out: list[dict[str, Any]] = []
    for e in entries:
        full_url = f"{base_url}/{e.res_type}/{e.res_id}"
        entry: dict[str, Any] = {"fullUrl": full_url}
        if e.content is not None:
            entry["resource"] = orjson.Fragment(e.content)
        method = e.method if e.method in _STATUS_OF_METHOD else "PUT"
        entry["request"] = {"method": method, "url": f"{e.res_type}/{e.res_id}" if method != "POST" else e.res_type}
        entry["response"] = {
            "status": _STATUS_OF_METHOD[method].split(" ")[0],
            "etag": e.etag,
            "lastModified": instant(e.last_updated),
        }
        out.append(entry)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "history",
        "meta": {"lastUpdated": instant(datetime.now(UTC))},
    }
    if total is not None:
        bundle["total"] = total
    bundle["link"] = [{"relation": rel, "url": url} for rel, url in links.items()]
    bundle["entry"] = out
    return jsonio.dumps(bundle)
