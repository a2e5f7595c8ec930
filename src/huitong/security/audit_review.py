"""The auditor's tools: search the audit trail, export it, and the access-anomaly report.

The anomaly report looks at successful reads in a window and flags:

- ``many_patients``: a user who read the records of more distinct patients in one day than
  ``HUITONG_AUDIT__ANOMALY_READS_PER_DAY``;
- ``vip``: every read of a patient tagged VIP (``meta.security`` or ``meta.tag`` code ``HUITONG_AUDIT__VIP_TAG``);
- ``colleague``: reads of the record of a member of staff (a staff account whose ``patient_id`` names their own
  patient record) by another member of staff;
- ``break_glass``: break-the-glass grants not yet reviewed.

Which patient a read touched comes from the patient links the access policy keeps (``sec_resource_patient``).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa

from huitong.db import Database
from huitong.db.schema import resource
from huitong.security.schema import audit_log, sec_break_glass, sec_resource_patient, sec_user
from huitong.settings import AuditSettings

CSV_COLUMNS = (
    "seq",
    "recorded",
    "action",
    "interaction",
    "outcome",
    "outcome_desc",
    "actor_id",
    "actor_role",
    "on_behalf_of",
    "source_address",
    "purpose_of_use",
    "request_id",
    "entity_type",
    "entity_id",
    "entity_version",
    "query",
    "hash",
)


def search_audit(
    db: Database,
    *,
    actor_id: str = "",
    entity: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[sa.Row[Any]]:
    """Audit rows newest first, filtered by actor, entity (``Patient/123`` or ``Patient``) and time.

    Newest by ``recorded`` (then ``seq``), so the ``(actor_id, recorded)`` and ``recorded`` indexes give the rows
    in order: an actor with millions of rows costs a seek, not a sort of all of them.
    """
    a = audit_log
    query = sa.select(a).order_by(a.c.recorded.desc(), a.c.seq.desc()).limit(limit)
    if actor_id:
        query = query.where(a.c.actor_id == actor_id)
    if entity:
        rtype, _, rid = entity.partition("/")
        query = query.where(a.c.entity_type == rtype)
        if rid:
            query = query.where(a.c.entity_id == rid)
    if since is not None:
        query = query.where(a.c.recorded >= since)
    if until is not None:
        query = query.where(a.c.recorded < until)
    with db.read() as conn:
        return list(conn.execute(query).all())


def to_csv(rows: list[sa.Row[Any]]) -> str:
    """The rows as CSV (UTF-8 with BOM, so spreadsheet programs show Chinese names correctly)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        m = r._mapping
        writer.writerow(["" if m[c] is None else str(m[c]) for c in CSV_COLUMNS])
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Finding:
    actor_id: str
    detail: str
    count: int


def _reads_with_patients(conn: sa.Connection, since: datetime, until: datetime) -> list[Any]:
    a = audit_log
    return list(
        conn.execute(
            sa.select(a.c.actor_id, a.c.actor_role, a.c.recorded, sec_resource_patient.c.patient_id)
            .select_from(
                a.join(
                    resource, sa.and_(resource.c.res_type == a.c.entity_type, resource.c.res_id == a.c.entity_id)
                ).join(sec_resource_patient, sec_resource_patient.c.resource_pk == resource.c.pk)
            )
            .where(a.c.action == "R", a.c.outcome == "0", a.c.recorded >= since, a.c.recorded < until)
        ).all()
    )


def _vip_patients(conn: sa.Connection, tag: str) -> set[str]:
    rows = conn.execute(
        sa.select(resource.c.res_id, resource.c.content).where(
            resource.c.res_type == "Patient", resource.c.deleted.is_(False), resource.c.content.contains(tag)
        )
    )
    out: set[str] = set()
    for rid, content in rows:
        meta = orjson.loads(content).get("meta") or {}
        codes = [c.get("code") for c in (meta.get("security") or []) + (meta.get("tag") or []) if isinstance(c, dict)]
        if tag in codes:
            out.add(rid)
    return out


def anomaly_report(db: Database, settings: AuditSettings, since: datetime, until: datetime) -> dict[str, list[Finding]]:
    """The findings of each kind (see the module docstring) for reads recorded in ``[since, until)``."""
    with db.read() as conn:
        reads = _reads_with_patients(conn, since, until)
        vips = _vip_patients(conn, settings.vip_tag)
        staff_patients = {
            r.patient_id: r.user_id
            for r in conn.execute(
                sa.select(sec_user.c.user_id, sec_user.c.patient_id).where(
                    sec_user.c.patient_id.is_not(None), sec_user.c.role != "patient"
                )
            )
        }
        open_grants = conn.execute(
            sa.select(sec_break_glass)
            .where(sec_break_glass.c.reviewed_at.is_(None))
            .order_by(sec_break_glass.c.grant_id)
        ).all()
    per_day: dict[tuple[str, str], set[str]] = defaultdict(set)
    vip_reads: dict[tuple[str, str], int] = defaultdict(int)
    colleague_reads: dict[tuple[str, str], int] = defaultdict(int)
    for r in reads:
        if r.actor_role == "patient" or r.actor_id.startswith(("system:", "client:")):
            continue
        day = str(r.recorded)[:10]
        per_day[(r.actor_id, day)].add(r.patient_id)
        if r.patient_id in vips:
            vip_reads[(r.actor_id, r.patient_id)] += 1
        owner = staff_patients.get(r.patient_id)
        if owner is not None and f"user:{owner}" != r.actor_id:
            colleague_reads[(r.actor_id, f"{owner} (Patient/{r.patient_id})")] += 1
    limit = settings.anomaly_reads_per_day
    return {
        "many_patients": [
            Finding(actor, f"{day}", len(patients))
            for (actor, day), patients in sorted(per_day.items())
            if len(patients) > limit
        ],
        "vip": [Finding(actor, f"Patient/{pid}", n) for (actor, pid), n in sorted(vip_reads.items())],
        "colleague": [Finding(actor, detail, n) for (actor, detail), n in sorted(colleague_reads.items())],
        "break_glass": [Finding(f"user:{g.user_id}", f"Patient/{g.patient_id}: {g.reason}", 1) for g in open_grants],
    }
