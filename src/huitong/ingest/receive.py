"""From a received payload to a stored row and its ACK: :func:`examine` and :class:`Committer`.

Shared by every source (MLLP listener, watched folder, HTTP endpoint). :func:`examine` reads the MSH and
parses the message once, on receipt, so a message that cannot be read is answered AR/AE with the reason
right away — and still stored, to be looked at and replayed. :class:`Committer` gathers the messages of
all connections into one write job per disk sync (group commit on top of the database writer) and
resolves each caller only once its row is durably committed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa

from huitong.db import Database
from huitong.ingest import inbox
from huitong.ingest.errors import Hl7ParseError, IngestError
from huitong.ingest.hl7v2.ack import build_ack
from huitong.ingest.hl7v2.header import Header, header_of, peek_header
from huitong.ingest.hl7v2.parse import parse_message
from huitong.ingest.inbox import Incoming, Stored

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Examined:
    """A payload read on receipt: the row to store, the header (when readable) and any refusal."""

    incoming: Incoming
    header: Header | None
    error: IngestError | None


def examine(payload: bytes, channel: str) -> Examined:
    """Parse ``payload`` (or, when it cannot be parsed, read what its MSH says); never raises for the sender."""
    try:
        msg = parse_message(payload)
    except Hl7ParseError as exc:
        return _refused(payload, channel, exc)
    header = header_of(msg.msh)
    incoming = _incoming(payload, channel, header)
    incoming.patient_ids = inbox.patient_ids_of(msg)
    return Examined(incoming, header, None)


def _incoming(payload: bytes, channel: str, header: Header) -> Incoming:
    return Incoming(
        payload,
        channel,
        sender_app=header.sending_application,
        sender_facility=header.sending_facility,
        control_id=header.control_id,
        message_type=header.message_type,
        version=header.version,
        charset=header.charset,
    )


def _refused(payload: bytes, channel: str, error: Hl7ParseError) -> Examined:
    try:
        header = peek_header(payload)
    except Hl7ParseError:
        return Examined(Incoming(payload, channel, ack_code=error.ack_code, error=error.reason), None, error)
    incoming = _incoming(payload, channel, header)
    incoming.ack_code, incoming.error = error.ack_code, error.reason
    return Examined(incoming, header, error)


class StorageFailedError(IngestError):
    """The message could not be stored; the sender is told to send it again (AR, 207)."""

    default_ack = "AR"
    default_code = "207"


def ack_for(payload: bytes, examined: Examined, stored: Stored | None, *, application: str) -> bytes:
    """The original-mode ACK for a message whose fate is known (stored, repeated or refused)."""
    source: Header | bytes = examined.header if examined.header is not None else payload
    if examined.error is not None:
        return build_ack(source, error=examined.error, application=application)
    if stored is not None and stored.duplicate:
        text = "duplicate control id: already received"
        if stored.original_id is not None:
            text += f" as message {stored.original_id}"
        return build_ack(source, "AA", text=text + "; not processed again", application=application)
    return build_ack(source, "AA", application=application)


_Outcome = asyncio.Future[list[Stored]] | Future[list[Stored]]

#: Called on the event loop once a queued message's fate is known: what the store said, or why it failed.
Done = Callable[[Stored | None, StorageFailedError | None], None]


class Committer:
    """Group commit for received messages: ``await submit(incoming)`` returns once it is durable.

    At most one write job waits for the writer at any time, and it takes the messages that are pending
    when it *starts*, not when it was queued: everything that arrives while the previous transaction is
    syncing to disk rides in the next one. An idle server writes each message at once; a busy one writes
    many per disk sync.

    The hand-offs are kept short, because a sender that waits for its ACK sends nothing meanwhile: on SQLite the
    job goes to the database writer straight from :meth:`enqueue` (no task), and when its commit returns the writer
    thread wakes the loop once for the whole batch, which calls every message's ``done`` in that same callback (no
    future, task or loop iteration per message). PostgreSQL's writes run in the loop's executor, as before.
    """

    def __init__(
        self,
        db: Database,
        *,
        batch_max: int = 500,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.batch_max = batch_max
        self.on_commit = on_commit
        self._lock = threading.Lock()
        self._pending: list[tuple[Incoming, Done]] = []
        self._queued_jobs = 0  # submitted to the writer, not started yet
        self._running = 0  # jobs submitted whose outcome the loop has not handled yet
        self.batches = 0
        self.messages = 0

    async def submit(self, incoming: Incoming) -> Stored:
        """Store ``incoming``; raises :class:`StorageFailedError` when the write fails."""
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()

        def done(stored: Stored | None, error: StorageFailedError | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(stored if stored is not None else Stored())

        self.enqueue(incoming, done)
        return await future

    def enqueue(self, incoming: Incoming, done: Done) -> None:
        """Queue ``incoming`` (from the running loop); ``done`` is called on the loop once it is durable or failed."""
        with self._lock:
            self._pending.append((incoming, done))
            launch = self._queued_jobs == 0
            if launch:
                self._queued_jobs += 1
        if launch:
            self._launch(asyncio.get_running_loop())

    def _launch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Submit one write job (on the loop thread); it takes what is pending when it starts."""
        taken: list[tuple[Incoming, Done]] = []

        def job(conn: sa.Connection) -> list[Stored]:
            with self._lock:
                taken.extend(self._pending[: self.batch_max])
                del self._pending[: self.batch_max]
                more = bool(self._pending)
                if not more:
                    self._queued_jobs -= 1
            if more:  # the job stays counted as queued: the next one takes over its place
                loop.call_soon_threadsafe(self._launch, loop)
            return inbox.insert_batch(conn, [m for m, _ in taken])

        self._running += 1
        if not self.db.is_sqlite:  # PostgreSQL's writer runs the job in the calling thread: not the loop's
            loop.run_in_executor(None, self.db.write, job).add_done_callback(lambda f: self._finish(taken, f))
            return
        try:
            written = self.db.writer.submit(job)
        except Exception as exc:  # noqa: BLE001 - the writer is closed: every waiting sender is told
            self._finish(taken, exc)
            return
        written.add_done_callback(lambda f: loop.call_soon_threadsafe(self._finish, taken, f))

    def _finish(self, taken: list[tuple[Incoming, Done]], outcome: _Outcome | Exception) -> None:
        """On the loop: tell every message of a job what became of it."""
        self._running -= 1
        exc = outcome if isinstance(outcome, Exception) else outcome.exception()
        if exc is not None:  # every waiting sender is told, none is ACKed
            if not taken:  # the job never ran (the writer is closed): fail everything pending
                with self._lock:
                    taken, self._pending = self._pending, []
                    self._queued_jobs = 0
            log.error("storing %d received messages failed", len(taken), exc_info=exc)
            error = StorageFailedError(f"the message could not be stored ({type(exc).__name__}); send it again")
            for _, done in taken:
                self._call(done, None, error)
            return
        results = cast(_Outcome, outcome).result()
        self.batches += 1
        self.messages += len(taken)
        for (_, done), result in zip(taken, results, strict=True):
            self._call(done, result, None)
        if self.on_commit is not None:
            self.on_commit(len(taken))

    @staticmethod
    def _call(done: Done, stored: Stored | None, error: StorageFailedError | None) -> None:
        try:
            done(stored, error)
        except Exception:  # one sender's answer must not keep the others from theirs
            log.exception("answering a received message failed")

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait (at most ``timeout`` seconds) until every submitted message has been written."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self._running or self._pending) and loop.time() < deadline:
            await asyncio.sleep(0.005)
        if self._running or self._pending:
            log.warning("%d received messages still being written at shutdown", len(self._pending))


async def receive(
    committer: Committer, payload: bytes, channel: str, *, application: str = "HUITONG"
) -> tuple[bytes, Stored | None]:
    """Examine, durably store and acknowledge one payload; returns the ACK and the store's answer."""
    examined = examine(payload, channel)
    try:
        stored = await committer.submit(examined.incoming)
    except StorageFailedError as exc:
        source: Header | bytes = examined.header if examined.header is not None else payload
        return build_ack(source, error=exc, application=application), None
    return ack_for(payload, examined, stored, application=application), stored
