"""``Patient/[id]/$everything``: the patient, every resource in their compartment, and what those reference.

Compartment membership comes from the R4 CompartmentDefinition (``_patient_compartment.py``): a resource
belongs when one of its listed reference parameters points at the patient. The reference index answers
that in one query; the resources they reference (practitioners, organizations, medications, locations)
follow in a second, as HAPI and Blaze do.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from huitong.db.schema import resource
from huitong.fhir import errors
from huitong.fhir.operations._patient_compartment import PATIENT_COMPARTMENT
from huitong.fhir.search.schema import search_reference
from huitong.fhir.stored import StoredResource, utc

_COMPARTMENT_PAIRS = frozenset((rtype, code) for rtype, codes in PATIENT_COMPARTMENT.items() for code in codes)
_CODES = sorted({code for _rtype, code in _COMPARTMENT_PAIRS})
_COLUMNS = (
    resource.c.pk,
    resource.c.res_type,
    resource.c.res_id,
    resource.c.version_id,
    resource.c.last_updated,
    resource.c.content,
)


def patient_everything(
    conn: sa.Connection,
    patient_id: str,
    *,
    since: datetime | None = None,
    types: Iterable[str] | None = None,
    limit: int = 10_000,
) -> list[StoredResource]:
    """The patient's whole record: the Patient first, then its compartment, then referenced resources."""
    patient = conn.execute(
        sa.select(*_COLUMNS, resource.c.deleted).where(
            resource.c.res_type == "Patient", resource.c.res_id == patient_id
        )
    ).first()
    if patient is None or patient.deleted:
        raise errors.not_found(f"Patient/{patient_id} does not exist")
    ref = search_reference
    rows = conn.execute(
        sa.select(*_COLUMNS, ref.c.param)
        .join(ref, ref.c.resource_pk == resource.c.pk)
        .where(
            ref.c.target_type == "Patient",
            ref.c.target_id == patient_id,
            ref.c.param.in_(_CODES),
            resource.c.deleted.is_(False),
        )
        .order_by(resource.c.pk)
    ).all()
    members: dict[int, Any] = {patient.pk: patient}
    for row in rows:
        if (row.res_type, row.param) in _COMPARTMENT_PAIRS and row.pk not in members:
            members[row.pk] = row
    referenced = conn.execute(
        sa.select(*_COLUMNS)
        .join(ref, sa.and_(ref.c.target_type == resource.c.res_type, ref.c.target_id == resource.c.res_id))
        .where(
            ref.c.resource_pk.in_(list(members)),
            ref.c.target_type != "Patient",
            resource.c.deleted.is_(False),
        )
        .distinct()
    ).all()
    for other in referenced:
        members.setdefault(other.pk, other)
    wanted = set(types) if types else None
    out: list[StoredResource] = []
    for row in members.values():
        if wanted is not None and row.res_type not in wanted and row.pk != patient.pk:
            continue
        last_updated = utc(row.last_updated)
        if since is not None and last_updated < since and row.pk != patient.pk:
            continue
        out.append(
            StoredResource(
                str(row.res_type),
                str(row.res_id),
                int(row.version_id),
                last_updated,
                False,
                str(row.content).encode(),
            )
        )
        if len(out) >= limit:
            break
    return out
