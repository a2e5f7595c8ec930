"""The ``searchset`` Bundle: stored JSON bytes spliced in as they are unless a subset was asked for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from huitong.fhir import jsonio
from huitong.fhir.search.service import SearchResult
from huitong.fhir.search.subset import subset
from huitong.fhir.stored import StoredResource, instant


def search_bundle(result: SearchResult, *, base_url: str, path: str) -> bytes:
    """A searchset Bundle for ``result``; ``path`` is the search's URL without its query (for links)."""
    request = result.request
    links = [{"relation": "self", "url": f"{path}?{result.query_string()}"}]
    # Paging links carry an opaque cursor (keyset paging, see cursor.py) in place of _offset.
    for relation, cursor in (("next", result.next_cursor), ("previous", result.previous_cursor)):
        if cursor is not None:
            query = result.query_string(drop=("_offset",), _cursor=cursor, _count=str(request.count))
            links.append({"relation": relation, "url": f"{path}?{query}"})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "meta": {"lastUpdated": instant(datetime.now(UTC))},
    }
    if result.total is not None:
        bundle["total"] = result.total
    bundle["link"] = links
    entries = [_entry(s, base_url, "match", result) for s in result.matches]
    entries += [_entry(s, base_url, "include", result) for s in result.included]
    if request.ignored:
        entries.append(
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "warning",
                            "code": "not-supported",
                            "diagnostics": f"ignored unknown search parameter {name!r}",
                        }
                        for name in request.ignored
                    ],
                },
                "search": {"mode": "outcome"},
            }
        )
    if entries:
        bundle["entry"] = entries
    return jsonio.dumps(bundle)


def _entry(stored: StoredResource, base_url: str, mode: str, result: SearchResult) -> dict[str, Any]:
    request = result.request
    content: Any
    if request.summary in ("true", "text", "data") or request.elements:
        content = subset(stored.resource(), summary=request.summary, elements=request.elements)
    else:
        content = orjson.Fragment(stored.content or b"{}")
    return {
        "fullUrl": f"{base_url}/{stored.res_type}/{stored.res_id}",
        "resource": content,
        "search": {"mode": mode},
    }
