"""The running integration engine: listeners, watched folders, the committer and the pipeline, together.

:class:`Engine` is started by the app's lifespan (``huitong serve`` with ``HUITONG_MLLP__ENABLED=true``)
or on its own by ``huitong hl7 listen``; one hospital process runs one engine. It opens an MLLP listener
for the settings (channel ``default`` unless configured otherwise) and one per channel whose source is
``mllp``, polls the folder of each ``folder`` channel, and runs the pipeline over the message store — while it holds
the processing lease (:mod:`huitong.ingest.lease`): engines on one database take turns, the others stand by. While the
pipeline runs, the engine also folds the message store's counts once a
minute when they have grown (:func:`huitong.ingest.tally.fold_if_long`), so the tally stays small whether or not anyone
opens the dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huitong.fhir.store import ResourceStore
from huitong.ingest import tally
from huitong.ingest.channels import ChannelSet, FolderSource, MllpSource, load_channels
from huitong.ingest.hl7v2.message import Message
from huitong.ingest.hl7v2.parse import split_messages
from huitong.ingest.lease import ProcessingLease
from huitong.ingest.mapping import Resource
from huitong.ingest.mllp.server import MllpServer, server_ssl_context
from huitong.ingest.pipeline import (
    BatchLocker,
    Cleansed,
    Cleanser,
    MergeHandler,
    PatientIdentifier,
    Pipeline,
    empi_identifier,
    empi_locker,
    empi_merger,
    keep_as_mapped,
    keep_pending,
    lock_nothing,
)
from huitong.ingest.receive import Committer, receive
from huitong.settings import Settings

if TYPE_CHECKING:
    from huitong.ops.metrics import Metrics

log = logging.getLogger(__name__)

#: Seconds between the engine's looks at the message store's tally (folded when longer than TALLY_FOLD_AT rows).
TALLY_FOLD_EVERY_S = 60.0


def quality_cleanser(settings: Settings) -> Cleanser:
    """The quality step of the pipeline: the resource rules and safe fixes of ``quality.cleanse``."""
    from huitong.quality import dictionaries
    from huitong.quality.cleanse import at_ingest
    from huitong.quality.rule import Catalogues, Context

    folder = settings.quality.dictionaries_dir
    catalogues = dictionaries.load(folder) if folder is not None else Catalogues()

    def cleanse(msg: Message, resources: list[Resource]) -> Cleansed:
        result = at_ingest(
            resources, Context(settings.quality, catalogues=catalogues), source=msg.msh.get("3.1") or None
        )

        def said(f: Any) -> str:
            return f"{f.rule_id} {f.res_type}/{f.res_id}: {f.detail}"

        return Cleansed(
            findings=tuple(said(f) for f in result.findings),
            fixes=tuple(result.fixes),
            quarantine=tuple(said(f) for f in result.quarantine),
        )

    return cleanse


def build_pipeline(settings: Settings, store: ResourceStore, channels: ChannelSet | None = None) -> Pipeline:
    """The pipeline as the settings describe it: workers, batches, the EMPI's identity and merge steps, quality."""
    identify: PatientIdentifier = keep_as_mapped
    merge: MergeHandler = keep_pending
    lock_batch: BatchLocker = lock_nothing
    if settings.ingest.link_patients:
        from huitong.empi.service import Empi

        empi = Empi.open(store.db, store, settings.empi)
        identify, merge, lock_batch = empi_identifier(empi), empi_merger(empi), empi_locker(empi)
    return Pipeline(
        store,
        channels=channels,
        workers=settings.ingest.workers,
        queue_size=settings.ingest.queue_size,
        store_batch=settings.ingest.store_batch,
        store_batch_while_waited_on=settings.ingest.store_batch_while_waited_on,
        poll_interval=settings.ingest.poll_interval_s,
        identify=identify,
        merge=merge,
        lock_batch=lock_batch,
        cleanse=quality_cleanser(settings) if settings.quality.cleanse_at_ingest else None,
        quarantine=settings.quality.quarantine_at_ingest,
        department_reference=settings.ingest.department_reference,
        processes=settings.ingest.prepare_processes,
        process_settings=settings,
    )


