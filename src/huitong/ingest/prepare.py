"""The CPU half of processing a message: map to FHIR, the quality step, and the resources' search-index rows.

Everything here is a function of the message and a few settings — no database — so the pipeline runs it in
worker processes (``ingest.prepare_processes``), on the cores the one database writer leaves free, and only the
writes, the patient's identity and the message's outcome happen in the write transaction. With no processes the
same :class:`MessageMapper` runs in the pipeline's threads, index rows included: the one writer thread would otherwise
make them inside the write transaction, while the worker threads can make them during its SQLite work, which runs
without the interpreter lock. A message is parsed again in the worker process from its raw bytes: parsing costs a small
part of mapping, and the bytes cross the process boundary cheaper than a parsed message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from huitong.fhir.validate import ID_PATTERN
from huitong.ingest.errors import IngestError, UnsupportedMessageError
from huitong.ingest.hl7v2.message import Message
from huitong.ingest.hl7v2.parse import parse_message
from huitong.ingest.mapping import Resource, map_to_fhir

if TYPE_CHECKING:
    from huitong.fhir.search.index import FulltextTypes
    from huitong.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cleansed:
    """What the quality step (``quality.cleanse.at_ingest``) found and did to one message's resources."""

    findings: tuple[str, ...] = ()  # "rule-id Type/id: detail", also of what was then fixed
    fixes: tuple[str, ...] = ()
    quarantine: tuple[str, ...] = ()  # the error findings left after the fixes


#: The quality step: checks and fixes a message's mapped resources in place before they are stored.
Cleanser = Callable[[Message, list[Resource]], Cleansed]


@dataclass(slots=True)
class MapResult:
    """A message mapped: its resources (cleansed), or why it could not be.

    ``unsupported`` holds the reason when no mapping exists for the message type (a channel that only forwards
    still forwards it); ``error`` the ``"AE 207: reason"`` of a message the mapping refused or failed on.
    ``index`` is, per resource, its search-index rows prepared ahead, or ``None`` where they are made in the
    write transaction. ``context``: the resources written only if absent (``ingest/mapping.py``).
    """

    resources: list[Resource]
    merge: Any = None
    quality: Cleansed | None = None
    index: list[Any] | None = None
    unsupported: str | None = None
    error: str | None = None
    context: frozenset[tuple[str, str]] = frozenset()


class MessageMapper:
    """Map → department → quality step (→ index rows) for one parsed message; see the module docstring."""

    def __init__(
        self,
        *,
        cleanse: Cleanser | None = None,
        department_reference: str = "",
        index_fulltext: FulltextTypes | None = None,
    ) -> None:
        self.cleanse = cleanse
        self.department_reference = department_reference
        self.index_fulltext = index_fulltext

    def __call__(self, msg: Message) -> MapResult:
        try:
            mapped = map_to_fhir(msg)
        except UnsupportedMessageError as exc:
            return MapResult([], unsupported=exc.reason)
        except IngestError as exc:
            return MapResult([], error=f"{exc.ack_code} {exc.error_code}: {exc.reason}")
        except Exception as exc:  # a defect in a mapping must not stop the engine: kept as a dead letter
            log.exception("mapping message %s failed", msg.msh.get("10"))
            return MapResult([], error=f"internal mapping error ({type(exc).__name__}: {exc})")
        resources, merge = mapped.resources, getattr(mapped.source, "merge", None)
        if self.department_reference:
            set_departments(resources, self.department_reference)
        quality = self.cleanse(msg, resources) if self.cleanse is not None and resources else None
        index = None
        if self.index_fulltext is not None:
            from huitong.fhir.search.index import PreparedIndex

            index = [
                PreparedIndex.of(b["resourceType"], b, fulltext=self.index_fulltext(b["resourceType"]))
                for b in resources
            ]
        return MapResult(resources, merge, quality, index, context=mapped.context)


def mapper_from_settings(settings: Settings, *, with_index: bool) -> MessageMapper:
    """The mapper the settings describe (the engine's quality step when ``quality.cleanse_at_ingest``)."""
    from huitong.ingest.engine import quality_cleanser

    fulltext = None
    if with_index:
        from huitong.fhir.search.index import FulltextTypes

        fulltext = FulltextTypes(settings.fhir.fulltext_types)
    return MessageMapper(
        cleanse=quality_cleanser(settings) if settings.quality.cleanse_at_ingest else None,
        department_reference=settings.ingest.department_reference,
        index_fulltext=fulltext,
    )


def set_departments(resources: list[Resource], template: str) -> None:
    """Give each Encounter without a ``serviceProvider`` its department from PV1-10 (mapped to ``serviceType``).

    ``template`` is ``settings.ingest.department_reference``, e.g. ``Organization/dept-{code}``.
    """
    for body in resources:
        if body.get("resourceType") != "Encounter" or "serviceProvider" in body:
            continue
        codings = (body.get("serviceType") or {}).get("coding") or []
        code = next((c.get("code") for c in codings if isinstance(c, dict) and c.get("code")), None)
        if isinstance(code, str) and ID_PATTERN.fullmatch(code):
            body["serviceProvider"] = {"reference": template.replace("{code}", code)}


# -- in a worker process ------------------------------------------------------------------------------------

_MAPPER: MessageMapper | None = None


def init_mapper(settings: Settings) -> None:
    """Process-pool initialiser: build the mapper once per worker process."""
    global _MAPPER
    _MAPPER = mapper_from_settings(settings, with_index=True)


def map_raw_many(raws: Sequence[bytes]) -> list[MapResult]:
    """Parse and map each raw message (in a worker process, after :func:`init_mapper`). The pipeline parsed each
    before sending it here, so parsing it again cannot fail."""
    if _MAPPER is None:
        raise RuntimeError("map_raw_many runs in a worker process started with init_mapper")
    return [_MAPPER(parse_message(raw)) for raw in raws]
