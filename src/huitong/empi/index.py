"""The index tables on one connection: records, persons, golden records and events.

Everything here runs inside a transaction the caller owns (a :class:`~huitong.fhir.transaction.Transaction`
for writes, :meth:`~huitong.db.Database.read` for reads), so a link, its golden-record update, its event
and its audit row commit together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson
import sqlalchemy as sa

from huitong.empi.block import BLOCKING_KEYS
from huitong.empi.errors import NotFoundError
from huitong.empi.golden import MemberRecord, golden_patient, retired_patient
from huitong.empi.normalise import NormalisedRecord, SourceRecord
from huitong.empi.protect import PLAIN, Sealer, sealer_of
from huitong.empi.schema import empi_event, empi_person, empi_record
from huitong.fhir.transaction import Transaction
from huitong.security.actor import Actor
from huitong.settings import EmpiSettings


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def source_json(record: SourceRecord, sealer: Sealer = PLAIN) -> str:
    """The source record as stored in ``empi_record.source`` (protected values sealed)."""
    return _dumps(sealer.seal_source(asdict(record)))


def source_dict(text: str, sealer: Sealer = PLAIN) -> dict[str, Any]:
    """A stored source record as a dict, protected values opened (for display)."""
    return sealer.open_source(orjson.loads(text))


def source_from_json(text: str, sealer: Sealer = PLAIN) -> SourceRecord:
    data = source_dict(text, sealer)
    updated = data.get("updated_at")
    data["updated_at"] = datetime.fromisoformat(updated) if updated else None
    return SourceRecord(**data)


def fields_from_json(text: str, sealer: Sealer = PLAIN, query: NormalisedRecord | None = None) -> NormalisedRecord:
    """Stored standardised fields as a record, to score against ``query`` (see :mod:`~huitong.empi.protect`)."""
    return sealer.open_fields(orjson.loads(text), query)


def lock_keys(conn: sa.Connection, record: NormalisedRecord, sealer: Sealer = PLAIN) -> None:
    """On PostgreSQL, serialise concurrent links that share a blocking key (no-op on SQLite's single writer).

    Two registrations of one person share at least one key, so the second waits for the first to commit
    and then finds it as a candidate instead of creating a second person. Locks are taken in a fixed order.
    """
    lock_all_keys(conn, [record], sealer)


def lock_all_keys(conn: sa.Connection, records: Sequence[NormalisedRecord], sealer: Sealer = PLAIN) -> None:
    """:func:`lock_keys` for many records at once, all their keys in one sorted order (a batch of messages that
    links many patients takes its locks up front, so two batches cannot deadlock on keys they share)."""
    if conn.dialect.name != "postgresql" or not records:
        return
    values: set[str] = set()
    for record in records:
        values |= {f"{k}={v}" for k, v in sealer.keys(record).items() if v} | {f"rec={record.unique_id}"}
    conn.execute(_LOCK_KEYS, {"b_values": sorted(values)})


#: PostgreSQL evaluates the volatile lock function after the sort, so the locks are taken in key order.
_LOCK_KEYS = sa.text(
    "SELECT pg_advisory_xact_lock(hashtextextended(v, 0)) FROM unnest(CAST(:b_values AS text[])) AS v ORDER BY v"
)


@cache
def _candidate_query() -> sa.TextClause:
    keys = " OR ".join(f"{key.column} = :{key.column}" for key in BLOCKING_KEYS)
    return sa.text(
        f"SELECT record_key, person_id, fields FROM empi_record WHERE ({keys}) AND record_key <> :me LIMIT :limit"  # noqa: S608 - fixed column names
    )


def find_candidates(conn: sa.Connection, record: NormalisedRecord, per_key: int, sealer: Sealer = PLAIN) -> list[Any]:
    """Index records sharing at least one blocking key with ``record`` (itself excluded).

    One statement with an OR of the indexed key columns: SQLite answers it with a MULTI-INDEX OR and
    PostgreSQL with a BitmapOr, a few index probes either way. A missing key is bound as NULL (never equal).
    """
    keys = sealer.keys(record)
    if not any(keys.values()):
        return []
    params: dict[str, Any] = {**keys, "me": record.unique_id, "limit": per_key * len(BLOCKING_KEYS)}
    return list(conn.execute(_candidate_query(), params).all())


#: Statements built once: the real-time link runs them for every Patient an HL7 message brings.
_RECORD = sa.select(empi_record).where(empi_record.c.record_key == sa.bindparam("b_key"))
_PERSON = sa.select(empi_person).where(empi_person.c.person_id == sa.bindparam("b_pid"))
_MEMBER_COLUMNS = (empi_record.c.person_id, empi_record.c.source, empi_record.c.patient_id, empi_record.c.fields)
#: The persons and members of many persons at once (:func:`refresh_goldens`), members in the order they were indexed.
_PERSONS = sa.select(empi_person).where(empi_person.c.person_id.in_(sa.bindparam("b_pids", expanding=True)))
_MEMBERS_OF_MANY = (
    sa.select(*_MEMBER_COLUMNS)
    .where(empi_record.c.person_id.in_(sa.bindparam("b_pids", expanding=True)))
    .order_by(empi_record.c.pk)
)
_NEW_PERSON = empi_person.insert()
_NEW_RECORD = empi_record.insert()


def record_row(conn: sa.Connection, record_key: str) -> sa.Row[Any] | None:
    return conn.execute(_RECORD, {"b_key": record_key}).first()


def require_record(conn: sa.Connection, record_key: str) -> sa.Row[Any]:
    row = record_row(conn, record_key)
    if row is None:
        raise NotFoundError(f"record {record_key!r} is not in the index")
    return row


def person_row(conn: sa.Connection, person_id: str) -> sa.Row[Any] | None:
    return conn.execute(_PERSON, {"b_pid": person_id}).first()


def require_person(conn: sa.Connection, person_id: str) -> sa.Row[Any]:
    row = person_row(conn, person_id)
    if row is None:
        raise NotFoundError(f"person {person_id!r} does not exist")
    return row


def record_keys_of(conn: sa.Connection, person_id: str) -> list[str]:
    query = sa.select(empi_record.c.record_key).where(empi_record.c.person_id == person_id)
    return sorted(conn.execute(query.order_by(empi_record.c.record_key)).scalars())


def new_person(conn: sa.Connection, *, person_id: str | None = None) -> str:
    person = person_id or str(uuid.uuid4())
    now = datetime.now(UTC)
    conn.execute(
        _NEW_PERSON,
        {"person_id": person, "golden_patient_id": person, "status": "active", "created_at": now, "updated_at": now},
    )
    return person


def insert_record(
    conn: sa.Connection,
    source: SourceRecord,
    fields: NormalisedRecord,
    person_id: str,
    *,
    link_kind: str,
    probability: float | None,
    patient_id: str | None,
    sealer: Sealer = PLAIN,
) -> None:
    conn.execute(
        _NEW_RECORD,
        record_values(source, fields, person_id, link_kind=link_kind, probability=probability,
                      patient_id=patient_id, sealer=sealer),
    )  # fmt: skip


def record_values(
    source: SourceRecord,
    fields: NormalisedRecord,
    person_id: str,
    *,
    link_kind: str,
    probability: float | None,
    patient_id: str | None,
    sealer: Sealer = PLAIN,
) -> dict[str, Any]:
    """The ``empi_record`` row of a record (for one insert, or many in one ``executemany``)."""
    return {
        "record_key": fields.unique_id,
        "source_system": source.source_system,
        "record_id": source.record_id,
        "person_id": person_id,
        "patient_id": patient_id,
        "link_kind": link_kind,
        "match_probability": probability,
        "updated_at": source.updated_at or datetime.now(UTC),
        "source": source_json(source, sealer),
        "fields": _dumps(sealer.seal_fields(fields)),
        **sealer.keys(fields),
    }


def update_record(
    conn: sa.Connection,
    source: SourceRecord,
    fields: NormalisedRecord,
    patient_id: str | None,
    sealer: Sealer = PLAIN,
) -> None:
    values: dict[str, Any] = {
        "updated_at": source.updated_at or datetime.now(UTC),
        "source": source_json(source, sealer),
        "fields": _dumps(sealer.seal_fields(fields)),
        **sealer.keys(fields),
    }
    if patient_id:
        values["patient_id"] = patient_id
    conn.execute(empi_record.update().where(empi_record.c.record_key == fields.unique_id).values(**values))


def move_records(conn: sa.Connection, record_keys: list[str], person_id: str, *, link_kind: str) -> None:
    if record_keys:
        conn.execute(
            empi_record.update()
            .where(empi_record.c.record_key.in_(record_keys))
            .values(person_id=person_id, link_kind=link_kind)
        )


def set_person_status(conn: sa.Connection, person_id: str, status: str, merged_into: str | None) -> None:
    conn.execute(
        empi_person.update()
        .where(empi_person.c.person_id == person_id)
        .values(status=status, merged_into=merged_into, updated_at=datetime.now(UTC))
    )


def _member(row: Any, sealer: Sealer) -> MemberRecord:  # a row of _MEMBER_COLUMNS
    return MemberRecord(
        source_from_json(row.source, sealer), row.patient_id, bool(orjson.loads(row.fields).get("id_valid"))
    )


def refresh_golden(tx: Transaction, person_id: str, settings: EmpiSettings) -> None:
    """Rewrite the golden Patient of ``person_id`` from its records (no new version if nothing changed)."""
    refresh_goldens(tx, [person_id], settings)


def refresh_goldens(tx: Transaction, person_ids: Iterable[str], settings: EmpiSettings) -> None:
    """Rewrite the golden Patients of ``person_ids`` (each once, in id order): new ones created under the person's
    id (whether or not the FHIR API allows update-as-create), the others updated with one ``put_many`` — a batch
    of linked records costs one write of each golden Patient however many of its records it linked."""
    ids = sorted(set(person_ids))
    persons: dict[str, sa.Row[Any]] = {}
    members: dict[str, list[MemberRecord]] = {person_id: [] for person_id in ids}
    sealer = sealer_of(tx)
    for start in range(0, len(ids), 500):  # the persons and their records in two statements, not two per person
        part = {"b_pids": ids[start : start + 500]}
        persons.update((row.person_id, row) for row in tx.conn.execute(_PERSONS, part))
        for row in tx.conn.execute(_MEMBERS_OF_MANY, part):
            members[row.person_id].append(_member(row, sealer))
    absent = set(tx.absent([("Patient", person_id) for person_id in ids]))
    new: list[dict[str, Any]] = []
    known: list[dict[str, Any]] = []
    for person_id in ids:
        person = persons.get(person_id)
        if person is None:
            raise NotFoundError(f"person {person_id!r} does not exist")
        body = _golden_of(person_id, person, members[person_id], settings)
        (new if ("Patient", person_id) in absent else known).append(body)
    if new:
        tx.create_many(new, ids=[body["id"] for body in new])
    if known:
        tx.put_many(known)


def _golden_of(
    person_id: str, person: sa.Row[Any], members: Sequence[MemberRecord], settings: EmpiSettings
) -> dict[str, Any]:
    """The golden Patient of a person as its records (in the order they were indexed) make it; a retired one after
    a merge."""
    if person.status == "merged":
        return retired_patient(person_id, person.merged_into)
    body = golden_patient(person_id, members, settings)
    if not body.get("identifier"):
        body["active"] = False  # a person without records (all moved away)
    return body


def acting_person(actor: Actor) -> str:
    """Who decided: the user a system actor acts for (the review page writes as ``system:empi``), or the actor."""
    return actor.on_behalf_of or actor.id


def record_event(
    conn: sa.Connection,
    actor: Actor,
    action: str,
    *,
    reason: str | None,
    record_key: str | None = None,
    person_id: str | None = None,
    other_person_id: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append to ``empi_event``: who, when, what, why, and the state before and after."""
    conn.execute(
        empi_event.insert(),
        {
            "recorded": datetime.now(UTC),
            "actor_id": acting_person(actor),
            "action": action,
            "reason": reason,
            "record_key": record_key,
            "person_id": person_id,
            "other_person_id": other_person_id,
            "before": None if before is None else _dumps(before),
            "after": None if after is None else _dumps(after),
        },
    )
