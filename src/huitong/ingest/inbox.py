"""The message store (inbox): every message received, its raw bytes and what became of it.

:func:`insert_batch` is the one write the MLLP listener makes before it acknowledges: many messages in one
job, so one disk sync covers them all (group commit). A repeated control id per sender (MSH-3, MSH-4,
MSH-10) of an accepted message is recognised there and reported as a duplicate instead of stored again.
The pipeline reads ``received`` rows with :func:`pending`, and records each outcome with
:func:`mark` in the same transaction as the resources it wrote. Operators search with :func:`search`,
list the dead letters (:func:`dead_letters`) and :func:`replay` messages, which puts them back to
``received``; :func:`purge` enforces the retention setting.

Built for a hospital's volume (tens of millions of messages): the search by patient identifier reads the index
``ingest_message_patient``, which the pipeline's marks fill (so receiving writes nothing more before its ACK), and
the messages still queued. The totals per channel and status are in :mod:`huitong.ingest.tally`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from huitong.db import Database
from huitong.db.bulk import insert_ignoring_conflicts
from huitong.ingest import tally
from huitong.ingest.hl7v2.message import Message
from huitong.ingest.schema import (
    ERROR,
    FILTERED,
    RECEIVED,
    STATUSES,
    UNSUPPORTED,
    ingest_message,
    ingest_message_patient,
)

DEAD = (ERROR, UNSUPPORTED)

_ID_MAX = 255  # characters of a patient identifier kept in the search index (``ingest_message_patient``)


def patient_ids_of(msg: Message) -> str | None:
    """The PID-3 identifiers (first component) of ``msg``, space-separated with spaces inside one as ``_``."""
    ids = [rep.get(1) for pid in msg.segments("PID") for rep in pid.repetitions(3)]
    return " ".join(i.replace(" ", "_") for i in ids if i) or None


def id_tokens(patient_ids: str | None) -> list[str]:
    """The identifiers of a ``patient_ids`` value as the search index keeps them (each once, in order)."""
    return list(dict.fromkeys(token[:_ID_MAX] for token in patient_ids.split())) if patient_ids else []


@dataclass(slots=True)
class Incoming:
    """A message as received, with what its MSH says; ``error`` is set when it was refused on receipt."""

    raw: bytes
    channel: str
    sender_app: str = ""
    sender_facility: str = ""
    control_id: str = ""
    message_type: str = ""
    version: str = ""
    charset: str = ""
    patient_ids: str | None = None
    ack_code: str = "AA"
    error: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def accepted(self) -> bool:
        return self.ack_code == "AA"


@dataclass(frozen=True, slots=True)
class Stored:
    """The outcome of :func:`insert_batch` for one message: stored, or a repeat of an accepted one."""

    duplicate: bool = False
    original_id: int | None = None


@dataclass(frozen=True, slots=True)
class MessageRow:
    """One row of the store, as searched or handed to the pipeline."""

    id: int
    received_at: datetime
    channel: str
    sender_app: str
    sender_facility: str
    control_id: str | None
    message_type: str
    version: str
    status: str
    ack_code: str
    error: str | None
    resources: list[str]
    attempts: int
    processed_at: datetime | None
    patient_ids: str | None
    raw: bytes | None = None

    def as_json(self, *, with_raw: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "channel": self.channel,
            "sender_app": self.sender_app,
            "sender_facility": self.sender_facility,
            "control_id": self.control_id,
            "message_type": self.message_type,
            "version": self.version,
            "status": self.status,
            "ack_code": self.ack_code,
            "error": self.error,
            "resources": self.resources,
            "attempts": self.attempts,
            "processed_at": self.processed_at.isoformat() if self.processed_at else None,
            "patient_ids": self.patient_ids.split() if self.patient_ids else [],
        }
        if with_raw and self.raw is not None:
            out["raw"] = self.raw.decode("utf-8", "replace").replace("\r", "\n")
        return out


def insert_batch(conn: sa.Connection, batch: Sequence[Incoming]) -> list[Stored]:
    """Store ``batch`` (one write job); repeats of accepted messages are reported, not stored again.

    On SQLite the rows go in through the writer's own sqlite3 connection, 64 to a multi-row
    ``INSERT … ON CONFLICT DO NOTHING RETURNING``: the unique key itself finds repeats, with no look-up before the
    insert (only after it, when it stored fewer rows than it was given) and no SQLAlchemy statement built per batch.
    PostgreSQL looks the control ids up first and inserts the new rows in one statement. (The patient index is
    written later, by the pipeline's marks: nothing more is written before the ACK.)
    """
    if conn.dialect.name == "sqlite":
        return _insert_batch_sqlite(conn, batch)
    t = ingest_message
    by_sender: dict[tuple[str, str], set[str]] = {}
    for m in batch:
        if m.accepted and m.control_id:
            by_sender.setdefault((m.sender_app[:227], m.sender_facility[:227]), set()).add(m.control_id[:199])
    existing: dict[tuple[str, str, str], int] = {}
    for (app, facility), controls in by_sender.items():
        wanted = list(controls)
        for start in range(0, len(wanted), 500):
            rows = conn.execute(
                sa.select(t.c.id, t.c.dedup_key).where(
                    t.c.sender_app == app,
                    t.c.sender_facility == facility,
                    t.c.dedup_key.in_(wanted[start : start + 500]),
                )
            ).all()
            existing.update({(app, facility, r.dedup_key): r.id for r in rows})
    results: list[Stored] = []
    new_rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for m in batch:
        dedup = m.control_id[:199] if m.accepted and m.control_id else None
        if dedup is not None:
            key = (m.sender_app[:227], m.sender_facility[:227], dedup)
            if key in existing or key in seen:
                results.append(Stored(duplicate=True, original_id=existing.get(key)))
                continue
            seen.add(key)
        results.append(Stored())
        new_rows.append(_row(m, dedup))
    if new_rows:
        _insert(conn, new_rows)
    return results


_SQLITE_COLUMNS = (
    "received_at", "channel", "sender_app", "sender_facility", "control_id", "dedup_key", "message_type", "version",
    "charset", "patient_ids", "raw", "ack_code", "status", "error", "attempts",
)  # fmt: skip
_STORED = Stored()
_SQLITE_ROWS_MAX = 64  # rows per statement: 64 × 15 parameters stays under every SQLite build's limit (999)
_SQLITE_ROW = f"({', '.join('?' * len(_SQLITE_COLUMNS))})"
_SQLITE_ORIGINAL = "SELECT id FROM ingest_message WHERE sender_app = ? AND sender_facility = ? AND dedup_key = ?"
_SQLITE_STAMP = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's SQLite DateTime stores a moment (UTC, no offset)


def _sqlite_insert(rows: int) -> str:
    """``INSERT … VALUES (…), (…) … ON CONFLICT DO NOTHING RETURNING`` for ``rows`` rows (sqlite3 caches them)."""
    values = ", ".join([_SQLITE_ROW] * rows)
    return (
        f"INSERT INTO ingest_message ({', '.join(_SQLITE_COLUMNS)}) VALUES {values} "  # noqa: S608 - fixed names
        "ON CONFLICT DO NOTHING RETURNING id"
    )


def _insert_batch_sqlite(conn: sa.Connection, batch: Sequence[Incoming]) -> list[Stored]:
    """One multi-row statement per 64 messages. When it stored every row (the usual case) nothing else runs;
    when the unique key refused some (repeated control ids), each accepted message's row is looked up: an id the
    statement returned means stored, any other is the original."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        results: list[Stored] = []
        rows: list[tuple[Any, ...]] = []
        row_keys: list[tuple[str, str, str] | None] = []  # per row: its dedup key, if accepted
        row_result: list[int] = []  # per row: its place in ``results``
        seen: set[tuple[str, str, str]] = set()
        for m in batch:
            app, facility = m.sender_app[:227], m.sender_facility[:227]
            dedup = m.control_id[:199] if m.accepted and m.control_id else None
            key = None
            if dedup is not None:
                key = (app, facility, dedup)
                if key in seen:  # repeated within this batch: the first one is being stored
                    results.append(Stored(duplicate=True))
                    continue
                seen.add(key)
            at = m.received_at
            rows.append(
                (
                    (at.astimezone(UTC) if at.tzinfo is not None else at).strftime(_SQLITE_STAMP),
                    m.channel[:64], app, facility, m.control_id[:199] or None, dedup, m.message_type[:32],
                    m.version[:16], m.charset[:32], m.patient_ids, m.raw, m.ack_code,
                    RECEIVED if m.accepted else ERROR, m.error, 0,
                )
            )  # fmt: skip
            row_keys.append(key)
            row_result.append(len(results))
            results.append(_STORED)
        for start in range(0, len(rows), _SQLITE_ROWS_MAX):
            part = rows[start : start + _SQLITE_ROWS_MAX]
            stored = cursor.execute(_sqlite_insert(len(part)), [v for row in part for v in row]).fetchall()
            if len(stored) == len(part):
                continue
            new_ids = {int(r[0]) for r in stored}
            for i in range(start, start + len(part)):
                key = row_keys[i]
                if key is None:
                    continue
                found = cursor.execute(_SQLITE_ORIGINAL, key).fetchone()
                if found is not None and int(found[0]) not in new_ids:
                    results[row_result[i]] = Stored(duplicate=True, original_id=int(found[0]))
        return results
    finally:
        cursor.close()


def _row(m: Incoming, dedup: str | None) -> dict[str, Any]:
    return {
        "received_at": m.received_at,
        "channel": m.channel[:64],
        "sender_app": m.sender_app[:227],
        "sender_facility": m.sender_facility[:227],
        "control_id": m.control_id[:199] or None,
        "dedup_key": dedup,
        "message_type": m.message_type[:32],
        "version": m.version[:16],
        "charset": m.charset[:32],
        "patient_ids": m.patient_ids,
        "raw": m.raw,
        "ack_code": m.ack_code,
        "status": RECEIVED if m.accepted else ERROR,
        "error": m.error,
        "attempts": 0,
    }


def _insert(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """The new rows (PostgreSQL)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    conn.execute(pg_insert(ingest_message).on_conflict_do_nothing(), rows)


def _pairs(stored: Iterable[tuple[int, str | None]]) -> list[tuple[str, int]]:
    """``(patient_id, message_id)`` for every identifier of the stored ``(id, patient_ids)`` rows."""
    return [(token, int(message_id)) for message_id, ids in stored if ids for token in id_tokens(ids)]


#: Removes ``(patient_id, message_id)`` pairs (parameters ``p`` and ``m``) from the search index.
_UNINDEX = ingest_message_patient.delete().where(
    ingest_message_patient.c.patient_id == sa.bindparam("p"), ingest_message_patient.c.message_id == sa.bindparam("m")
)


def _index_patients(conn: sa.Connection, pairs: list[tuple[str, int]]) -> None:
    """Add ``(patient_id, message_id)`` pairs to the search index through SQLAlchemy (either backend)."""
    if not pairs:
        return
    statement = insert_ignoring_conflicts(conn, ingest_message_patient)
    conn.execute(statement, [{"patient_id": p, "message_id": m} for p, m in pairs])


def pending(db: Database, *, limit: int, exclude: Iterable[int] = ()) -> list[MessageRow]:
    """The oldest ``received`` messages (raw bytes included), not counting ids in ``exclude``."""
    skip = set(exclude)
    t = ingest_message
    with db.read() as conn:  # ids first: the messages in flight are skipped without reading their bytes
        ids = conn.execute(sa.select(t.c.id).where(t.c.status == RECEIVED).order_by(t.c.id).limit(limit + len(skip)))
        chosen = [i for i in ids.scalars() if i not in skip][:limit]
        if not chosen:
            return []
        rows = conn.execute(sa.select(t).where(t.c.id.in_(chosen)).order_by(t.c.id)).all()
    return [_message(r, with_raw=True) for r in rows]


def mark(
    conn: sa.Connection,
    message_id: int,
    status: str,
    *,
    error: str | None = None,
    resources: Sequence[str] = (),
    patient_ids: str | None = None,
) -> None:
    """Record the pipeline's outcome for one message (inside the caller's transaction)."""
    mark_many(conn, [Mark(message_id, status, error, tuple(resources), patient_ids)])


@dataclass(frozen=True, slots=True)
class Mark:
    """The pipeline's outcome for one message, as :func:`mark_many` records it."""

    message_id: int
    status: str
    error: str | None = None
    resources: tuple[str, ...] = ()
    patient_ids: str | None = None  # None keeps the ids recorded on receipt; give them only when they differ


_MARK = (
    ingest_message.update()
    .where(ingest_message.c.id == sa.bindparam("b_id"))
    .values(
        status=sa.bindparam("b_status"),
        error=sa.bindparam("b_error"),
        resources=sa.bindparam("b_resources"),
        attempts=ingest_message.c.attempts + 1,
        processed_at=sa.bindparam("b_at"),
        patient_ids=sa.func.coalesce(sa.bindparam("b_patients", type_=sa.String), ingest_message.c.patient_ids),
    )
)


def mark_many(conn: sa.Connection, marks: Sequence[Mark]) -> None:
    """Record the outcomes of many messages with one statement (inside the caller's transaction)."""
    if not marks:
        return
    now = datetime.now(UTC)
    for m in marks:
        if m.status not in STATUSES:
            raise ValueError(f"unknown message status {m.status!r}")
    _index_marked(conn, {m.message_id: m.patient_ids for m in marks})
    resources = [json.dumps(list(m.resources)) if m.resources else None for m in marks]
    if conn.dialect.name == "postgresql" and len(marks) > 1:  # one statement: its trigger fires once, not per row
        columns = {
            "ids": [m.message_id for m in marks],
            "statuses": [m.status for m in marks],
            "errors": [m.error for m in marks],
            "resources": resources,
            "patients": [m.patient_ids for m in marks],
        }
        conn.execute(_MARK_UNNEST, {**columns, "at": now})
        return
    conn.execute(
        _MARK,
        [
            {"b_id": m.message_id, "b_status": m.status, "b_error": m.error, "b_resources": r, "b_at": now,
             "b_patients": m.patient_ids}
            for m, r in zip(marks, resources, strict=True)
        ],
    )  # fmt: skip


#: :data:`_MARK` for many rows in one statement (PostgreSQL): the columns as arrays, ``unnest``-ed into rows.
_MARK_UNNEST = sa.text(
    "UPDATE ingest_message AS m SET status = u.status, error = u.error, resources = u.resources, "
    "attempts = m.attempts + 1, processed_at = :at, patient_ids = coalesce(u.patients, m.patient_ids) "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:errors AS text[]), "
    "CAST(:resources AS text[]), CAST(:patients AS text[])) AS u(id, status, error, resources, patients) "
    "WHERE m.id = u.id"
).bindparams(sa.bindparam("at", type_=sa.DateTime(timezone=True)))


