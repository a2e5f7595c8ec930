"""The EMPI as one object for the rest of the platform (ingest, FHIR API, web pages, CLI).

Build it once with :meth:`Empi.open` from the database, the resource store and ``settings.empi``. Every
write runs through :meth:`ResourceStore.transaction`, so golden-record versions and audit rows commit with
the index change; the ingest pipeline can instead call :meth:`Empi.link_in` inside its own transaction so
the source Patient and its link commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from huitong.db import Database
from huitong.empi import index, merge, pending, review
from huitong.empi.link import LinkResult, MatchResult, link_record, match_record
from huitong.empi.model import Model, default_model, load_model
from huitong.empi.normalise import SourceRecord, normalise_record
from huitong.empi.protect import Sealer, sealer_of
from huitong.empi.schema import empi_record
from huitong.fhir.store import ResourceStore
from huitong.fhir.transaction import Transaction
from huitong.security.actor import Actor
from huitong.settings import EmpiSettings


@dataclass
class Empi:
    """Real-time matching, linking, merges and the review queue over one database."""

    db: Database
    store: ResourceStore
    settings: EmpiSettings
    model: Model

    @classmethod
    def open(cls, db: Database, store: ResourceStore, settings: EmpiSettings) -> Empi:
        """The EMPI with the trained model at ``settings.model_path``, or the hand-set one if there is none."""
        model = load_model(settings.model_path) if settings.model_path.is_file() else default_model()
        return cls(db, store, settings, model)

    @property
    def sealer(self) -> Sealer:
        """Seals resident IDs, phones and addresses in the EMPI's tables when field encryption is on."""
        return Sealer.of(self.store.protector)

    # -- matching and linking ---------------------------------------------------------------------

    def match(self, record: SourceRecord) -> MatchResult:
        """Score ``record`` against the index; changes nothing."""
        with self.db.read() as conn:
            return match_record(conn, self.model, self.settings, record, self.sealer)

    def link(self, actor: Actor, record: SourceRecord, *, patient_id: str | None = None) -> LinkResult:
        """Match ``record`` and file it under a person (new, linked or queued for review)."""
        return self.store.transaction(actor, lambda tx: self.link_in(tx, record, patient_id=patient_id))

    def link_in(self, tx: Transaction, record: SourceRecord, *, patient_id: str | None = None) -> LinkResult:
        """:meth:`link` inside the caller's transaction (the ingest pipeline's, with the source Patient).

        The Patient's queue rows (:mod:`~huitong.empi.pending`, written by the same transaction's store write)
        are dropped: it is linked here.
        """
        return self.link_many_in(tx, [(record, patient_id)])[0]

    def link_many_in(self, tx: Transaction, records: Sequence[tuple[SourceRecord, str | None]]) -> list[LinkResult]:
        """:meth:`link_in` of each (record, source Patient id) in turn, with the golden Patients of every person
        they touched rewritten once at the end (the ingest pipeline's messages stored together)."""
        touched: set[str] = set()
        results = []
        pending.dequeue_many(tx.conn, [patient_id for _record, patient_id in records if patient_id])
        for record, patient_id in records:
            results.append(
                link_record(tx, self.model, self.settings, record, patient_id=patient_id, golden_later=touched)
            )
        index.refresh_goldens(tx, touched, self.settings)
        return results

    def lock_in(self, tx: Transaction, records: Sequence[SourceRecord]) -> None:
        """Take the blocking-key locks of ``records`` up front, in one order (PostgreSQL; no-op on SQLite): a
        transaction that then links them one by one cannot deadlock with another linking some of the same keys."""
        index.lock_all_keys(tx.conn, [normalise_record(r) for r in records], sealer_of(tx))

    def process_pending(self, *, limit: int = 500, retry: bool = False) -> int:
        """Link Patients queued by FHIR API writes and imports (see :mod:`~huitong.empi.pending`)."""
        return pending.process_pending(self, limit=limit, retry=retry)

    def pending_count(self) -> int:
        """How many Patients wait to be linked."""
        with self.db.read() as conn:
            return pending.pending_count(conn)

    # -- persons ----------------------------------------------------------------------------------

    def person_of(self, record_key: str) -> str:
        """The person a record (``SOURCE|id``) belongs to."""
        with self.db.read() as conn:
            return str(index.require_record(conn, record_key).person_id)

    def resolve(self, person_id: str) -> str:
        """The active person ``person_id`` now is (following merges)."""
        with self.db.read() as conn:
            for _ in range(64):
                person = index.require_person(conn, person_id)
                if person.status != "merged" or not person.merged_into:
                    return person_id
                person_id = person.merged_into
        return person_id

    def person_records(self, person_id: str) -> list[dict[str, Any]]:
        """Every source record linked to the person (after following merges), JSON-friendly."""
        person_id = self.resolve(person_id)
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(empi_record).where(empi_record.c.person_id == person_id).order_by(empi_record.c.record_key)
            ).all()
        return [
            {
                "record_key": r.record_key,
                "patient_id": r.patient_id,
                "link_kind": r.link_kind,
                "match_probability": r.match_probability,
                "source": index.source_dict(r.source, self.sealer),
            }
            for r in rows
        ]

    def patient_ids_of_person(self, person_id: str) -> list[str]:
        """The source Patient ids of a person (for search by person and ``$everything``)."""
        return [r["patient_id"] for r in self.person_records(person_id) if r["patient_id"]]

    # -- changes by people ------------------------------------------------------------------------

    def link_to(self, actor: Actor, record_key: str, person_id: str, reason: str) -> None:
        """Move a record to a person."""
        self.store.transaction(actor, lambda tx: merge.link(tx, self.settings, record_key, person_id, reason))

    def unlink(self, actor: Actor, record_key: str, reason: str) -> str:
        """Take a record out of its person; returns its new person."""
        return self.store.transaction(actor, lambda tx: merge.unlink(tx, self.settings, record_key, reason))

    def merge(self, actor: Actor, surviving: str, merged: str, reason: str) -> None:
        """Merge person ``merged`` into ``surviving``."""
        self.store.transaction(actor, lambda tx: merge.merge(tx, self.settings, surviving, merged, reason))

    def unmerge(self, actor: Actor, merged: str, reason: str) -> str:
        """Undo the merge of ``merged``; returns the person it had been merged into."""
        return self.store.transaction(actor, lambda tx: merge.unmerge(tx, self.settings, merged, reason))

    def apply_a40(
        self, actor: Actor, surviving: tuple[str, str], merged: tuple[str, str], reason: str = "ADT^A40"
    ) -> dict[str, Any]:
        """Apply an ADT^A40: ``(source_system, id)`` of the surviving (PID-3) and merged (MRG-1) records."""
        return self.store.transaction(actor, lambda tx: merge.apply_a40(tx, self.settings, surviving, merged, reason))

    def apply_a40_in(
        self, tx: Transaction, surviving: tuple[str, str], merged: tuple[str, str], reason: str = "ADT^A40"
    ) -> dict[str, Any]:
        """:meth:`apply_a40` inside the caller's transaction (the ingest pipeline's, with the A40's Patient)."""
        return merge.apply_a40(tx, self.settings, surviving, merged, reason)

    # -- review queue -----------------------------------------------------------------------------

    def review_items(self, *, status: str | None = "open", limit: int = 50, offset: int = 0) -> list[review.ReviewItem]:
        """Review items, oldest first."""
        with self.db.read() as conn:
            return review.list_items(conn, status=status, limit=limit, offset=offset, sealer=self.sealer)

    def review_count(self, *, status: str | None = "open") -> int:
        """How many review items have ``status``."""
        with self.db.read() as conn:
            return review.count_items(conn, status)

    def review_item(self, review_id: int) -> review.ReviewItem:
        with self.db.read() as conn:
            return review.get_item(conn, review_id, self.sealer)

    def accept_review(self, actor: Actor, review_id: int, reason: str) -> str:
        """Accept a pair as one person; returns the surviving person."""
        return self.store.transaction(actor, lambda tx: review.accept(tx, self.settings, review_id, reason))

    def reject_review(self, actor: Actor, review_id: int, reason: str) -> None:
        """Reject a pair as different people."""
        self.store.transaction(actor, lambda tx: review.reject(tx, review_id, reason))
