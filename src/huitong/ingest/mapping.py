"""The pipeline's seam to the HL7 v2 → FHIR mapping: :func:`map_to_fhir`.

The mapping itself is :func:`huitong.ingest.hl7v2.to_fhir.map_message` (see docs/hl7-conformance.md). This
adapter gives the pipeline one shape — :class:`Mapped`, plain FHIR JSON dicts each with a deterministic ``id``
— and accepts the shapes a mapper may return (an object with ``.resources``, a list, or a transaction Bundle),
so a site-specific mapper can be swapped in. Deterministic ids are what make processing idempotent: the same
message always writes the same resources, and the store makes no new version of an unchanged one.

**Who owns a visit.** Every message with a PV1 maps it to an Encounter, and the visit number gives it the same id
whichever system sends it. The ADT feed owns the visit: admission, transfer, discharge. Any other message (a
result, an order, a dose, an appointment, a document) only refers to it, and its PV1 carries no discharge, so
its Encounter is ``context``: written when the repository has no such visit yet (the result then has one), never
over an existing one. Before this, a lab result reported after discharge re-opened the stay (``in-progress``, its
admission time gone), and a year of LIS messages left a quarter of a million "stays in progress" on the bed board.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from huitong.fhir.resource_types import stamp_source
from huitong.ingest.errors import MappingError
from huitong.ingest.hl7v2.message import Message
from huitong.ingest.hl7v2.to_fhir import map_message

Resource = dict[str, Any]


@dataclass(slots=True)
class Mapped:
    """The resources one message becomes, and what the mapping noted (A40 merges, critical values …)."""

    resources: list[Resource]
    warnings: list[str] = field(default_factory=list)
    source: Any = None  # the mapper's own result, e.g. a Mapping with its pending merge
    context: frozenset[tuple[str, str]] = frozenset()  # (type, id) written only if absent (:func:`context_of`)


#: Resource types an ADT message owns and any other message only refers to.
OWNED_BY_ADT = frozenset({"Encounter"})


def context_of(msg: Message, resources: list[Resource]) -> frozenset[tuple[str, str]]:
    """The (type, id) of the resources ``msg`` only refers to: its visit, unless it is an ADT message."""
    if msg.msh.get("9.1").strip().upper() == "ADT":
        return frozenset()
    return frozenset((r["resourceType"], r["id"]) for r in resources if r["resourceType"] in OWNED_BY_ADT)


def map_to_fhir(msg: Message) -> Mapped:
    """The FHIR resources of ``msg``; raises an :class:`~huitong.ingest.errors.IngestError` subclass. Every
    resource names its sending system (MSH-3) in ``meta.source``, which data-quality scorecards are kept by —
    except the directory entries that senders share (:data:`~huitong.fhir.resource_types.SHARED_DIRECTORY`)."""
    mapped = normalise(map_message(msg))
    source = msg.msh.get("3.1")
    if source:
        stamp_source(mapped.resources, source)
    mapped.context = context_of(msg, mapped.resources)
    return mapped


def normalise(result: Any) -> Mapped:
    """:class:`Mapped` from a mapper's result (an object with ``.resources``, a list, or a Bundle)."""
    warnings: list[str] = list(getattr(result, "warnings", []) or [])
    if isinstance(result, dict) and result.get("resourceType") == "Bundle":
        items = [e["resource"] for e in result.get("entry", []) if "resource" in e]
    elif isinstance(result, list | tuple):
        items = list(result)
    else:
        items = list(getattr(result, "resources", []))
    resources = [r if isinstance(r, dict) else r.model_dump(mode="json", exclude_none=True) for r in items]
    for r in resources:
        if not r.get("id") or not r.get("resourceType"):
            raise MappingError(f"the mapping produced a {r.get('resourceType')} without an id", error_code="207")
    return Mapped(resources, warnings, result)