def _index_marked(conn: sa.Connection, marks: dict[int, str | None]) -> None:
    """The patient index of the messages being marked (id → new ``patient_ids``, or ``None`` to keep those of the
    receipt): their identifiers added, and those no longer theirs removed."""
    t = ingest_message
    ids = list(marks)
    stored = {
        int(r.id): r.patient_ids
        for start in range(0, len(ids), 500)
        for r in conn.execute(sa.select(t.c.id, t.c.patient_ids).where(t.c.id.in_(ids[start : start + 500])))
    }
    gone: list[dict[str, Any]] = []
    now: dict[int, str | None] = {}
    for message_id, before in stored.items():
        after = marks[message_id] if marks[message_id] is not None else before
        now[message_id] = after
        if after != before:
            kept = set(id_tokens(after))
            gone += [{"p": token, "m": message_id} for token in id_tokens(before) if token not in kept]
    if gone:
        conn.execute(_UNINDEX, gone)
    _index_patients(conn, _pairs(now.items()))


@dataclass(frozen=True, slots=True)
class Query:
    """Search criteria of the message store; every given criterion must hold."""

    control_id: str | None = None
    patient_id: str | None = None
    message_type: str | None = None
    status: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


def search(db: Database, q: Query, *, with_raw: bool = False) -> list[MessageRow]:
    """Messages matching ``q``, newest first."""
    t = ingest_message
    cols = [c for c in t.c if with_raw or c.name != "raw"]
    query = sa.select(*cols)
    if q.control_id:
        query = query.where(t.c.control_id == q.control_id)
    if q.message_type:
        mt = q.message_type.upper()
        query = query.where(t.c.message_type == mt if "^" in mt else t.c.message_type.like(f"{mt}^%"))
    if q.status:
        query = query.where(t.c.status.in_(DEAD) if q.status == "dead" else t.c.status == q.status)
    if q.channel:
        query = query.where(t.c.channel == q.channel)
    if q.since:
        query = query.where(t.c.received_at >= q.since)
    if q.until:
        query = query.where(t.c.received_at < q.until)
    limit, offset = min(q.limit, 10_000), max(q.offset, 0)
    if not q.patient_id:
        with db.read() as conn:
            rows = conn.execute(query.order_by(t.c.id.desc()).limit(limit).offset(offset)).all()
        return [_message(r, with_raw=with_raw) for r in rows]
    # A patient identifier, matched whole (a space in it as ``_``): through the index for the messages the pipeline
    # has marked, and in the identifiers of the queued ones (the index is written by the marks, not on receipt).
    wanted = q.patient_id.strip().replace(" ", "_")
    mp = ingest_message_patient
    indexed = query.where(t.c.id.in_(sa.select(mp.c.message_id).where(mp.c.patient_id == wanted[:_ID_MAX])))
    escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    waiting = query.where(t.c.status == RECEIVED, (" " + t.c.patient_ids + " ").like(f"% {escaped} %", escape="\\"))
    found: dict[int, Any] = {}
    with db.read() as conn:
        for part in (indexed, waiting):
            for r in conn.execute(part.order_by(t.c.id.desc()).limit(limit + offset)):
                found[int(r.id)] = r
    rows = [found[i] for i in sorted(found, reverse=True)[offset : offset + limit]]
    return [_message(r, with_raw=with_raw) for r in rows]


