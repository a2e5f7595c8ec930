"""The resource store: the only door to clinical data.

Every call names its :class:`~huitong.security.actor.Actor` and leaves an audit row: writes in their own
transaction, reads right after they are served (and before the caller gets the data), failures after
the rollback. Routes, the MLLP pipeline, the CLI and tests all use this class; none touches the tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from huitong.db import Database
from huitong.db.schema import resource, resource_version, version_content
from huitong.fhir import errors
from huitong.fhir.errors import FhirError
from huitong.fhir.hooks import ResourceChange, WriteHook
from huitong.fhir.point_read import PointReader
from huitong.fhir.resource_types import is_resource_type
from huitong.fhir.stored import StoredResource, utc
from huitong.fhir.transaction import Transaction
from huitong.fhir.validate import ID_PATTERN, check_structure
from huitong.security import audit
from huitong.security.access import AccessDeniedError, AccessPolicy
from huitong.security.actor import Actor, require_actor
from huitong.security.audit import AuditEntry, Outcome
from huitong.security.audit_sink import AuditSink
from huitong.security.protection import FieldProtector, index_view
from huitong.settings import AuditSettings, FhirSettings

T = TypeVar("T")
W = TypeVar("W")

#: The current version of one resource (built once: the read-by-id hot path does not rebuild its statement).
_READ_CURRENT = sa.select(
    resource.c.pk, resource.c.version_id, resource.c.last_updated, resource.c.deleted, resource.c.content
).where(resource.c.res_type == sa.bindparam("rtype"), resource.c.res_id == sa.bindparam("res_id"))

#: The future of an audit that is not written (``audit_reads`` off).
_DONE: Future[None] = Future()
_DONE.set_result(None)


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of a history: versions newest first."""

    entries: list[StoredResource]
    offset: int
    count: int
    total: int | None
    has_more: bool


class _GuardedTransaction(Transaction):
    """A transaction whose reads (conditional writes, bundle GETs) obey the actor's access rules too, and whose
    refusals are FHIR errors, so a batch fails only the entry that was refused."""

    policy: AccessPolicy
    protector: FieldProtector | None = None

    def read(self, rtype: str, res_id: str) -> StoredResource | None:
        stored = super().read(rtype, res_id)
        if stored is None:
            return None
        with _refusals_as_fhir_errors():
            self.policy.check_interaction(self.actor, rtype, "r")
            if not self.policy.is_unrestricted(self.actor):
                pk = self.conn.execute(
                    sa.select(resource.c.pk).where(resource.c.res_type == rtype, resource.c.res_id == res_id)
                ).scalar_one()
                self.policy.check_pk(self.actor, self.conn, pk, rtype)
        return self._opened(stored)

    def create(self, body: dict[str, Any], *, res_id: str | None = None) -> StoredResource:
        with _refusals_as_fhir_errors():
            return self._opened(super().create(self._sealed(body, None), res_id=res_id))

    def update(self, body: dict[str, Any], res_id: str, *, if_match: int | None = None) -> tuple[StoredResource, bool]:
        with _refusals_as_fhir_errors():
            stored, created = super().update(self._sealed(body, res_id), res_id, if_match=if_match)
            return self._opened(stored), created

    def delete(self, rtype: str, res_id: str, *, if_match: int | None = None) -> StoredResource | None:
        with _refusals_as_fhir_errors():
            return super().delete(rtype, res_id, if_match=if_match)

    def create_many(
        self, bodies: Sequence[dict[str, Any]], *, ids: Sequence[str | None] | None = None
    ) -> list[StoredResource]:
        with _refusals_as_fhir_errors():
            stored = super().create_many([self._sealed(body, None) for body in bodies], ids=ids)
            return [self._opened(s) for s in stored]

    def put_many(
        self,
        bodies: Sequence[dict[str, Any]],
        *,
        index: Sequence[object | None] | None = None,
        keep_source: bool = False,
        create_only: Collection[tuple[str, str]] = (),
    ) -> list[tuple[StoredResource, bool]]:
        with _refusals_as_fhir_errors():
            sealed = self._sealed_many(bodies, [_id_of(body) for body in bodies])
            if index is not None:  # rows prepared from a body that encryption then changed do not apply
                index = [ix if s is b else None for ix, s, b in zip(index, sealed, bodies, strict=True)]
            written = super().put_many(sealed, index=index, keep_source=keep_source, create_only=create_only)
            return [(self._opened(s), created) for s, created in written]

    # -- field encryption at rest (security/protection.py): the seam around serialising ----------------

    def _sealed(self, body: dict[str, Any], res_id: str | None) -> dict[str, Any]:
        """``body`` as it is to be stored: protected values encrypted (unchanged ones keep their ciphertext)."""
        return self._sealed_many([body], [res_id])[0]

    def _sealed_many(self, bodies: Sequence[dict[str, Any]], ids: Sequence[str | None]) -> list[dict[str, Any]]:
        """:meth:`_sealed` for many bodies, ``ids`` the resources they replace (``None``: a new one): one look-up
        of the stored versions per type. A body of a type without protected fields is returned as it is."""
        protector = self.protector
        if protector is None:
            return list(bodies)
        wanted: dict[str, list[str]] = {}
        for body, rid in zip(bodies, ids, strict=True):
            rtype = str(body.get("resourceType"))
            if rid is not None and protector.applies_to(rtype):
                wanted.setdefault(rtype, []).append(rid)
        previous: dict[tuple[str, str], str] = {}
        for rtype, wanted_ids in wanted.items():
            for start in range(0, len(wanted_ids), 500):
                query = sa.select(resource.c.res_id, resource.c.content).where(
                    resource.c.res_type == rtype, resource.c.res_id.in_(wanted_ids[start : start + 500])
                )
                previous.update(((rtype, rid), content) for rid, content in self.conn.execute(query))
        out = []
        for body, rid in zip(bodies, ids, strict=True):
            rtype = str(body.get("resourceType"))
            if not protector.applies_to(rtype):
                out.append(body)
                continue
            out.append(protector.seal(body, previous.get((rtype, rid)) if rid is not None else None))
        return out

    def _opened(self, stored: StoredResource) -> StoredResource:
        return _open(self.protector, self.actor, stored)

    def _notify(self, changes: Sequence[ResourceChange]) -> None:
        """Hooks (the search index) see blind indexes in place of encrypted values, never plaintext."""
        super()._notify([_index_view(change) for change in changes])


