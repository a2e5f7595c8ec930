"""What the store hands back: a resource version as stored, with its JSON bytes ready to serve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from huitong.fhir import jsonio


@dataclass(frozen=True, slots=True)
class StoredResource:
    """One version of one resource. ``content`` is ``None`` for a deletion (a tombstone)."""

    res_type: str
    res_id: str
    version_id: int
    last_updated: datetime
    deleted: bool
    content: bytes | None
    method: str = "PUT"

    @property
    def etag(self) -> str:
        """The weak ETag of this version, ``W/"3"``."""
        return f'W/"{self.version_id}"'

    @property
    def reference(self) -> str:
        """``Patient/123``."""
        return f"{self.res_type}/{self.res_id}"

    def resource(self) -> dict[str, Any]:
        """The resource parsed (decimals exact). Avoid on hot read paths: serve :attr:`content` instead."""
        if self.content is None:
            raise ValueError(f"{self.reference} version {self.version_id} is a deletion and has no content")
        value = jsonio.loads(self.content)
        if not isinstance(value, dict):
            raise TypeError(f"{self.reference} is not stored as a JSON object")
        return value


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (SQLite hands back naive ones)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def moment_of(text: object, *, naive: tzinfo | None = None, need_time: bool = False) -> datetime | None:
    """A FHIR date, dateTime or instant as an aware datetime; ``None`` for anything else. A value without a zone
    is read in ``naive`` (``None`` without it); with ``need_time`` a plain date is ``None`` too."""
    if not isinstance(text, str) or (need_time and "T" not in text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=naive) if naive is not None else None


def instant(moment: datetime) -> str:
    """A FHIR instant with millisecond precision: ``2026-11-27T06:30:00.123+00:00``."""
    return utc(moment).isoformat(timespec="milliseconds")


def with_meta(resource: dict[str, Any], res_id: str, version_id: int, last_updated: datetime | str) -> dict[str, Any]:
    """A copy of ``resource`` with the server's id, ``meta.versionId`` and ``meta.lastUpdated`` (a time, or its
    :func:`instant` already formatted — a write of many resources formats it once).

    Elements keep their order, with ``resourceType``, ``id`` and ``meta`` first as FHIR JSON usually has them.
    """
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version_id)
    meta["lastUpdated"] = last_updated if isinstance(last_updated, str) else instant(last_updated)
    out: dict[str, Any] = {"resourceType": resource["resourceType"], "id": res_id, "meta": meta}
    for key, value in resource.items():
        if key not in out:
            out[key] = value
    return out


_SERVER_META = ("versionId", "lastUpdated")
_SERVER_META_AND_SOURCE = ("versionId", "lastUpdated", "source")


def without_server_meta(resource: dict[str, Any], source: bool = False) -> dict[str, Any]:
    """``resource`` without ``meta.versionId``/``meta.lastUpdated`` (and ``meta.source`` too when ``source``;
    without ``meta`` if that empties it)."""
    out = dict(resource)
    drop = _SERVER_META_AND_SOURCE if source else _SERVER_META
    meta = {k: v for k, v in (out.get("meta") or {}).items() if k not in drop}
    if meta:
        out["meta"] = meta
    else:
        out.pop("meta", None)
    return out
