"""Opaque paging cursors: the ``_cursor`` of ``next`` and ``previous`` links (keyset, or "seek", paging).

A cursor holds the sort key of the row a page continues from — the last match of the page before (``next``)
or the first match of the page after (``previous``) — so the database seeks to it through an index and page
1,000 costs what page 1 costs, where ``_offset`` would read and skip every row before it. It also holds the
page's position (for ``_total`` on the last page) and the ``_sort`` it was made for. Sorts on index values
(``_sort=birthdate``) have keys that may be missing; their cursors hold the position only (offset paging).
Cursors are base64url JSON: opaque to clients, not secret; a damaged one is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from huitong.fhir.search.errors import SearchError

#: A sort key: the values of the sort columns and the resource's pk, as JSON values.
Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page starts."""

    offset: int
    key: Key | None = None
    before: bool = False  # the page ends just before ``key`` (a previous link)
    sort: str = ""


def encode_cursor(cursor: Cursor) -> str:
    data: dict[str, Any] = {"o": cursor.offset, "s": cursor.sort}
    if cursor.key is not None:
        data["k"] = list(cursor.key)
        if cursor.before:
            data["b"] = 1
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """The cursor of a ``_cursor`` value; raises :class:`SearchError` for anything this server did not make."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw.decode())
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise SearchError("_cursor is damaged: follow the next/previous links of a search as they are") from exc
    if not isinstance(data, dict):
        raise SearchError("_cursor is damaged: follow the next/previous links of a search as they are")
    offset, sort, key = data.get("o"), data.get("s", ""), data.get("k")
    valid = (
        isinstance(offset, int)
        and not isinstance(offset, bool)
        and 0 <= offset <= 10**12
        and isinstance(sort, str)
        and (key is None or (isinstance(key, list) and 1 <= len(key) <= 8 and all(_scalar(v) for v in key)))
    )
    if not valid:
        raise SearchError("_cursor is damaged: follow the next/previous links of a search as they are")
    assert isinstance(offset, int)  # noqa: S101 - checked above
    return Cursor(offset, tuple(key) if key is not None else None, bool(data.get("b")), sort)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and len(str(value)) <= 512
