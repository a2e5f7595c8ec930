"""The composition root: the long-lived services of one running Huitong, built from the settings.

``open_services`` is called once — by :func:`huitong.app.create_app`'s lifespan, or by a CLI command —
and everything else receives what it needs from here. Nothing is created at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from huitong.clinical.alerts import CriticalAlertHook
from huitong.clinical.visits import OutpatientVisitHook
from huitong.db import Database, open_database
from huitong.fhir.point_read import PointReader
from huitong.fhir.search.index import SearchIndexer
from huitong.fhir.search.service import SearchService
from huitong.fhir.store import ResourceStore
from huitong.ops.metrics import Metrics, register_platform
from huitong.security.protection import FieldProtector
from huitong.settings import Settings
from huitong.terminology.index import TerminologyIndexer

if TYPE_CHECKING:
    from huitong.empi.pending import PendingHook, PendingLinker
    from huitong.empi.service import Empi


@dataclass
class Services:
    """What a running Huitong holds open."""

    settings: Settings
    db: Database
    store: ResourceStore
    search: SearchService

    metrics: Metrics = field(default_factory=Metrics)
    #: Queues Patients written outside the HL7 pipeline for the EMPI (``HUITONG_EMPI__LINK_API_PATIENTS``).
    empi_pending: PendingHook | None = None
    _empi_linker: PendingLinker | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        backups = Path(self.settings.backup.directory)
        register_platform(self.metrics, self.db, backups, queue_limit=self.settings.ops.queue_ready_max)

    @cached_property
    def empi(self) -> Empi:
        """The master patient index over this database (opened on first use: the model file is read once)."""
        from huitong.empi.service import Empi

        return Empi.open(self.db, self.store, self.settings.empi)

    def start_empi_linker(self) -> None:
        """Start linking queued Patients in the background (the server does; CLI commands leave them queued)."""
        from huitong.empi.pending import PendingLinker

        if self.empi_pending is not None and self._empi_linker is None:
            wake, poll = self.empi_pending.wake, self.settings.empi.pending_poll_seconds
            self._empi_linker = PendingLinker(self.empi, wake, poll).start()
            self.metrics.queue("empi_pending", self._empi_pending_depth)  # Patients written, not linked yet

    def _empi_pending_depth(self) -> int:
        from huitong.empi.pending import pending_count

        with self.db.read() as conn:
            return pending_count(conn)

    def close(self) -> None:
        """Finish queued writes and close the database."""
        if self._empi_linker is not None:
            self._empi_linker.stop()
            self._empi_linker = None
        self.store.close()
        self.db.close()


def open_services(settings: Settings) -> Services:
    """Open the database and build the services on it. The schema must already be migrated."""
    from huitong.empi.pending import PendingHook

    db = open_database(settings.database)
    pending = PendingHook() if settings.empi.link_api_patients else None
    store = ResourceStore(
        db,
        settings.fhir,
        settings.audit,
        hooks=[
            SearchIndexer(settings.fhir.fulltext_types),
            TerminologyIndexer(),
            CriticalAlertHook(),
            OutpatientVisitHook(),
            *([pending] if pending else []),
        ],
        protector=FieldProtector.from_settings(settings),
        point_reader=PointReader(settings.database) if db.is_sqlite else None,
    )
    return Services(settings=settings, db=db, store=store, search=SearchService(store), empi_pending=pending)
