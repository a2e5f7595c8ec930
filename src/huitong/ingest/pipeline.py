"""After the ACK: parse → filter → map → identify the patient → forward → store, by a pool of workers.

The dispatcher reads ``received`` messages from the store, oldest first, and hands each to one of
``workers`` bounded queues chosen by its patient identifier, so one patient's messages are processed in
the order they arrived while different patients proceed in parallel. A full queue stops the dispatcher
(back-pressure); the store keeps everything else. A worker takes what waits in its queue (up to
``store_batch`` messages), parses and maps each, and stores them in one transaction of the resource store that
also records their outcomes in the inbox — one ``executemany`` per table for all of them — so the resources of
a message and its ``processed`` status commit together or not at all. Should that transaction fail, the
messages are stored one by one and only the one at fault becomes a dead letter. These transactions are background
work for the SQLite writer (db/writer.py): a receipt whose ACK waits for its commit goes ahead of them, and while
such writes come the workers keep their transactions to ``store_batch_while_waited_on`` messages, so that an ACK
waits for at most one short transaction.

An ADT^A40 carries a merge (:class:`~huitong.ingest.hl7v2.to_fhir.adt.PendingMerge`); the ``merge`` step hands
it to the EMPI (:func:`empi_merger`) in the same transaction, after the identity step has linked the surviving
Patient. Without the EMPI (``HUITONG_INGEST__LINK_PATIENTS=false``) the merge is only kept with the mapping.

Delivery is at least once, writes are idempotent: the mapping gives deterministic ids and the store makes
no new version of an unchanged resource, so a message processed again after a crash — or replayed —
leaves the same data. Nothing is lost: a message stays ``received`` until its transaction commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from huitong.fhir.errors import FhirError
from huitong.fhir.resource_types import SHARED_DIRECTORY
from huitong.fhir.search.index import SearchIndexer
from huitong.fhir.store import ResourceStore
from huitong.fhir.transaction import Transaction
from huitong.ingest import inbox, prepare
from huitong.ingest.channels import Channel, ChannelSet, ForwardError
from huitong.ingest.errors import IngestError
from huitong.ingest.hl7v2.message import Message
from huitong.ingest.hl7v2.parse import parse_message
from huitong.ingest.inbox import MessageRow
from huitong.ingest.lease import ProcessingLease
from huitong.ingest.mapping import Resource
from huitong.ingest.prepare import Cleansed, Cleanser, MapResult, MessageMapper, set_departments
from huitong.ingest.schema import ERROR, FILTERED, PROCESSED, UNSUPPORTED
from huitong.processes import spawn_pool
from huitong.security.actor import Actor

if TYPE_CHECKING:
    from huitong.settings import Settings

__all__ = [
    "BatchLocker",
    "Cleansed",
    "Cleanser",
    "IdentityError",
    "MergeHandler",
    "Outcome",
    "PatientIdentifier",
    "Pipeline",
    "set_departments",
]

log = logging.getLogger(__name__)

#: The identity step: called inside the write transaction after the resources of a run of messages are written,
#: with each message and its resources in order, e.g. to link each Patient to its person in the EMPI
#: (:func:`empi_identifier`), so the links commit with them.
PatientIdentifier = Callable[[Transaction, Sequence[tuple[Message, list[Resource]]]], None]


#: The merge step (ADT^A40): called in the same transaction after the identity step, with the mapping's merge.
MergeHandler = Callable[[Transaction, Message, Any], None]

#: Before the identity steps of messages stored together: e.g. take the EMPI's locks for all their Patients at
#: once, in one order (:func:`empi_locker`), so that two such transactions on PostgreSQL cannot deadlock.
BatchLocker = Callable[[Transaction, Sequence[tuple[Message, list[Resource]]]], None]


class IdentityError(Exception):
    """The identity or merge step refused a message (e.g. an A40 naming a patient the EMPI does not know).

    The message becomes a dead letter with this reason and nothing of it is stored; replay it once fixed.
    """


def keep_as_mapped(_tx: Transaction, _run: Sequence[tuple[Message, list[Resource]]]) -> None:
    """No identity step: resources are stored as mapped."""


def lock_nothing(_tx: Transaction, _batch: Sequence[tuple[Message, list[Resource]]]) -> None:
    """No locks taken up front."""


def keep_pending(_tx: Transaction, _msg: Message, _merge: Any) -> None:
    """No merge step: an A40's merge stays with the mapping (``huitong hl7 check`` shows it), nothing merges."""