def get(db: Database, message_id: int) -> MessageRow | None:
    """One message with its raw bytes."""
    with db.read() as conn:
        row = conn.execute(sa.select(ingest_message).where(ingest_message.c.id == message_id)).first()
    return _message(row, with_raw=True) if row is not None else None


def dead_letters(db: Database, *, limit: int = 100, channel: str | None = None) -> list[MessageRow]:
    """Messages that failed or could not be mapped, newest first, with their raw bytes."""
    return search(db, Query(status="dead", channel=channel, limit=limit), with_raw=True)


#: How many of the newest unsupported messages :func:`unsupported_types` groups (a bounded read of the status index).
UNSUPPORTED_WINDOW = 10_000


def unsupported_types(db: Database, *, channel: str | None = None) -> list[tuple[str, int, datetime]]:
    """``(message type, how many, newest receipt)`` of the newest :data:`UNSUPPORTED_WINDOW` unsupported
    messages, most frequent first: the message types senders send that no mapping covers yet."""
    t = ingest_message
    newest = sa.select(t.c.message_type, t.c.received_at).where(t.c.status == UNSUPPORTED)
    if channel is not None:
        newest = newest.where(t.c.channel == channel)
    window = newest.order_by(t.c.id.desc()).limit(UNSUPPORTED_WINDOW).subquery()
    grouped = (
        sa.select(window.c.message_type, sa.func.count(), sa.func.max(window.c.received_at))
        .group_by(window.c.message_type)
        .order_by(sa.func.count().desc(), window.c.message_type)
    )
    with db.read() as conn:
        rows = conn.execute(grouped).all()
    return [(str(kind), int(n), last if last.tzinfo else last.replace(tzinfo=UTC)) for kind, n, last in rows]


