"""``Patient/[id]/$everything``: the patient, every resource in their compartment, and what those reference.

Compartment membership comes from the R4 CompartmentDefinition (``_patient_compartment.py``): a resource
belongs when one of its listed reference parameters points at the patient. The reference index answers
that in one query; the resources they reference (practitioners, organizations, medications, locations)
follow in a second, as HAPI and Blaze do.

:func:`patient_record` adds the cold tier (``huitong.ops.archive``): the patient's resources that the archive
moved to Parquet, read on demand, and the resources those reference (live, or archived themselves). A
resource that is live again (re-created after archiving) is served from the live database only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from huitong.db.schema import BigKey, resource
from huitong.fhir import errors
from huitong.fhir.operations._patient_compartment import PATIENT_COMPARTMENT
from huitong.fhir.resource_types import RESOURCE_TYPES
from huitong.fhir.search.params import row_codes
from huitong.fhir.search.schema import search_reference
from huitong.fhir.stored import StoredResource, utc
from huitong.ops.archive import ArchivedVersion, patient_archive, read_current

#: (type, ``param`` of the reference rows) of the Patient compartment — the rows that hold each compartment
#: parameter (Encounter ``patient`` is held by ``subject`` rows; the queries keep references to a Patient).
_COMPARTMENT_PAIRS = sorted(
    {(rtype, code) for rtype, codes in PATIENT_COMPARTMENT.items() for code in row_codes(rtype, codes)}
)


def _pairs_sql(pairs: list[tuple[str, str]]) -> sa.TextClause:
    """``(res_type, param)`` of reference rows is one of ``pairs``: constant SQL text, so the ~100 compartment pairs
    are not bound as parameters on every execution. The names are the specification's (checked)."""
    if not all(re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", part) for pair in pairs for part in pair):
        raise ValueError(f"not a type or parameter name in {pairs}")
    values = ", ".join(f"('{rtype}', '{code}')" for rtype, code in pairs)
    return sa.text(f"(search_reference.res_type, search_reference.param) IN (VALUES {values})")


_IS_COMPARTMENT_PAIR = _pairs_sql(_COMPARTMENT_PAIRS)
_KEYS = (
    resource.c.pk,
    resource.c.res_type,
    resource.c.res_id,
    resource.c.version_id,
    resource.c.last_updated,
)
_COLUMNS = (*_KEYS, resource.c.content)


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
    wanted = set(types) if types else None
    # With _type, the members are found without their JSON and only the wanted ones' is read (a long stay's
    # thousands of administrations are not read for a page of results), and only members and referenced
    # resources of the wanted types are looked up: the members' keys stay in the database (a subquery), so a
    # lab-heavy record's thousands of results are never fetched to find the few resources they point at.
    columns = _KEYS if wanted is not None else _COLUMNS

    def of_type(column: sa.ColumnElement[str]) -> list[sa.ColumnElement[bool]]:
        return [column.in_(sorted(wanted))] if wanted is not None else []

    members: dict[int, Any] = {patient.pk: patient}
    for row in _compartment_rows(conn, patient_id, columns, where=of_type(resource.c.res_type)):
        members.setdefault(row.pk, row)
    referring = sa.union_all(_member_keys(patient_id), sa.select(sa.literal(patient.pk, BigKey)))
    targets = sa.select(ref.c.target_type, ref.c.target_id).where(
        ref.c.resource_pk.in_(referring.scalar_subquery()), ref.c.target_type != "Patient", *of_type(ref.c.target_type)
    )
    referenced = conn.execute(
        sa.select(*columns).where(
            sa.tuple_(resource.c.res_type, resource.c.res_id).in_(targets), resource.c.deleted.is_(False)
        )
    ).all()
    for other in referenced:
        members.setdefault(other.pk, other)
    chosen: list[Any] = []
    for row in members.values():
        if wanted is not None and row.res_type not in wanted and row.pk != patient.pk:
            continue
        if since is not None and utc(row.last_updated) < since and row.pk != patient.pk:
            continue
        chosen.append(row)
        if len(chosen) >= limit:
            break
    if wanted is None:
        return [_stored(row) for row in chosen]
    content = contents(conn, [row.pk for row in chosen if row.pk != patient.pk])
    content[patient.pk] = patient.content
    # a resource deleted between the two reads (PostgreSQL reads each statement afresh) is left out
    return [_stored(row, content[row.pk]) for row in chosen if content.get(row.pk) is not None]


def contents(conn: sa.Connection, pks: list[int]) -> dict[int, str]:
    """The JSON of the live resources ``pks`` (read in slices of 5,000 keys)."""
    out: dict[int, str] = {}
    for start in range(0, len(pks), 5000):
        part = pks[start : start + 5000]
        rows = conn.execute(
            sa.select(resource.c.pk, resource.c.content).where(
                resource.c.pk.in_(part), resource.c.deleted.is_(False), resource.c.content.is_not(None)
            )
        )
        out.update((int(pk), str(text)) for pk, text in rows)
    return out


@dataclass
class PatientRecord:
    """A patient's whole record: what the live database holds and what comes from the cold tier."""

    live: list[StoredResource] = field(default_factory=list)
    archived: list[StoredResource] = field(default_factory=list)

    @property
    def all(self) -> list[StoredResource]:
        """Live first (the Patient leads when it is live), then the archived resources."""
        return [*self.live, *self.archived]


def patient_record(
    conn: sa.Connection,
    patient_id: str,
    *,
    archive_dir: Path | None,
    since: datetime | None = None,
    types: Iterable[str] | None = None,
    limit: int = 10_000,
) -> PatientRecord:
    """:func:`patient_everything` plus the patient's archived resources (when ``archive_dir`` holds any).

    A patient that is itself archived (not in the live database) still has a record: its Patient comes from
    the archive, its live resources (written after the cut-off) from the database. 404 when neither has it.
    """
    wanted = list(types) if types else None
    archived = patient_archive(archive_dir, patient_id) if archive_dir is not None else []
    archived_patient = next((v for v in archived if v.res_type == "Patient" and v.res_id == patient_id), None)
    record = PatientRecord()
    try:
        record.live = patient_everything(conn, patient_id, since=since, types=wanted, limit=limit)
    except errors.FhirError:
        if archived_patient is None or _exists_live(conn, "Patient", patient_id):
            raise  # unknown, or deleted in the live database (the live state wins over the archive)
        record.live = _live_members(conn, patient_id, since=since, types=wanted, limit=limit)
    if not archived:
        return record
    have = {(s.res_type, s.res_id) for s in record.live}
    in_live = live_keys(conn, [(v.res_type, v.res_id) for v in archived])
    fresh = [v for v in archived if (v.res_type, v.res_id) not in have and (v.res_type, v.res_id) not in in_live]
    fresh.sort(key=lambda v: (v.res_type != "Patient", v.res_type, v.res_id))
    # What the archived resources refer to: live rows first, then the archive for the rest.
    refs = {key for v in fresh for key in _references(v.content)} - have - {(v.res_type, v.res_id) for v in fresh}
    refs.discard(("Patient", patient_id))
    referenced_live = _live_by_keys(conn, sorted(refs - {k for k in refs if k[0] == "Patient"}))
    record.live += [
        s
        for s in referenced_live
        if (s.res_type, s.res_id) not in have
        and (wanted is None or s.res_type in wanted)
        and (since is None or s.last_updated >= since)
    ][: max(limit - len(record.live), 0)]
    missing = refs - {(s.res_type, s.res_id) for s in referenced_live} - in_live
    others = read_current(archive_dir, sorted(k for k in missing if k[0] != "Patient")) if archive_dir else []
    room = max(limit - len(record.live), 0)
    for version in [*fresh, *others]:
        if len(record.archived) >= room:
            break
        stored = from_archive(version)
        is_patient = stored.res_type == "Patient" and stored.res_id == patient_id
        if wanted is not None and stored.res_type not in wanted and not is_patient:
            continue
        if since is not None and stored.last_updated < since and not is_patient:
            continue
        record.archived.append(stored)
    return record


def _exists_live(conn: sa.Connection, rtype: str, rid: str) -> bool:
    query = sa.select(resource.c.pk).where(resource.c.res_type == rtype, resource.c.res_id == rid)
    return conn.execute(query).first() is not None


def live_keys(conn: sa.Connection, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of ``keys`` have a row (deleted or not) in the live database."""
    found: set[tuple[str, str]] = set()
    for rtype in {k[0] for k in keys}:
        ids = sorted({rid for t, rid in keys if t == rtype})
        query = sa.select(resource.c.res_id).where(resource.c.res_type == rtype, resource.c.res_id.in_(ids))
        found.update((rtype, str(r[0])) for r in conn.execute(query))
    return found


def _live_by_keys(conn: sa.Connection, keys: list[tuple[str, str]]) -> list[StoredResource]:
    out: list[StoredResource] = []
    for rtype in sorted({k[0] for k in keys}):
        ids = sorted({rid for t, rid in keys if t == rtype})
        rows = conn.execute(
            sa.select(*_COLUMNS).where(
                resource.c.res_type == rtype, resource.c.res_id.in_(ids), resource.c.deleted.is_(False)
            )
        )
        out += [_stored(row) for row in rows]
    return out


def _live_members(
    conn: sa.Connection, patient_id: str, *, since: datetime | None, types: list[str] | None, limit: int
) -> list[StoredResource]:
    """The live compartment of a patient whose Patient resource is archived (no Patient row to start from)."""
    out: list[StoredResource] = []
    for row in _compartment_rows(conn, patient_id):
        stored = _stored(row)
        if (types is None or stored.res_type in types) and (since is None or stored.last_updated >= since):
            out.append(stored)
        if len(out) >= limit:
            break
    return out


def _member_keys(patient_id: str) -> sa.Select[Any]:
    """The keys of the resources in the patient's compartment: those whose reference rows of a compartment
    parameter of their type (R4 Patient compartment) point at the patient (the index holds rows of live resources
    only)."""
    ref = search_reference
    return sa.select(ref.c.resource_pk).where(
        ref.c.target_type == "Patient",
        ref.c.target_id == patient_id,
        _IS_COMPARTMENT_PAIR,
    )


def _compartment_rows(
    conn: sa.Connection, patient_id: str, columns: tuple[Any, ...] = _COLUMNS, *, where: Iterable[Any] = ()
) -> list[Any]:
    """The live resources in the patient's compartment, each once, by pk (``where``: further conditions)."""
    query = (
        sa.select(*columns)
        .where(resource.c.pk.in_(_member_keys(patient_id).scalar_subquery()), resource.c.deleted.is_(False), *where)
        .order_by(resource.c.pk)
    )
    return list(conn.execute(query).all())


def _stored(row: Any, content: str | None = None) -> StoredResource:
    text = row.content if content is None else content
    return StoredResource(
        str(row.res_type), str(row.res_id), int(row.version_id), utc(row.last_updated), False, str(text).encode()
    )


def from_archive(version: ArchivedVersion) -> StoredResource:
    """An archived version as the store's :class:`StoredResource` (current, not deleted)."""
    return StoredResource(
        version.res_type,
        version.res_id,
        version.version_id,
        utc(version.last_updated),
        False,
        (version.content or "{}").encode(),
    )


_REFERENCE = re.compile(r'"reference"\s*:\s*"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})"')


def _references(content: str | None) -> Iterator[tuple[str, str]]:
    """Relative ``Type/id`` references in a resource's JSON."""
    for match in _REFERENCE.finditer(content or ""):
        if match.group(1) in RESOURCE_TYPES:
            yield match.group(1), match.group(2)
