"""Patients written through the FHIR API, queued in their own transaction and linked moments later.

The HL7 pipeline links each Patient in the transaction that stores it (``Empi.link_in``). Every other way in —
``POST``/``PUT /fhir/Patient``, transaction and batch Bundles, ``huitong import`` — goes through
:class:`PendingHook`, a write hook of the resource store: it adds the Patient's id to ``empi_pending`` in the
**same transaction** as the write, so a committed Patient is always either linked or queued, never forgotten.
:class:`PendingLinker` (a thread of the running server) takes the queue: right after a write on this process
wakes it, and every ``pending_poll_seconds`` for rows other processes (an import) committed. Queued Patients are
linked as ``system:empi``, up to :data:`PENDING_BATCH` per transaction (one by one when a batch fails), which also
deletes their queue rows; a Patient the ingest
pipeline linked in the write transaction has no row left by then (``link_in`` deletes it).

Why a queue and not the link in the write transaction itself: a write hook gets the connection, not the
store's transaction, so it could not write the golden Patient through the store (history, audit rows, field
encryption) and it sees protected values only as blind indexes; and the write path of bulk imports stays as
fast as it was. A crash between the write and the link leaves the row: the server links it at start-up, and
``huitong empi relink --pending`` does the same without a server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from huitong.db import bulk
from huitong.db.schema import resource
from huitong.empi.golden import is_golden
from huitong.empi.normalise import SourceRecord
from huitong.empi.patient import record_from_patient
from huitong.empi.schema import empi_pending, empi_record
from huitong.fhir import jsonio
from huitong.fhir.hooks import ResourceChange
from huitong.fhir.transaction import Transaction
from huitong.security.actor import Actor

if TYPE_CHECKING:
    from huitong.empi.service import Empi

log = logging.getLogger(__name__)

#: The source system of a Patient the EMPI first saw through the FHIR API (record key ``FHIR|<Patient id>``).
API_SOURCE = "FHIR"
#: Rows that failed this often are left to ``huitong empi relink --pending --retry`` (the error is kept).
MAX_ATTEMPTS = 3
LINKER = Actor.system("empi")


class PendingHook:
    """Write hook: queues every written Patient that is not a golden record, in the write's transaction."""

    def __init__(self) -> None:
        #: Set after a Patient was queued, so the linker of this process looks at once (after the commit).
        self.wake = threading.Event()

    def resource_written(self, conn: sa.Connection, change: ResourceChange) -> None:
        self.resources_written(conn, [change])

    def resources_written(self, conn: sa.Connection, changes: Sequence[ResourceChange]) -> None:
        now = datetime.now(UTC)
        rows = [
            {"patient_id": c.res_id, "queued_at": now, "attempts": 0}
            for c in changes
            if c.res_type == "Patient" and c.resource is not None and not is_golden(c.resource)
        ]
        if rows:
            bulk.insert_rows(conn, empi_pending, rows)
            self.wake.set()


def dequeue(conn: sa.Connection, patient_id: str) -> None:
    """Drop the queue rows of ``patient_id``: it is being linked in this transaction."""
    dequeue_many(conn, [patient_id])


def dequeue_many(conn: sa.Connection, patient_ids: Sequence[str]) -> None:
    """Drop the queue rows of ``patient_ids`` (one statement per 500): they are being linked in this transaction."""
    unique = sorted(set(patient_ids))
    for start in range(0, len(unique), 500):
        conn.execute(_DEQUEUE, {"b_pids": unique[start : start + 500]})


_DEQUEUE = sa.delete(empi_pending).where(empi_pending.c.patient_id.in_(sa.bindparam("b_pids", expanding=True)))


def pending_ids(conn: sa.Connection, *, limit: int, retry: bool = False) -> list[str]:
    """Queued Patient ids, oldest first (rows that failed :data:`MAX_ATTEMPTS` times only with ``retry``)."""
    first = sa.func.min(empi_pending.c.seq)
    query = sa.select(empi_pending.c.patient_id).group_by(empi_pending.c.patient_id).order_by(first).limit(limit)
    if not retry:
        query = query.where(empi_pending.c.attempts < MAX_ATTEMPTS)
    return list(conn.execute(query).scalars())


def pending_count(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count(sa.distinct(empi_pending.c.patient_id)))).scalar_one())


def link_pending_patient(empi: Empi, tx: Transaction, patient_id: str) -> str | None:
    """Link the current version of ``Patient/patient_id``; returns its person (``None``: nothing to link)."""
    found = pending_record(tx, patient_id)
    if found is None:
        return None
    record, _ = found
    return empi.link_in(tx, record, patient_id=patient_id).person_id


def link_pending_patients(empi: Empi, tx: Transaction, patient_ids: Sequence[str]) -> int:
    """:func:`link_pending_patient` of each, in turn, with the golden Patients of the persons touched written once
    at the end (``Empi.link_many_in``); returns how many were linked."""
    records = pending_records(tx, patient_ids)
    empi.lock_in(tx, [record for record, _ in records])  # every blocking key at once, in one order (PostgreSQL)
    return len(empi.link_many_in(tx, records))


