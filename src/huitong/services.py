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
from huitong.db import Database, open_database
from huitong.fhir.search.index import SearchIndexer
from huitong.fhir.search.service import SearchService
from huitong.fhir.store import ResourceStore
from huitong.ops.metrics import Metrics, register_platform
from huitong.security.protection import FieldProtector
from huitong.settings import Settings
from huitong.terminology.index import TerminologyIndexer

if TYPE_CHECKING:
    from huitong.empi.service import Empi


@dataclass
class Services:
    """What a running Huitong holds open."""

    settings: Settings
    db: Database
    store: ResourceStore
    search: SearchService

    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        backups = Path(self.settings.backup.directory)
        register_platform(self.metrics, self.db, backups, queue_limit=self.settings.ops.queue_ready_max)

    @cached_property
    def empi(self) -> Empi:
        """The master patient index over this database (opened on first use: the model file is read once)."""
        from huitong.empi.service import Empi

        return Empi.open(self.db, self.store, self.settings.empi)

    def close(self) -> None:
        """Finish queued writes and close the database."""
        self.store.close()
        self.db.close()


def open_services(settings: Settings) -> Services:
    """Open the database and build the services on it. The schema must already be migrated."""
    db = open_database(settings.database)
    store = ResourceStore(
        db,
        settings.fhir,
        settings.audit,
        hooks=[SearchIndexer(settings.fhir.fulltext_types), TerminologyIndexer(), CriticalAlertHook()],
        protector=FieldProtector.from_settings(settings),
    )
    return Services(settings=settings, db=db, store=store, search=SearchService(store))
