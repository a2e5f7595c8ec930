"""HL7 v2 → FHIR R4, following the HL7 v2-to-FHIR IG: :func:`map_message` returns a :class:`Mapping`.

Resources are plain FHIR JSON dicts with deterministic ids (derived from the identifiers in the message,
see each module), so mapping the same message twice gives the same resources and the store makes no new
version. References between them use those ids. Supported (``SUPPORTED``): ADT A01 A02 A03 A04 A05 A08
A11 A13 A28 A31 A40, ORU^R01, ORM^O01, OML^O21, RDE^O11, RAS^O17, SIU^S12, MDM^T02. Any other type raises
:class:`UnsupportedMessageError`; content that cannot be mapped raises :class:`MappingError` (AE).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from huitong.identifiers import RESIDENT_ID_SYSTEM
from huitong.ingest.errors import MappingError, UnsupportedMessageError
from huitong.ingest.hl7v2.message import Message
from huitong.ingest.hl7v2.to_fhir.adt import EVENTS as ADT_EVENTS
from huitong.ingest.hl7v2.to_fhir.adt import PendingMerge, map_adt
from huitong.ingest.hl7v2.to_fhir.context import DEFAULT_TIMEZONE, MapContext
from huitong.ingest.hl7v2.to_fhir.documents import map_mdm
from huitong.ingest.hl7v2.to_fhir.orders import map_orders
from huitong.ingest.hl7v2.to_fhir.oru import map_oru
from huitong.ingest.hl7v2.to_fhir.patient import PatientFacts
from huitong.ingest.hl7v2.to_fhir.pharmacy import map_ras, map_rde
from huitong.ingest.hl7v2.to_fhir.scheduling import map_siu

__all__ = [
    "RESIDENT_ID_SYSTEM",
    "SUPPORTED",
    "Mapping",
    "PatientFacts",
    "PendingMerge",
    "map_message",
]


@dataclass
class Mapping:
    """What one message maps to."""

    message_type: str
    resources: list[dict[str, Any]]
    patient: PatientFacts | None
    warnings: list[str] = field(default_factory=list)
    merge: PendingMerge | None = None  # ADT^A40: to be applied by the EMPI
    critical: list[str] = field(default_factory=list)  # Observation ids flagged HH, LL, AA, < or >

    def counts(self) -> dict[str, int]:
        """Resources produced, by type."""
        return dict(Counter(r["resourceType"] for r in self.resources))


Mapper = Callable[[MapContext, list[str]], tuple[PatientFacts, PendingMerge | None]]


def _adt(event: str) -> Mapper:
    return lambda ctx, critical: map_adt(ctx, event, critical)


def _oru(ctx: MapContext, critical: list[str]) -> tuple[PatientFacts, PendingMerge | None]:
    return map_oru(ctx, critical), None


def _plain(run: Callable[[MapContext], PatientFacts]) -> Mapper:
    return lambda ctx, _critical: (run(ctx), None)


MAPPERS: dict[tuple[str, str], Mapper] = {("ADT", event): _adt(event) for event in sorted(ADT_EVENTS)}
MAPPERS |= {
    ("ORU", "R01"): _oru,
    ("ORM", "O01"): _plain(map_orders),
    ("OML", "O21"): _plain(map_orders),
    ("RDE", "O11"): _plain(map_rde),
    ("RAS", "O17"): _plain(map_ras),
    ("SIU", "S12"): _plain(map_siu),
    ("MDM", "T02"): _plain(map_mdm),
}
SUPPORTED = tuple(f"{code}^{event}" for code, event in MAPPERS)
_SUPPORTED_TEXT = "ADT^" + "/".join(sorted(ADT_EVENTS)) + ", " + ", ".join(s for s in SUPPORTED if s[:3] != "ADT")


def map_message(msg: Message, *, timezone: str = DEFAULT_TIMEZONE) -> Mapping:
    """Map a parsed message to FHIR resources and patient facts.

    ``timezone`` is the offset given to v2 times sent without one. Raises
    :class:`UnsupportedMessageError` (AR) for a type without a mapping and :class:`MappingError` (AE)
    when required content is missing.
    """
    code, event = msg.message_code, msg.trigger_event
    mapper = MAPPERS.get((code, event))
    if mapper is None:
        if not any(c == code for c, _ in MAPPERS):
            raise UnsupportedMessageError(
                f"message type {code!r} is not mapped to FHIR (mapped: {_SUPPORTED_TEXT})",
                error_code="200",
                location="MSH-9",
            )
        raise UnsupportedMessageError(
            f"event {code}^{event} is not mapped to FHIR (mapped: {_SUPPORTED_TEXT})",
            error_code="201",
            location="MSH-9",
        )
    ctx = MapContext(msg, timezone=timezone)
    critical: list[str] = []
    try:
        facts, merge = mapper(ctx, critical)
    except MappingError:
        raise
    except (IndexError, KeyError, ValueError, TypeError, AttributeError, OverflowError) as exc:  # a defect of ours
        raise MappingError(
            f"internal mapping error ({type(exc).__name__}: {exc})", error_code="207", ack_code="AE"
        ) from exc
    return Mapping(
        message_type=msg.message_type,
        # Builders share small objects (the patient Reference, basedOn lists); _prune rebuilds every object
        # and array, so each resource is its own tree and a consumer that edits one cannot change another.
        resources=[_prune(r) for r in ctx.resources.values()],
        patient=facts,
        warnings=list(msg.warnings) + ctx.warnings,
        merge=merge,
        critical=critical,
    )


def _prune(node: Any) -> Any:
    """A copy of ``node`` (new objects and arrays) without empty or white-space-only strings and without the
    objects and arrays left empty — FHIR JSON has none. A safety net: the builders leave such values out
    already, and the fuzz tests check what remains."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            value = _prune(value)
            if value is not None:
                out[key] = value
        return out or None
    if isinstance(node, list):
        items = [v for v in (_prune(x) for x in node) if v is not None]
        return items or None
    if isinstance(node, str) and not node.strip():
        return None
    return node