def _open(protector: FieldProtector | None, actor: Actor | None, stored: StoredResource) -> StoredResource:
    """``stored`` as ``actor`` may see it: protected values revealed or masked; unchanged if it holds none."""
    if protector is None or stored.content is None:
        return stored
    content = protector.open(actor, stored.res_type, stored.content)
    return stored if content is stored.content else replace(stored, content=content)


def _index_view(change: ResourceChange) -> ResourceChange:
    if change.resource is None:
        return change
    view = index_view(change.resource)
    return change if view is change.resource else replace(change, resource=view, index=None)


def _id_of(body: dict[str, Any]) -> str | None:
    rid = body.get("id")
    return rid if isinstance(rid, str) else None


@contextmanager
def _refusals_as_fhir_errors() -> Iterator[None]:
    try:
        yield
    except AccessDeniedError as exc:
        raise (errors.not_found(str(exc)) if exc.hide else errors.forbidden(str(exc))) from exc


class ResourceStore:
    """Create, read, version, delete and list the history of FHIR resources. See the module docstring."""

    def __init__(
        self,
        db: Database,
        fhir: FhirSettings,
        audit_settings: AuditSettings,
        hooks: Sequence[WriteHook] = (),
        policy: AccessPolicy | None = None,
        protector: FieldProtector | None = None,
        point_reader: PointReader | None = None,
    ) -> None:
        self.db = db
        self.settings = fhir
        self.audit_settings = audit_settings
        self.hooks: list[WriteHook] = list(hooks)
        #: Consulted on every call (security/access.py): role, scopes and patient reach.
        self.policy = policy or AccessPolicy(db)
        #: Field-level encryption at rest (security/protection.py); ``None``: stored JSON is served as it is.
        self.protector = protector
        #: Audit rows of reads and refusals, group-committed across concurrent requests (security/audit_sink.py).
        self.audit_sink = AuditSink(db)
        #: Raw per-thread SQLite look-ups for reads by id of actors who reach every patient (fhir/point_read.py).
        self.point_reader = point_reader

    # -- writes -------------------------------------------------------------------------------------

    def transaction(
        self,
        actor: Actor,
        work: Callable[[Transaction], T],
        *,
        interaction: str | None = None,
        background: bool = False,
    ) -> T:
        """Run ``work`` in one database transaction: all of its writes commit together or none do.

        ``work`` may run on the writer thread; it must only use the :class:`Transaction` it is given.
        ``interaction`` (e.g. ``"transaction"`` for a FHIR transaction bundle) adds an audit entry for the
        call as a whole beside the entries of each resource written. ``background``: bulk work that gives way to
        the writes others wait on (the pipeline's batches; :class:`~huitong.db.writer.SerialWriter`).
        """
        return self._run(
            actor, work, AuditEntry(interaction or "transaction"), whole=interaction, background=background
        )

    def create(self, actor: Actor, body: dict[str, Any]) -> StoredResource:
        """Store a new resource; the server assigns its id."""
        body = check_structure(body)
        return self._run(actor, lambda tx: tx.create(body), AuditEntry("create", entity_type=body["resourceType"]))

    def update(
        self, actor: Actor, rtype: str, res_id: str, body: dict[str, Any], *, if_match: int | None = None
    ) -> tuple[StoredResource, bool]:
        """Store a new version of ``rtype/res_id`` (or create it); returns (version, created)."""
        self._check_type(rtype)
        body = check_structure(body, expected_type=rtype)
        return self._run(
            actor,
            lambda tx: tx.update(body, res_id, if_match=if_match),
            AuditEntry("update", entity_type=rtype, entity_id=res_id),
        )

    def delete(self, actor: Actor, rtype: str, res_id: str, *, if_match: int | None = None) -> StoredResource | None:
        """Delete ``rtype/res_id``; the deletion is itself a version (a tombstone)."""
        self._check_type(rtype)
        return self._run(
            actor,
            lambda tx: tx.delete(rtype, res_id, if_match=if_match),
            AuditEntry("delete", entity_type=rtype, entity_id=res_id),
        )

    def _run(
        self,
        actor: Actor,
        work: Callable[[Transaction], T],
        failure: AuditEntry,
        *,
        whole: str | None = None,
        background: bool = False,
    ) -> T:
        actor = require_actor(actor)

        def job(conn: sa.Connection) -> T:
            hooks = [self.policy.write_hook(actor), *self.hooks]  # the access check runs first, in the transaction
            tx = _GuardedTransaction(conn, actor, hooks, allow_update_create=self.settings.allow_update_create)
            tx.policy = self.policy
            tx.protector = self.protector
            with tx.deferred():  # index rows go in with one executemany per table, before the audit rows
                result = work(tx)
            entries = tx.audit_entries if whole is None else [AuditEntry(whole), *tx.audit_entries]
            audit.record(conn, actor, entries)
            return result

        try:
            return self.db.write(job, background=background)
        except AccessDeniedError as exc:
            denied = errors.not_found(str(exc)) if exc.hide else errors.forbidden(str(exc))
            self._record_failure(actor, failure, denied)
            raise denied from exc
        except FhirError as exc:
            self._record_failure(actor, failure, exc)
            raise

    # -- reads --------------------------------------------------------------------------------------

    def read(self, actor: Actor, rtype: str, res_id: str) -> StoredResource:
        """The current version; 404 if it never existed, 410 if it was deleted."""
        stored, audited = self.read_pending_audit(actor, rtype, res_id)
        audited.result()  # the read's audit row is committed before the caller gets the data
        return stored

    def read_pending_audit(self, actor: Actor, rtype: str, res_id: str) -> tuple[StoredResource, Future[None]]:
        """:meth:`read`, returning the future of its audit row's commit instead of waiting for it here.

        The caller must wait for the future (and fail if it fails) before anyone sees the resource. Refusals and
        failures are audited (and waited for) before the error is raised, as always.
        """
        outcome, audited = self.read_submit(actor, rtype, res_id)
        if isinstance(outcome, FhirError):
            audited.result()
            raise outcome
        return outcome, audited

    def read_submit(self, actor: Actor, rtype: str, res_id: str) -> tuple[StoredResource | FhirError, Future[None]]:
        """:meth:`read` without waiting for anything: the resource, or the error to raise, and the future of the
        commit of the audit row that records it (the read, or the refusal or failure). The caller must wait for
        the future before it answers."""
        return self._read_submit(actor, rtype, res_id, self.audit_sink.submit)

    def read_on_loop(
        self, actor: Actor, rtype: str, res_id: str
    ) -> tuple[StoredResource | FhirError, asyncio.Future[None]]:
        """:meth:`read_submit` on the running event loop, for actors with :meth:`reads_inline`: no blocking work but
        one indexed SQLite look-up, and the audit commit is an asyncio future of the loop. The HTTP read fast path
        (``fhir/fastpath.py``) awaits it, so no thread is held while the audit batch commits."""
        return self._read_submit(actor, rtype, res_id, self.audit_sink.submit_async)

    def _read_submit(
        self, actor: Actor, rtype: str, res_id: str, submit: Callable[[list[dict[str, Any]]], W]
    ) -> tuple[StoredResource | FhirError, W]:
        actor = require_actor(actor)
        try:
            self._check_type(rtype)
            self._check_allowed(actor, rtype, "r")
            if self.point_reader is not None and self.policy.is_unrestricted(actor):
                row: Any = self.point_reader.current(rtype, res_id)  # no patient-reach condition to run
            else:
                with self.db.read() as conn:
                    row = conn.execute(_READ_CURRENT, {"rtype": rtype, "res_id": res_id}).first()
                    if row is not None:
                        self._check_visible(actor, conn, row.pk, rtype, f"{rtype}/{res_id} does not exist")
            if row is None:
                raise errors.not_found(f"{rtype}/{res_id} does not exist")
            if row.deleted:
                raise errors.gone(f"{rtype}/{res_id} was deleted (version {row.version_id})")
        except FhirError as exc:
            entry = AuditEntry("read", entity_type=rtype, entity_id=res_id)
            return exc, submit(self._failure_rows(actor, entry, exc))
        entry = AuditEntry("read", entity_type=rtype, entity_id=res_id, entity_version=row.version_id)
        audited = submit([audit.audit_row(actor, entry)] if self.audit_settings.audit_reads else [])
        stored = StoredResource(rtype, res_id, row.version_id, utc(row.last_updated), False, row.content.encode())
        return self.opened(actor, stored), audited

    def reads_inline(self, actor: Actor) -> bool:
        """Whether :meth:`read_submit` for ``actor`` is one raw SQLite look-up (cheap enough for an event loop)."""
        return self.point_reader is not None and self.policy.is_unrestricted(actor)

    def vread(self, actor: Actor, rtype: str, res_id: str, version_id: int) -> StoredResource:
        """One version; 404 if it does not exist, 410 if that version is a deletion."""
        actor = require_actor(actor)
        entry = AuditEntry("vread", entity_type=rtype, entity_id=res_id, entity_version=version_id)
        try:
            self._check_type(rtype)
            self._check_allowed(actor, rtype, "r")
            with self.db.read() as conn:
                row = conn.execute(
                    sa.select(
                        resource.c.pk,
                        resource_version.c.last_updated,
                        resource_version.c.deleted,
                        version_content(),
                        resource_version.c.method,
                    )
                    .join(resource, resource.c.pk == resource_version.c.resource_pk)
                    .where(
                        resource.c.res_type == rtype,
                        resource.c.res_id == res_id,
                        resource_version.c.version_id == version_id,
                    )
                ).first()
                if row is not None:
                    self._check_visible(actor, conn, row.pk, rtype, f"{rtype}/{res_id} has no version {version_id}")
            if row is None:
                raise errors.not_found(f"{rtype}/{res_id} has no version {version_id}")
            if row.deleted:
                raise errors.gone(f"version {version_id} of {rtype}/{res_id} is its deletion")
        except FhirError as exc:
            self._record_failure(actor, entry, exc)
            raise
        self._record_read(actor, entry)
        return self.opened(
            actor,
            StoredResource(rtype, res_id, version_id, utc(row.last_updated), False, row.content.encode(), row.method),
        )

    def history(
        self,
        actor: Actor,
        rtype: str | None = None,
        res_id: str | None = None,
        *,
        since: datetime | None = None,
        count: int | None = None,
        offset: int = 0,
    ) -> HistoryPage:
        """Versions newest first: of one resource, of one type, or of the whole system."""
        actor = require_actor(actor)
        count = min(count or self.settings.default_page_size, self.settings.max_page_size)
        interaction = "history-instance" if res_id else "history-type" if rtype else "history-system"
        entry = AuditEntry(
            interaction,
            entity_type=rtype,
            entity_id=res_id,
            query=f"_since={since.isoformat()}" if since else None,
        )
        try:
            if rtype is not None:
                self._check_type(rtype)
            self._check_allowed(actor, rtype, "r")
            page = self._history_page(rtype, res_id, since, count, max(offset, 0), actor)
        except FhirError as exc:
            self._record_failure(actor, entry, exc)
            raise
        self._record_read(actor, entry)
        return page

    def _history_page(
        self, rtype: str | None, res_id: str | None, since: datetime | None, count: int, offset: int, actor: Actor
    ) -> HistoryPage:
        rv = resource_version
        query = sa.select(
            resource.c.res_id,
            rv.c.res_type,
            rv.c.version_id,
            rv.c.last_updated,
            rv.c.deleted,
            version_content(),
            rv.c.method,
        ).join(resource, resource.c.pk == rv.c.resource_pk)
        conditions: list[sa.ColumnElement[bool]] = []
        if rtype is not None:
            conditions.append(rv.c.res_type == rtype)
        if res_id is not None:
            conditions.append(resource.c.res_type == rtype)
            conditions.append(resource.c.res_id == res_id)
        if since is not None:
            conditions.append(rv.c.last_updated >= since)
        conditions.extend(self._visibility(actor, rv.c.resource_pk, rv.c.res_type))
        query = query.where(*conditions).order_by(
            rv.c.last_updated.desc(), rv.c.resource_pk.desc(), rv.c.version_id.desc()
        )
        with self.db.read() as conn:
            rows = conn.execute(query.limit(count + 1).offset(offset)).all()
            total = None
            if res_id is not None:
                total = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(rv.join(resource, resource.c.pk == rv.c.resource_pk))
                    .where(*conditions)
                ).scalar_one()
                if total == 0:
                    raise errors.not_found(f"{rtype}/{res_id} does not exist")
        entries = [
            self.opened(
                actor,
                StoredResource(
                    r.res_type,
                    r.res_id,
                    r.version_id,
                    utc(r.last_updated),
                    r.deleted,
                    r.content.encode() if r.content is not None else None,
                    r.method,
                ),
            )
            for r in rows[:count]
        ]
        return HistoryPage(entries, offset, count, total, has_more=len(rows) > count)

    def scan(self, actor: Actor, rtype: str, *, batch: int = 1000) -> Iterator[StoredResource]:
        """Every current resource of ``rtype`` the actor may see, in batches, for batch jobs (quality checks,
        indicators, exports). One audit row records the whole scan."""
        actor = require_actor(actor)
        self._check_type(rtype)
        self._check_allowed(actor, rtype, "s")
        self._record_read(actor, AuditEntry("search-type", entity_type=rtype, query="_scan=all"))
        last_pk = 0
        while True:
            with self.db.read() as conn:
                rows = conn.execute(
                    sa.select(
                        resource.c.pk,
                        resource.c.res_id,
                        resource.c.version_id,
                        resource.c.last_updated,
                        resource.c.content,
                    )
                    .where(
                        resource.c.res_type == rtype,
                        resource.c.deleted.is_(False),
                        resource.c.pk > last_pk,
                        *self._visibility(actor, resource.c.pk, resource.c.res_type),
                    )
                    .order_by(resource.c.pk)
                    .limit(batch)
                ).all()
            if not rows:
                return
            for r in rows:
                yield self.opened(
                    actor, StoredResource(rtype, r.res_id, r.version_id, utc(r.last_updated), False, r.content.encode())
                )
            last_pk = rows[-1].pk

    def opened(self, actor: Actor | None, stored: StoredResource) -> StoredResource:
        """``stored`` as ``actor`` may see it: encrypted fields revealed or masked (security/protection.py).

        Every path that serves stored JSON read around the store's own methods (search, includes, operations)
        must pass it through here; ``actor=None`` is a trusted internal job. Resources without encrypted values
        come back as the same object (the fast read path).
        """
        return _open(self.protector, actor, stored)

    # -- access (security/access.py) ----------------------------------------------------------------

    def _check_allowed(self, actor: Actor, rtype: str | None, perm: str) -> None:
        try:
            self.policy.check_interaction(actor, rtype, perm)
        except AccessDeniedError as exc:
            raise errors.forbidden(str(exc)) from exc

    def check_search(self, actor: Actor, rtype: str | None) -> None:
        """403 unless ``actor`` may search ``rtype`` (``None``: any type). For search and operations."""
        self._check_allowed(actor, rtype, "s")

    def visible_conditions(
        self, actor: Actor, pk: sa.ColumnElement[Any], rtype: sa.ColumnElement[str]
    ) -> list[sa.ColumnElement[bool]]:
        """WHERE conditions that keep a query over ``resource`` (or a table holding its ``pk`` and type) to what
        ``actor`` may see. Every query that returns resources to a caller must add them (docs/security.md)."""
        return self._visibility(actor, pk, rtype)

    def filter_visible(self, actor: Actor, conn: sa.Connection, items: list[StoredResource]) -> list[StoredResource]:
        """``items`` without those ``actor`` may not see (a post-filter for includes, operations, bundles)."""
        conditions = self._visibility(actor, resource.c.pk, resource.c.res_type)
        if not conditions or not items:
            return items
        keys = {(i.res_type, i.res_id) for i in items}
        visible: set[tuple[str, str]] = set()
        for rtype in {k[0] for k in keys}:
            ids = sorted(k[1] for k in keys if k[0] == rtype)
            rows = conn.execute(
                sa.select(resource.c.res_id).where(
                    resource.c.res_type == rtype, resource.c.res_id.in_(ids), *conditions
                )
            )
            visible.update((rtype, r[0]) for r in rows)
        return [i for i in items if (i.res_type, i.res_id) in visible]

    def _check_visible(self, actor: Actor, conn: sa.Connection, pk: int, rtype: str, hidden: str) -> None:
        """404 (not 403: do not confirm that the record exists) when ``actor`` may not see ``pk``."""
        try:
            self.policy.check_pk(actor, conn, pk, rtype)
        except AccessDeniedError as exc:
            raise errors.not_found(hidden) from exc

    def _visibility(
        self, actor: Actor, pk: sa.ColumnElement[Any], rtype: sa.ColumnElement[str]
    ) -> list[sa.ColumnElement[bool]]:
        """WHERE conditions limiting a query to what ``actor`` may see (patients in reach, readable types)."""
        out: list[sa.ColumnElement[bool]] = []
        condition = self.policy.visible_condition(actor, pk, rtype)
        if condition is not None:
            out.append(condition)
        types = self.policy.readable_types(actor)
        if types is not None:
            out.append(rtype.in_(sorted(types)))
        return out

    # -- helpers ------------------------------------------------------------------------------------

    @staticmethod
    def _check_type(rtype: str) -> None:
        if not is_resource_type(rtype):
            raise errors.not_found(f"unknown resource type {rtype!r}")

    @staticmethod
    def check_id(res_id: str) -> None:
        """Refuse an id that FHIR does not allow."""
        if not ID_PATTERN.fullmatch(res_id):
            raise errors.invalid(f"invalid id {res_id!r}: 1–64 characters of A–Z, a–z, 0–9, '-' and '.'")

    def audited_read(self, actor: Actor, entry: AuditEntry, work: Callable[[], T]) -> T:
        """Run read-only ``work`` (a search, an operation) and audit it as ``entry``, failures included."""
        actor = require_actor(actor)
        try:
            result = work()
        except FhirError as exc:
            self._record_failure(actor, entry, exc)
            raise
        self._record_read(actor, entry)
        return result

    def close(self) -> None:
        """Write the audit rows still queued; the database is closed by its owner."""
        self.audit_sink.close()
        if self.point_reader is not None:
            self.point_reader.close()

    def _record_read(self, actor: Actor, entry: AuditEntry) -> None:
        self._submit_read(actor, entry).result()

    def _submit_read(self, actor: Actor, entry: AuditEntry) -> Future[None]:
        if self.audit_settings.audit_reads:
            return self.audit_sink.submit([audit.audit_row(actor, entry)])
        return _DONE

    def _record_failure(self, actor: Actor, entry: AuditEntry, error: FhirError) -> None:
        self.audit_sink.submit(self._failure_rows(actor, entry, error)).result()

    @staticmethod
    def _failure_rows(actor: Actor, entry: AuditEntry, error: FhirError) -> list[dict[str, Any]]:
        """The audit row of ``error`` (none if it was recorded already), marking it recorded."""
        if error.audited:
            return []
        outcome = Outcome.MINOR_FAILURE if error.status < 500 else Outcome.SERIOUS_FAILURE
        failed = AuditEntry(
            entry.interaction,
            outcome,
            str(error)[:500],
            entry.entity_type,
            entry.entity_id,
            entry.entity_version,
            entry.query,
        )
        error.audited = True
        return [audit.audit_row(actor, failed)]