def pending_record(tx: Transaction, patient_id: str) -> tuple[SourceRecord, str] | None:
    """The EMPI record of the current version of ``Patient/patient_id`` with its id, or ``None`` when there is
    nothing to link (deleted meanwhile, or a golden Patient: its queue rows are dropped)."""
    found = pending_records(tx, [patient_id])
    return found[0] if found else None


def pending_records(tx: Transaction, patient_ids: Sequence[str]) -> list[tuple[SourceRecord, str]]:
    """:func:`pending_record` of each of ``patient_ids`` (in their order, those with something to link), read with
    one query for the Patients and one for the records the EMPI already holds of them."""
    conn = tx.conn
    ids = list(dict.fromkeys(patient_ids))
    query = sa.select(resource.c.res_id, resource.c.content, resource.c.deleted).where(
        resource.c.res_type == "Patient", resource.c.res_id.in_(ids)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()  # a concurrent update of the Patient waits, then queues itself again
    rows = {row.res_id: row for row in conn.execute(query)}
    first = (
        sa.select(empi_record.c.patient_id, sa.func.min(empi_record.c.pk).label("pk"))
        .where(empi_record.c.patient_id.in_(ids))
        .group_by(empi_record.c.patient_id)
        .subquery()
    )
    known = {
        r.patient_id: (r.source_system, r.record_id)
        for r in conn.execute(
            sa.select(empi_record.c.patient_id, empi_record.c.source_system, empi_record.c.record_id).join(
                first, empi_record.c.pk == first.c.pk
            )
        )
    }
    protector = getattr(tx, "protector", None)
    out = []
    for patient_id in ids:
        row = rows.get(patient_id)
        if row is None or row.deleted or row.content is None:
            dequeue(conn, patient_id)  # deleted meanwhile: its record stays with its person (unlink by hand)
            continue
        content: bytes = row.content.encode()
        if protector is not None:
            content = protector.open(None, "Patient", content)  # in memory only, for standardisation
        body = jsonio.loads(content)
        if is_golden(body):
            dequeue(conn, patient_id)
            continue
        source, record_id = known.get(patient_id, (API_SOURCE, patient_id))
        out.append((record_from_patient(body, source, record_id), patient_id))
    return out


#: Queued Patients linked in one transaction (one commit, each golden Patient written once).
PENDING_BATCH = 100


def process_pending(empi: Empi, *, limit: int = 500, retry: bool = False, batch: int = PENDING_BATCH) -> int:
    """Link queued Patients (at most ``limit``), ``batch`` per transaction; returns how many were handled.

    When a batch fails, its Patients are linked one by one: one that fails keeps its rows with the error and one
    more attempt counted; the others go on.
    """
    with empi.db.read() as conn:
        ids = pending_ids(conn, limit=limit, retry=retry)
    done = 0
    for start in range(0, len(ids), max(1, batch)):
        part = ids[start : start + max(1, batch)]
        if len(part) > 1:
            try:
                empi.store.transaction(LINKER, lambda tx, p=part: link_pending_patients(empi, tx, p))  # type: ignore[misc]
                done += len(part)
                continue
            except Exception:  # noqa: BLE001 - find the Patient at fault: one by one below
                log.info("EMPI: a batch of %d queued Patients failed; linking them one by one", len(part))
        for patient_id in part:
            try:
                empi.store.transaction(LINKER, lambda tx, p=patient_id: link_pending_patient(empi, tx, p))  # type: ignore[misc]
                done += 1
            except Exception as exc:  # noqa: BLE001 - one bad Patient must not stop the queue
                log.warning("EMPI: Patient/%s could not be linked: %s", patient_id, exc)
                _record_failure(empi, patient_id, f"{type(exc).__name__}: {exc}")
    return done


def _record_failure(empi: Empi, patient_id: str, error: str) -> None:
    def job(conn: sa.Connection) -> None:
        conn.execute(
            sa.update(empi_pending)
            .where(empi_pending.c.patient_id == patient_id)
            .values(attempts=empi_pending.c.attempts + 1, last_error=error[:2000])
        )

    try:
        empi.db.write(job)
    except Exception:  # the database is gone; the row stays and is retried at start-up
        log.exception("EMPI: could not record the failure of Patient/%s", patient_id)


class PendingLinker:
    """The thread that links queued Patients: at start (catch-up after a crash), when woken, and every poll."""

    def __init__(self, empi: Empi, wake: threading.Event, poll_seconds: float) -> None:
        self.empi = empi
        self.wake = wake
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="empi-pending-linker", daemon=True)

    def start(self) -> PendingLinker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while process_pending(self.empi) and not self._stop.is_set():
                    pass
            except Exception:  # keep the thread alive; the rows stay queued
                log.exception("EMPI: the pending-Patient linker failed; retrying")
            woken = self.wake.wait(self.poll_seconds)
            self.wake.clear()
            if woken and not self._stop.is_set():
                self._stop.wait(0.05)  # let the write that woke us commit