def _source_system(msg: Message) -> str:
    return msg.msh.get("3.1") or "HL7"


def empi_identifier(empi: Any) -> PatientIdentifier:
    """Link every Patient of the messages to its person with the EMPI's real-time API (``Empi.link_many_in``: one
    link per Patient in message order, the golden Patients of the persons touched written once at the end)."""
    from huitong.empi.errors import EmpiError
    from huitong.empi.patient import record_from_patient

    def identify(tx: Transaction, run: Sequence[tuple[Message, list[Resource]]]) -> None:
        records = [
            (record_from_patient(body, _source_system(msg), body["id"]), body["id"])
            for msg, resources in run
            for body in resources
            if body.get("resourceType") == "Patient"
        ]
        try:
            empi.link_many_in(tx, records)
        except EmpiError as exc:
            names = ", ".join(f"Patient/{patient_id}" for _record, patient_id in records)
            raise IdentityError(f"the EMPI could not link {names}: {exc}") from exc

    return identify


def empi_locker(empi: Any) -> BatchLocker:
    """Lock the EMPI's blocking keys of every Patient of the messages at once (``Empi.lock_in``)."""
    from huitong.empi.patient import record_from_patient

    def lock(tx: Transaction, batch: Sequence[tuple[Message, list[Resource]]]) -> None:
        records = [
            record_from_patient(body, _source_system(msg), body["id"])
            for msg, resources in batch
            for body in resources
            if body.get("resourceType") == "Patient"
        ]
        empi.lock_in(tx, records)

    return lock


def empi_merger(empi: Any) -> MergeHandler:
    """Apply an ADT^A40 in the EMPI (``Empi.apply_a40_in``): the merged record's person joins the surviving one's.

    Records are keyed as the identity step keys them: ``(MSH-3 sending application, Patient id)``. An A40 whose
    merged patient (MRG-1) the EMPI has never seen is refused (:class:`IdentityError`): replay it after the
    patient's registration has been processed.
    """
    from huitong.empi.errors import EmpiError

    def apply(tx: Transaction, msg: Message, merge: Any) -> None:
        source = _source_system(msg)
        surviving = (source, merge.surviving_patient_id)
        merged = (source, merge.merged_patient_id)
        reason = f"ADT^A40 {msg.msh.get('10') or ''} from {source}".replace("  ", " ")
        try:
            empi.apply_a40_in(tx, surviving, merged, reason)
        except EmpiError as exc:
            values = ", ".join(i.get("value", "?") for i in merge.merged_identifiers)
            raise IdentityError(
                f"ADT^A40 cannot merge patient {values} (Patient/{merge.merged_patient_id}) into "
                f"Patient/{merge.surviving_patient_id}: {exc}; replay the message once that patient's "
                "registration has been processed"
            ) from exc

    return apply


@dataclass(frozen=True, slots=True)
class Outcome:
    """What processing one message did."""

    message_id: int
    status: str
    resources: tuple[str, ...] = ()
    error: str | None = None


@dataclass(slots=True)
class _Prepared:
    """A message parsed, mapped and cleansed, waiting to be stored."""

    row: MessageRow
    msg: Message
    resources: list[Resource]
    merge: Any = None
    quality: Cleansed | None = None
    index: list[Any] | None = None  # per resource: its search-index rows prepared in a worker process
    context: frozenset[tuple[str, str]] = frozenset()  # written only if absent (ingest/mapping.py)


def _runs(batch: Sequence[_Prepared]) -> Iterator[list[_Prepared]]:
    """Split ``batch`` into runs of consecutive messages that can be written with one ``put_many``.

    A run ends before a message that writes a resource the run already wrote (its new version must follow the
    earlier one's identity step) and after a message carrying a merge (which may change resources a later
    message writes), so the result is that of storing the messages one after another. A shared directory entry
    (the doctor, the ward) that a message restates exactly as the run already wrote it does not end the run: written
    again it would change nothing (:func:`_bodies_of`). Without this a batch of 32 lab results from one ward was
    written as some 30 runs, each with its own look-ups, inserts and identity step.
    """
    run: list[_Prepared] = []
    seen: dict[tuple[str, str], tuple[dict[str, Any], bool]] = {}
    for p in batch:
        keys = {(body["resourceType"], str(body.get("id"))) for body in p.resources}
        if run and (len(keys) < len(p.resources) or any(_conflicts(seen, body, p.context) for body in p.resources)):
            yield run
            run, seen = [], {}
        run.append(p)
        for body in p.resources:
            key = (body["resourceType"], str(body.get("id")))
            seen.setdefault(key, (body, key in p.context))
        if p.merge is not None:
            yield run
            run, seen = [], {}
    if run:
        yield run


