"""State of one mapping: the message, deterministic ids, the resources produced so far, warnings."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from huitong.ingest.hl7v2.message import Message

Resource = dict[str, Any]
_ID_NAMESPACE = uuid.UUID("6f1c3e0a-5b1e-4c3e-9a57-48756974f06e")  # Huitong's namespace for v2-derived ids
DEFAULT_TIMEZONE = "+08:00"  # China Standard Time, for v2 times sent without an offset


_NAMESPACE_BYTES = _ID_NAMESPACE.bytes


def stable_id(kind: str, *parts: str) -> str:
    """A deterministic id for a resource of ``kind`` identified by ``parts``: the UUID v5 of the parts in
    Huitong's namespace (computed without building a UUID object: this runs for every resource)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + "\x1f".join((kind, *parts)).encode()).digest()[:16])  # noqa: S324
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class MapContext:
    """Collects the resources of one message; equal ids are produced once (the first one wins)."""

    def __init__(self, msg: Message, *, timezone: str = DEFAULT_TIMEZONE) -> None:
        self.msg = msg
        self.timezone = timezone
        msh = msg.msh
        # The sender's namespace: MSH-4 (universal id, else namespace id), else MSH-3.
        self.facility = msh.get("4.2") or msh.get("4.1") or msh.get("3.2") or msh.get("3.1")
        self.resources: dict[tuple[str, str], Resource] = {}
        self.warnings: list[str] = []

    def add(self, resource: Resource) -> dict[str, str]:
        """Add ``resource`` (with its id) unless one with the same type and id exists; return a Reference."""
        key = (resource["resourceType"], resource["id"])
        self.resources.setdefault(key, resource)
        return {"reference": f"{key[0]}/{key[1]}"}

    def warn(self, text: str) -> None:
        """Record something the mapping had to leave out or guess."""
        if text not in self.warnings:
            self.warnings.append(text)
