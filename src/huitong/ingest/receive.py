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
from collections.abc import Callable
from dataclasses import dataclass

from huitong.db import Database
from huitong.ingest import inbox
from huitong.ingest.errors import Hl7ParseError, IngestError
from huitong.ingest.hl7v2.ack import build_ack
from huitong.ingest.hl7v2.header import Header, peek_header
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
    """Read ``payload``'s MSH and parse it; never raises for anything the sender did."""
    try:
        header = peek_header(payload)
    except Hl7ParseError as exc:
        return Examined(Incoming(payload, channel, ack_code=exc.ack_code, error=exc.reason), None, exc)
    incoming = Incoming(
        payload,
        channel,
        sender_app=header.sending_application,
        sender_facility=header.sending_facility,
        control_id=header.control_id,
        message_type=header.message_type,
        version=header.version,
        charset=header.charset,
    )
    try:
        msg = parse_message(payload)
    except Hl7ParseError as exc:
        incoming.ack_code, incoming.error = exc.ack_code, exc.reason
        return Examined(incoming, header, exc)
    ids = [rep.get(1) for pid in msg.segments("PID") for rep in pid.repetitions(3)]
    incoming.patient_ids = " ".join(i.replace(" ", "_") for i in ids if i) or None
    return Examined(incoming, header, None)


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


class Committer:
    """Group commit for received messages: ``await submit(incoming)`` returns once it is durable.

    Messages submitted while a write is in flight wait for the next one, so under load one transaction
    (one disk sync) carries many messages; an idle server writes each message at once.
    """

    def __init__(
        self,
        db: Database,
        *,
        batch_max: int = 500,
        max_in_flight: int | None = None,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.batch_max = batch_max
        self.max_in_flight = max_in_flight or (2 if db.is_sqlite else 4)
        self.on_commit = on_commit
        self._pending: list[tuple[Incoming, asyncio.Future[Stored]]] = []
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.messages = 0

    async def submit(self, incoming: Incoming) -> Stored:
        """Store ``incoming``; raises :class:`StorageFailedError` when the write fails."""
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._pending.append((incoming, future))
        self._flush_some()
        return await future

    def _flush_some(self) -> None:
        while self._pending and self._in_flight < self.max_in_flight:
            batch, self._pending = self._pending[: self.batch_max], self._pending[self.batch_max :]
            self._in_flight += 1
            task = asyncio.create_task(self._write(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _write(self, batch: list[tuple[Incoming, asyncio.Future[Stored]]]) -> None:
        rows = [m for m, _ in batch]
        try:
            results = await self.db.write_async(lambda conn: inbox.insert_batch(conn, rows))
        except Exception as exc:  # every waiting sender is told, none is ACKed
            log.exception("storing %d received messages failed", len(batch))
            error = StorageFailedError(f"the message could not be stored ({type(exc).__name__}); send it again")
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
        else:
            self.batches += 1
            self.messages += len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
            if self.on_commit is not None:
                self.on_commit(len(batch))
        finally:
            self._in_flight -= 1
            self._flush_some()

    async def drain(self) -> None:
        """Wait until every submitted message has been written."""
        while self._tasks or self._pending:
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            else:
                self._flush_some()
                await asyncio.sleep(0)


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
