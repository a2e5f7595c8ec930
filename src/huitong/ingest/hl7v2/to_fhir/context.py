"""State of one mapping: the message, deterministic ids, the resources produced so far, warnings."""

from __future__ import annotations

import uuid
from typing import Any

from huitong.ingest.hl7v2.message import Message

Resource = dict[str, Any]
_ID_NAMESPACE = uuid.UUID("6f1c3e0a-5b1e-4c3e-9a57-48756974f06e")  # Huitong's namespace for v2-derived ids
DEFAULT_TIMEZONE = "+08:00"  # China Standard Time, for v2 times sent without an offset


def stable_id(kind: str, *parts: str) -> str:
    """A deterministic id (a UUID v5) for a resource of ``kind`` identified by ``parts``."""
    return str(uuid.uuid5(_ID_NAMESPACE, "\x1f".join((kind, *parts))))


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