def _conflicts(
    seen: dict[tuple[str, str], tuple[dict[str, Any], bool]], body: dict[str, Any], context: frozenset[Any]
) -> bool:
    """Whether ``body`` is a resource the run already wrote, other than a directory entry written again as it was
    (neither time only-if-absent)."""
    key = (body["resourceType"], str(body.get("id")))
    earlier = seen.get(key)
    if earlier is None:
        return False
    earlier_body, earlier_context = earlier
    return body["resourceType"] not in SHARED_DIRECTORY or earlier_context or key in context or earlier_body != body


def _bodies_of(part: Sequence[_Prepared]) -> tuple[list[dict[str, Any]], list[Any]]:
    """The bodies a run writes, with their prepared index rows: a directory entry restated exactly as an earlier
    message of the run wrote it is left out (anything else written twice — only ever within one message, which
    :func:`_runs` keeps in a run of its own — goes to ``put_many``, which writes it in turn)."""
    bodies: list[dict[str, Any]] = []
    index: list[Any] = []
    written: dict[tuple[str, str], dict[str, Any]] = {}
    for p in part:
        for n, body in enumerate(p.resources):
            key = (body["resourceType"], str(body.get("id")))
            if body["resourceType"] in SHARED_DIRECTORY and written.get(key) == body:
                continue
            written.setdefault(key, body)
            bodies.append(body)
            index.append(p.index[n] if p.index else None)
    return bodies, index


#: Seconds after a write someone waited on (a receipt, an audit entry) during which the workers store short batches
#: (``store_batch_while_waited_on``): on SQLite the next such write waits for the pipeline transaction then running.
WAITED_ON_WINDOW_S = 1.0


