"""A patient's whole record as an actor may see it: live and archived, for ``$everything`` and the workbench."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huitong.fhir.operations.everything import patient_record
from huitong.fhir.stored import StoredResource
from huitong.security.actor import Actor
from huitong.security.roles import REFERENCE_TYPES

if TYPE_CHECKING:
    from huitong.services import Services


def visible_record(
    services: Services,
    actor: Actor,
    conn: Any,
    patient_id: str,
    *,
    since: datetime | None = None,
    types: list[str] | None = None,
    limit: int,
) -> list[StoredResource]:
    """The part of a patient's whole record (live and archived, :func:`patient_record`) that ``actor`` may see.

    ``Patient/$everything`` and the doctor's one-patient view both read a record this way. 404 (a FhirError)
    when neither the live database nor the archive holds the patient.
    """
    archive_dir = Path(services.settings.archive.directory)
    record = patient_record(conn, patient_id, archive_dir=archive_dir, since=since, types=types, limit=limit)
    live = services.store.filter_visible(actor, conn, record.live)
    return [*live, *_visible_archived(services, actor, conn, patient_id, record.archived)]


def _visible_archived(
    services: Services, actor: Actor, conn: Any, patient_id: str, items: list[StoredResource]
) -> list[StoredResource]:
    """Archived resources ``actor`` may see: readable types, and only when the actor reaches the patient.

    Archived rows have no access links in the live database; all of them belong to ``patient_id`` (or are
    reference data such as practitioners), so the patient's reach decides, as for live resources.
    """
    if not items:
        return items
    policy = services.store.policy
    types = policy.readable_types(actor)
    items = [i for i in items if types is None or i.res_type in types]
    if not policy.is_unrestricted(actor) and patient_id not in policy.visible_patient_ids(actor, conn):
        return [i for i in items if i.res_type in REFERENCE_TYPES]
    return items
