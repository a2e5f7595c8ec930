"""A patient's whole record as an actor may see it: live and archived, for ``$everything`` and the workbench."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huitong.fhir import errors
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
    return [*live, *visible_archived(services, actor, conn, patient_id, record.archived)]


def visible_records(
    services: Services,
    actor: Actor,
    conn: Any,
    patient_ids: list[str],
    *,
    since: datetime | None = None,
    types: list[str] | None = None,
    limit: int,
) -> list[StoredResource]:
    """The records of several Patients of one person (the first one's, then each other's), each resource once,
    as much of them as ``actor`` may see, at most ``limit``. 404 when the first Patient is unknown or out of reach;
    the others are left out then (deleted since, or out of reach)."""
    found: dict[tuple[str, str], StoredResource] = {}
    for patient_id in patient_ids:
        try:
            visible = visible_record(services, actor, conn, patient_id, since=since, types=types, limit=limit)
        except errors.FhirError:
            if patient_id == patient_ids[0]:
                raise
            continue
        for s in visible:
            found.setdefault((s.res_type, s.res_id), s)
    return list(found.values())[:limit]


def visible_archived(
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
    if not policy.reached_ids(actor, conn, [patient_id]):
        return [i for i in items if i.res_type in REFERENCE_TYPES]
    return items