class Pipeline:
    """Worker pool over the message store. ``await start()``; ``wake()`` after new messages; ``await stop()``."""

    def __init__(
        self,
        store: ResourceStore,
        *,
        channels: ChannelSet | None = None,
        workers: int = 4,
        queue_size: int = 256,
        store_batch: int = 32,
        store_batch_while_waited_on: int = 4,
        poll_interval: float = 1.0,
        identify: PatientIdentifier = keep_as_mapped,
        merge: MergeHandler = keep_pending,
        lock_batch: BatchLocker = lock_nothing,
        cleanse: Cleanser | None = None,
        quarantine: bool = False,
        department_reference: str = "",
        actor: Actor | None = None,
        processes: int = 0,
        process_settings: Settings | None = None,
    ) -> None:
        self.store = store
        self.db = store.db
        self.channels = channels or ChannelSet.default()
        self.workers = max(1, workers)
        self.queue_size = max(1, queue_size)
        self.store_batch = max(1, store_batch)
        #: The most while other writes wait on the one SQLite writer: a receipt's ACK waits for at most one of
        #: these transactions (db/writer.py, the setting ``ingest.store_batch_while_waited_on``).
        self.store_batch_waited_on = max(1, min(store_batch, store_batch_while_waited_on))
        self.poll_interval = poll_interval
        self.identify = identify
        self.merge = merge
        self.lock_batch = lock_batch
        self.cleanse = cleanse
        self.quarantine = quarantine
        self.department_reference = department_reference
        self.actor = actor or Actor.system("mllp")
        #: Worker processes mapping messages (with their index rows) while this process writes; they are built
        #: from ``process_settings``, which must describe the same quality step and departments as above.
        self.processes = processes if process_settings is not None else 0
        self._process_settings = process_settings
        #: The store's full-text choice: with it, this worker thread makes the resources' index rows as it maps them,
        #: outside the one writer (which would otherwise make them while every other write waits).
        self._index_fulltext = next((h.fulltext for h in store.hooks if isinstance(h, SearchIndexer)), None)
        self._pool: ProcessPoolExecutor | None = None
        #: With a lease (the engine sets one), messages are taken only while this engine holds it: engines on one
        #: database take turns.
        self.lease: ProcessingLease | None = None
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._executor: ThreadPoolExecutor | None = None
        self.processed = 0
        self.failed = 0

    # -- running ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the dispatcher and the workers (messages left ``received`` by a crash are picked up first)."""
        # one more thread than workers, for the dispatcher's reads: stop() waits for every one of them
        self._executor = ThreadPoolExecutor(self.workers + 1, thread_name_prefix="huitong-pipeline")
        self._start_pool()
        queues: list[asyncio.Queue[MessageRow]] = [asyncio.Queue(self.queue_size) for _ in range(self.workers)]
        self._tasks = [asyncio.create_task(self._worker(q)) for q in queues]
        self._tasks.append(asyncio.create_task(self._dispatch(queues)))
        if self.lease is not None:
            self._tasks.append(asyncio.create_task(self._keep_lease(self.lease)))

    def wake(self, _count: int = 0) -> None:
        """Tell the dispatcher that new messages were stored."""
        self._wake.set()

    @property
    def queued(self) -> int:
        """Messages handed to workers and not finished yet."""
        return len(self._in_flight)

    async def stop(self) -> None:
        """Stop dispatching; messages in flight finish their transaction or stay ``received``."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10.0)
        self._tasks = []
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.to_thread(executor.shutdown, True)
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)
        if self.lease is not None and self.lease.held:
            try:
                await asyncio.to_thread(self.lease.release)
            except Exception:  # it expires on its own: a standby waits a little longer
                log.exception("releasing the processing lease failed")

    def _start_pool(self) -> None:
        if self.processes > 0 and self._pool is None and self._process_settings is not None:
            settings = self._process_settings
            self._pool, _started = spawn_pool(self.processes, initializer=prepare.init_mapper, initargs=(settings,))

    async def drain(self, timeout: float = 60.0) -> None:
        """Wait until no message is ``received`` or in flight (tests, benchmarks, the CLI)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            self.wake()
            left = await asyncio.to_thread(inbox.pending, self.db, limit=1)
            if not left and not self._in_flight:
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"the pipeline did not drain within {timeout:g} s")

    async def _keep_lease(self, lease: ProcessingLease) -> None:
        """Take or renew the lease every third of its length; the dispatcher takes messages only while it is held."""
        loop = asyncio.get_running_loop()
        while True:
            was = lease.held
            try:
                held = await loop.run_in_executor(self._executor, lease.hold)
            except Exception:  # the database is unreachable: this engine can no longer be sure it is the one
                log.exception("renewing the processing lease failed")
                lease.held = held = False
            if held and not was:
                log.info("processing the message store (lease %r held by %s)", lease.name, lease.holder)
                self.wake()
            elif was and not held:
                log.warning("processing lease %r lost: another engine processes the message store now", lease.name)
            elif not held:
                log.debug("standing by: another engine holds the processing lease %r", lease.name)
            await asyncio.sleep(lease.seconds / 3)

    async def _dispatch(self, queues: list[asyncio.Queue[MessageRow]]) -> None:
        batch = max(64, self.queue_size * self.workers // 2)
        while True:
            self._wake.clear()
            if self.lease is not None and not self.lease.held:  # standing by: another engine processes
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                continue
            try:
                rows = await asyncio.get_running_loop().run_in_executor(
                    self._executor, functools.partial(inbox.pending, self.db, limit=batch, exclude=set(self._in_flight))
                )
            except Exception:  # the database may be briefly unavailable: try again later
                log.exception("reading pending messages failed")
                rows = []
            for row in rows:
                self._in_flight.add(row.id)
                key = (row.patient_ids or "").split(" ")[0] or str(row.id)
                await queues[zlib.crc32(key.encode()) % len(queues)].put(row)
            if len(rows) < batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    async def _worker(self, queue: asyncio.Queue[MessageRow]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            rows = [await queue.get()]
            waited_on = self.db.writer.waited_on_within(WAITED_ON_WINDOW_S)
            limit = self.store_batch_waited_on if waited_on else self.store_batch
            while len(rows) < limit and not queue.empty():  # what waits goes in the same transaction
                rows.append(queue.get_nowait())
            try:
                outcomes = await loop.run_in_executor(self._executor, self.process_many, rows)
                for outcome in outcomes:
                    if outcome.status == PROCESSED:
                        self.processed += 1
                    else:
                        self.failed += 1
            except Exception:  # the outcomes could not be recorded: the messages stay received, retried later
                log.exception("messages %s could not be processed; they stay queued", [r.id for r in rows])
                await asyncio.sleep(self.poll_interval)
            finally:
                for row in rows:
                    self._in_flight.discard(row.id)

    # -- one message --------------------------------------------------------------------------------

    def process(self, row: MessageRow) -> Outcome:
        """Process one stored message and record its outcome (runs in a worker thread)."""
        return self.process_many([row])[0]

    def process_many(self, rows: Sequence[MessageRow]) -> list[Outcome]:
        """Process stored messages, in order, and record their outcomes (runs in a worker thread).

        The messages that map cleanly are stored in one transaction — a few statements per table for all of
        them, one disk sync — with the same result as storing them one after another. When that transaction
        fails (one message's resources or identity refused), they are stored one by one, so only the message at
        fault becomes a dead letter.
        """
        outcomes: dict[int, Outcome] = {}
        ready: list[_Prepared] = []
        parsed: list[tuple[MessageRow, Message, Channel]] = []
        for row in rows:
            step = self._parse(row)
            if isinstance(step, Outcome):
                outcomes[row.id] = step
            else:
                parsed.append(step)
        mapped = self._map_all([(row, msg) for row, msg, channel in parsed if channel.repository])
        for row, msg, channel in parsed:
            done = self._mapped(row, msg, channel, mapped.get(row.id))
            if isinstance(done, Outcome):
                outcomes[row.id] = done
            else:
                ready.append(done)
        if len(ready) > 1:
            self._create_directory(ready)
            try:
                for outcome in self._store_together(ready):
                    outcomes[outcome.message_id] = outcome
                ready = []
            except Exception as exc:  # noqa: BLE001 - each message again on its own, which reports the fault
                log.info("storing %d messages together failed (%s); storing them one by one", len(ready), exc)
        for prepared in ready:
            outcomes[prepared.row.id] = self._store_one(prepared)
        return [outcomes[row.id] for row in rows]

    def _parse(self, row: MessageRow) -> tuple[MessageRow, Message, Channel] | Outcome:
        """Parse and filter one message: what is to be mapped, or its final outcome."""
        if row.raw is None:
            raise ValueError("the pipeline needs the message's raw bytes")
        try:
            msg = parse_message(row.raw)
        except IngestError as exc:
            return self._finish(row, ERROR, f"{exc.ack_code} {exc.error_code}: {exc.reason}")
        channel = self.channels.get(row.channel)
        if not channel.accepts(msg):
            return self._finish(row, FILTERED, f"filtered out by channel {channel.name!r}")
        return row, msg, channel

    def _map_all(self, todo: Sequence[tuple[MessageRow, Message]]) -> dict[int, MapResult]:
        """Map messages: in the worker processes when there are any (split among them), else in this thread."""
        pool = self._pool
        if pool is not None and todo:
            raws = [row.raw or b"" for row, _msg in todo]
            size = max(1, -(-len(raws) // self.processes))
            try:
                futures = [pool.submit(prepare.map_raw_many, raws[i : i + size]) for i in range(0, len(raws), size)]
                results = [result for future in futures for result in future.result()]
                return {row.id: result for (row, _msg), result in zip(todo, results, strict=True)}
            except BrokenProcessPool:  # a worker process died (killed, out of memory): new ones; map here now
                log.error("a pipeline worker process died; starting new ones and mapping this batch in-process")
                with contextlib.suppress(Exception):
                    pool.shutdown(wait=False, cancel_futures=True)
                if self._pool is pool:
                    self._pool = None
                    self._start_pool()
        mapper = MessageMapper(
            cleanse=self.cleanse, department_reference=self.department_reference, index_fulltext=self._index_fulltext
        )
        return {row.id: mapper(msg) for row, msg in todo}

    def _mapped(self, row: MessageRow, msg: Message, channel: Channel, result: MapResult | None) -> _Prepared | Outcome:
        """After mapping: quarantine and forwarding — what is to be stored, or the message's final outcome."""
        resources: list[Resource] = []
        merge: Any = None
        quality: Cleansed | None = None
        index: list[Any] | None = None
        context: frozenset[tuple[str, str]] = frozenset()
        if result is not None:  # the channel stores in the repository
            if result.error is not None:
                return self._finish(row, ERROR, result.error)
            if result.unsupported is not None and not channel.destinations:
                return self._finish(row, UNSUPPORTED, result.unsupported)
            resources, merge, quality, index = result.resources, result.merge, result.quality, result.index
            context = result.context
        if quality is not None and self.quarantine and quality.quarantine:
            reasons = "; ".join(quality.quarantine[:5])
            return self._finish(row, ERROR, f"quarantined by the quality rules (fix at the source, replay): {reasons}")
        try:
            forward_all(channel, row.raw or b"")
        except ForwardError as exc:
            return self._finish(row, ERROR, str(exc))
        return _Prepared(row, msg, resources, merge, quality, index, context)

    def _create_directory(self, batch: Sequence[_Prepared]) -> None:
        """PostgreSQL with several workers: the shared directory entries (doctors, wards, departments) that
        ``batch`` names and the repository has never held are first created in a short transaction of their own.

        A new resource's create lock is held until its transaction commits. Without this, when the first messages
        about a new doctor reach several workers at once, all but one wait for that one's whole batch (EMPI
        included) to commit. Created only if absent: a worker that lost the race keeps what the winner wrote, and
        the batch transaction then finds the entries unchanged, so it takes no lock on them. If this transaction
        fails, the batch transaction writes the entries as before."""
        if self.db.dialect != "postgresql" or self.workers < 2:
            return
        entries: dict[tuple[str, str], tuple[Resource, Any]] = {}
        for p in batch:
            for n, body in enumerate(p.resources):
                if body["resourceType"] in SHARED_DIRECTORY:
                    entries.setdefault((body["resourceType"], body["id"]), (body, p.index[n] if p.index else None))
        if not entries:
            return

        def work(tx: Transaction) -> None:
            new = tx.absent(list(entries))
            if new:
                bodies = [entries[key][0] for key in new]
                tx.put_many(bodies, index=[entries[key][1] for key in new], keep_source=True, create_only=new)

        try:
            self.store.transaction(self.actor, work)
        except Exception as exc:  # noqa: BLE001 - the batch transaction writes them (or reports the fault)
            log.info("creating %d directory entries ahead failed (%s); the batch writes them", len(entries), exc)

    def _store_one(self, prepared: _Prepared) -> Outcome:
        try:
            return self._store_together([prepared])[0]
        except FhirError as exc:
            return self._finish(prepared.row, ERROR, f"storing the resources failed: {exc}")
        except IdentityError as exc:
            return self._finish(prepared.row, ERROR, str(exc))

    def _store_together(self, batch: Sequence[_Prepared]) -> list[Outcome]:
        """Store the messages of ``batch`` and mark them processed, all in one transaction."""

        def work(tx: Transaction) -> list[Outcome]:
            if len(batch) > 1:  # every lock up front, each kind in one order: batches written in runs never deadlock
                self.lock_batch(tx, [(p.msg, p.resources) for p in batch])
                everything = [body for p in batch for body in p.resources]
                context = frozenset().union(*(p.context for p in batch))
                tx.lock_for_writing(everything, keep_source=True, create_only=context)
            for part in _runs(batch):
                bodies, index = _bodies_of(part)  # a few statements per table
                context = frozenset().union(*(p.context for p in part))  # a run writes each resource once
                tx.put_many(bodies, index=index, keep_source=True, create_only=context)
                self.identify(tx, [(p.msg, p.resources) for p in part])
                for p in part:  # a run ends after a message with a merge: the merge follows every link of the run
                    if p.merge is not None:
                        self.merge(tx, p.msg, p.merge)
            outcomes, marks = [], []
            for p in batch:
                written = tuple(f"{body['resourceType']}/{body['id']}" for body in p.resources)
                note = _quality_note(p.quality) if p.quality is not None else None
                ids = inbox.patient_ids_of(p.msg)  # given only when they differ from those of the receipt
                marks.append(inbox.Mark(p.row.id, PROCESSED, note, written, ids if ids != p.row.patient_ids else None))
                outcomes.append(Outcome(p.row.id, PROCESSED, written))
            inbox.mark_many(tx.conn, marks)
            return outcomes

        return self.store.transaction(self.actor, work, background=True)  # gives way to receipts (their ACKs wait)

    def _finish(self, row: MessageRow, status: str, error: str | None) -> Outcome:
        self.db.write(lambda conn: inbox.mark(conn, row.id, status, error=error), background=True)
        if status != FILTERED:
            log.warning("message %d (%s %s) %s: %s", row.id, row.message_type, row.control_id, status, error)
        return Outcome(row.id, status, (), error)


def _quality_note(quality: Cleansed) -> str | None:
    """What the quality step found, kept in the message's ``error`` column of a processed message."""
    if not quality.findings and not quality.fixes:
        return None
    parts = [f"quality: {len(quality.findings)} finding(s), {len(quality.fixes)} fix(es)"]
    parts += [f"finding {f}" for f in quality.findings[:10]] + [f"fixed {f}" for f in quality.fixes[:10]]
    return "; ".join(parts)[:2000]


def forward_all(channel: Channel, raw: bytes) -> None:
    """Send ``raw`` to every forwarding destination of ``channel`` (each with its retries)."""
    for destination in channel.destinations:
        destination.send(raw)
