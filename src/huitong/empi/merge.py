"""Changing who is who: link, unlink, merge, un-merge and HL7 ``ADT^A40`` merges.

Each operation runs in the caller's write transaction (:meth:`ResourceStore.transaction`), rewrites the
golden Patients it touches through that transaction (so the FHIR history holds every version and the audit
trail names the actor) and appends an ``empi_event`` row with the actor, the reason and the state before
and after — the record keys of each person involved. Un-merge reads the merge's event to put back exactly
the records the merged person had.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa

from huitong.empi import index
from huitong.empi.errors import ConflictError, NotFoundError
from huitong.empi.schema import empi_event, empi_record
from huitong.fhir.transaction import Transaction
from huitong.settings import EmpiSettings


def _state(conn: sa.Connection, *person_ids: str) -> dict[str, list[str]]:
    return {p: index.record_keys_of(conn, p) for p in person_ids}


def link(tx: Transaction, settings: EmpiSettings, record_key: str, person_id: str, reason: str) -> None:
    """Move one record to ``person_id`` (a manual link); its former person keeps its other records."""
    conn = tx.conn
    row = index.require_record(conn, record_key)
    target = index.require_person(conn, person_id)
    if target.status != "active":
        raise ConflictError(f"person {person_id} was merged into {target.merged_into}; link to that person")
    former = row.person_id
    if former == person_id:
        return
    before = _state(conn, former, person_id)
    index.move_records(conn, [record_key], person_id, link_kind="manual")
    index.refresh_golden(tx, former, settings)
    index.refresh_golden(tx, person_id, settings)
    index.record_event(
        conn, tx.actor, "link", reason=reason, record_key=record_key, person_id=person_id,
        other_person_id=former, before=before, after=_state(conn, former, person_id),
    )  # fmt: skip


def unlink(tx: Transaction, settings: EmpiSettings, record_key: str, reason: str) -> str:
    """Take one record out of its person into a new person of its own; returns the new person id."""
    conn = tx.conn
    row = index.require_record(conn, record_key)
    former = row.person_id
    before = _state(conn, former)
    person_id = index.new_person(conn)
    index.move_records(conn, [record_key], person_id, link_kind="manual")
    index.refresh_golden(tx, former, settings)
    index.refresh_golden(tx, person_id, settings)
    index.record_event(
        conn, tx.actor, "unlink", reason=reason, record_key=record_key, person_id=person_id,
        other_person_id=former, before=before, after=_state(conn, former, person_id),
    )  # fmt: skip
    return person_id


def merge(
    tx: Transaction, settings: EmpiSettings, surviving: str, merged: str, reason: str, *, action: str = "merge"
) -> None:
    """Merge person ``merged`` into ``surviving``: all its records move, it becomes inactive, replaced-by."""
    conn = tx.conn
    if surviving == merged:
        raise ConflictError("a person cannot be merged into itself")
    for person_id in (surviving, merged):
        if index.require_person(conn, person_id).status != "active":
            raise ConflictError(f"person {person_id} is not active (already merged)")
    before = _state(conn, surviving, merged)
    index.move_records(conn, before[merged], surviving, link_kind="merge")
    index.set_person_status(conn, merged, "merged", surviving)
    index.refresh_golden(tx, surviving, settings)
    index.refresh_golden(tx, merged, settings)
    index.record_event(
        conn, tx.actor, action, reason=reason, person_id=merged, other_person_id=surviving,
        before=before, after=_state(conn, surviving, merged),
    )  # fmt: skip


def unmerge(tx: Transaction, settings: EmpiSettings, merged: str, reason: str) -> str:
    """Undo the last merge of ``merged``: it becomes active again with the records it had; returns the survivor."""
    conn = tx.conn
    person = index.require_person(conn, merged)
    if person.status != "merged" or not person.merged_into:
        raise ConflictError(f"person {merged} is not merged")
    event = conn.execute(
        sa.select(empi_event.c.before, empi_event.c.other_person_id)
        .where(empi_event.c.person_id == merged, empi_event.c.action.in_(("merge", "a40", "review-accept")))
        .order_by(empi_event.c.seq.desc())
        .limit(1)
    ).first()
    if event is None:
        raise NotFoundError(f"no merge of person {merged} is recorded")
    surviving: str = person.merged_into
    had: list[str] = orjson.loads(event.before).get(merged, [])
    still_there = [k for k in had if k in set(index.record_keys_of(conn, surviving))]
    before = _state(conn, surviving, merged)
    index.move_records(conn, still_there, merged, link_kind="manual")
    index.set_person_status(conn, merged, "active", None)
    index.refresh_golden(tx, surviving, settings)
    index.refresh_golden(tx, merged, settings)
    index.record_event(
        conn, tx.actor, "unmerge", reason=reason, person_id=merged, other_person_id=surviving,
        before=before, after=_state(conn, surviving, merged),
    )  # fmt: skip
    return surviving


def apply_a40(
    tx: Transaction,
    settings: EmpiSettings,
    surviving: tuple[str, str],
    merged: tuple[str, str],
    reason: str = "ADT^A40",
) -> dict[str, Any]:
    """Apply an ``ADT^A40`` (merge patient, identifier list): ``merged`` record's person joins ``surviving``'s.

    Both identifiers are ``(source_system, record_id)`` — PID-3 of the surviving record and MRG-1 of the
    merged one. Returns ``{"person_id": survivor, "merged_person_id": … or None}``.
    """
    conn = tx.conn
    keep = index.require_record(conn, f"{surviving[0]}|{surviving[1]}")
    gone = index.require_record(conn, f"{merged[0]}|{merged[1]}")
    if keep.person_id == gone.person_id:
        index.record_event(conn, tx.actor, "a40", reason=f"{reason} (already one person)", record_key=gone.record_key,
                           person_id=keep.person_id)  # fmt: skip
        return {"person_id": keep.person_id, "merged_person_id": None}
    merge(tx, settings, keep.person_id, gone.person_id, reason, action="a40")
    conn.execute(empi_record.update().where(empi_record.c.record_key == gone.record_key).values(link_kind="a40"))
    return {"person_id": keep.person_id, "merged_person_id": gone.person_id}