class Engine:
    """Everything the integration engine runs; see the module docstring."""

    def __init__(self, settings: Settings, store: ResourceStore, *, listen: bool = True, process: bool = True) -> None:
        self.settings = settings
        self.store = store
        self.channels: ChannelSet = load_channels(settings.ingest.channels_file)
        self.pipeline = build_pipeline(settings, store, self.channels)
        self.pipeline.lease = ProcessingLease(store.db)  # engines on one database take turns processing it
        self.committer = Committer(store.db, batch_max=settings.ingest.batch_max, on_commit=self.pipeline.wake)
        self.servers: list[MllpServer] = []
        self._listen = listen
        self._process = process
        self._tasks: list[asyncio.Task[None]] = []

    def _server(self, channel: str, host: str, port: int) -> MllpServer:
        m = self.settings.mllp
        context = None
        if m.tls_cert is not None and m.tls_key is not None:
            context = server_ssl_context(m.tls_cert, m.tls_key, m.tls_client_ca)
        return MllpServer(
            self.committer,
            channel=channel,
            host=host,
            port=port,
            ssl=context,
            max_frame_size=m.max_frame_bytes,
            idle_timeout=m.idle_timeout_s,
            max_connections=m.max_connections,
            application=m.application,
        )

    async def start(self) -> None:
        """Open the listeners and folders and start the pipeline."""
        if self._listen:
            m = self.settings.mllp
            if m.enabled:
                self.servers.append(self._server(m.channel, m.host, m.port))
            for channel in self.channels.channels:
                if isinstance(channel.source, MllpSource):
                    self.servers.append(self._server(channel.name, channel.source.host, channel.source.port))
                elif isinstance(channel.source, FolderSource):
                    self._tasks.append(asyncio.create_task(self._watch(channel.name, channel.source)))
            for server in self.servers:
                await server.start()
        if self._process:
            await self.pipeline.start()
            self._tasks.append(asyncio.create_task(self._fold_tally()))

    async def stop(self) -> None:
        """Close listeners (finishing writes in flight), folders, then the pipeline."""
        for server in self.servers:
            await server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.committer.drain()
        await self.pipeline.stop()

    async def _watch(self, channel: str, source: FolderSource) -> None:
        done = source.path / "done"
        while True:
            try:
                await self.ingest_folder(channel, source.path, source.pattern, done)
            except OSError:
                log.exception("reading the folder %s of channel %r failed", source.path, channel)
            await asyncio.sleep(source.poll_seconds)

    def register_metrics(self, metrics: Metrics) -> None:
        """The engine's gauges at ``/metrics`` (read at scrape time): the backlog in the message store, what this
        process's pipeline has in flight, whether it holds the processing lease, its listeners' connections and the
        messages they received."""
        db = self.store.db
        metrics.queue("ingest_received", lambda: tally.queued(db))  # no limit: a backlog does not stop HTTP
        metrics.queue("ingest_in_flight", lambda: self.pipeline.queued)
        lease = self.pipeline.lease
        metrics.gauge(
            "huitong_ingest_processing",
            "1 while this process's engine holds the processing lease (it processes the message store), else 0.",
            lambda: 1.0 if lease is not None and lease.held else 0.0,
        )
        metrics.gauge(
            "huitong_mllp_connections",
            "Open connections to this process's MLLP listeners.",
            lambda: float(sum(server.open_connections for server in self.servers)),
        )
        metrics.gauge(
            "huitong_mllp_received_total",
            "Messages framed by this process's MLLP listeners since it started.",
            lambda: float(sum(server.received for server in self.servers)),
            counter=True,
        )

    async def _fold_tally(self) -> None:
        while True:
            await asyncio.sleep(TALLY_FOLD_EVERY_S)
            try:  # off the loop: it serves the listeners
                await asyncio.to_thread(tally.fold_if_long, self.store.db)
            except Exception:  # a failed fold is retried at the next look; the counts stay right meanwhile
                log.exception("folding the message store's counts failed")

    async def ingest_folder(self, channel: str, folder: Path, pattern: str, done: Path) -> int:
        """Store every message of every file matching ``pattern`` in ``folder``, then move the file to ``done``.

        A file is moved only after all its messages are durably stored; after a crash it is read again and
        its messages are recognised as duplicates by their control ids.
        """
        count = 0
        for path in sorted(folder.glob(pattern)):
            if not path.is_file():
                continue
            payloads = split_messages(path.read_bytes())
            results = await asyncio.gather(
                *(receive(self.committer, p, channel, application=self.settings.mllp.application) for p in payloads)
            )
            if any(stored is None for _, stored in results):
                log.error("file %s could not be stored completely; it stays for the next attempt", path)
                continue
            done.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                path.replace(done / path.name)
            count += len(payloads)
        return count