def replay(db: Database, ids: Sequence[int] = (), *, q: Query | None = None) -> int:
    """Put messages back to ``received`` so the pipeline processes them again; returns how many.

    Replay is safe at any time: the pipeline's writes are idempotent (deterministic resource ids, no new
    version of an unchanged resource). Messages refused on receipt (unreadable) are replayed too: they are
    parsed afresh, and stay in ``error`` if they still cannot be read.
    """
    chosen = list(ids)
    if q is not None:
        chosen += [r.id for r in search(db, q)]
    if not chosen:
        return 0
    t = ingest_message

    def job(conn: sa.Connection) -> int:
        total = 0
        for start in range(0, len(chosen), 500):
            part = chosen[start : start + 500]
            result = conn.execute(
                t.update().where(t.c.id.in_(part), t.c.status != RECEIVED).values(status=RECEIVED, error=None)
            )
            total += result.rowcount
        return total

    return db.write(job)


_PURGE_CHUNK = 5000  # messages deleted per write job: the listener's commits are never held up for long


def purge(db: Database, older_than: datetime, *, keep_dead: bool = True) -> int:
    """Delete messages received before ``older_than`` that are finished (retention); returns how many.

    A few thousand messages per transaction, each with its search index rows, so a purge of millions runs
    while the listeners go on storing (each of their commits waits at most for one chunk). Each chunk starts
    where the last one ended (in time), so the messages a purge keeps (dead letters, messages still queued) are
    read once, not once per chunk."""
    t = ingest_message
    finished = [s for s in STATUSES if s != RECEIVED and not (keep_dead and s in DEAD)]
    start: list[datetime | None] = [None]  # the received_at the next chunk starts from

    def job(conn: sa.Connection) -> int:
        chosen = sa.select(t.c.id, t.c.patient_ids, t.c.received_at).where(
            t.c.received_at < older_than, t.c.status.in_(finished)
        )
        if start[0] is not None:
            chosen = chosen.where(t.c.received_at >= start[0])
        rows = conn.execute(chosen.order_by(t.c.received_at).limit(_PURGE_CHUNK)).all()
        if not rows:
            return 0
        start[0] = rows[-1].received_at
        pairs = [{"p": p, "m": m} for p, m in _pairs((r.id, r.patient_ids) for r in rows)]
        if pairs:
            conn.execute(_UNINDEX, pairs)
        return int(conn.execute(t.delete().where(t.c.id.in_([r.id for r in rows]))).rowcount)

    total = 0
    while deleted := db.write(job, background=True):
        total += deleted
    if total:
        db.write(tally.fold_tally, background=True)
    return total


def _message(r: Any, *, with_raw: bool) -> MessageRow:
    m = r._mapping
    received = m["received_at"]
    processed = m["processed_at"]
    return MessageRow(
        id=m["id"],
        received_at=received if received.tzinfo else received.replace(tzinfo=UTC),
        channel=m["channel"],
        sender_app=m["sender_app"],
        sender_facility=m["sender_facility"],
        control_id=m["control_id"],
        message_type=m["message_type"],
        version=m["version"],
        status=m["status"],
        ack_code=m["ack_code"],
        error=m["error"],
        resources=json.loads(m["resources"]) if m["resources"] else [],
        attempts=m["attempts"],
        processed_at=(processed if processed is None or processed.tzinfo else processed.replace(tzinfo=UTC)),
        patient_ids=m["patient_ids"],
        raw=bytes(m["raw"]) if with_raw and "raw" in m and m["raw"] is not None else None,
    )


__all__ = ["DEAD", "FILTERED", "Incoming", "MessageRow", "Query", "Stored", "insert_batch", "mark", "search"]
