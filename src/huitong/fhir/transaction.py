"""The unit of work: every resource write happens inside one :class:`Transaction`.

A Transaction is bound to one database connection inside one database transaction, so a FHIR
transaction bundle of many resources — or an HL7 message that becomes eleven resources — commits or
rolls back as one. It writes the current version (``resource``), the version row (``resource_version``; the
replaced version's JSON moves into its own row, so each version's JSON is stored once), calls the write hooks
(search indexes) and collects the audit entries that :meth:`huitong.fhir.store.ResourceStore.transaction` appends
before commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from huitong.db import bulk
from huitong.db.schema import resource, resource_version
from huitong.fhir import errors, jsonio
from huitong.fhir.hooks import BufferingHook, ResourceChange, WriteHook
from huitong.fhir.stored import StoredResource, instant, utc, with_meta, without_server_meta
from huitong.fhir.validate import ID_PATTERN
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry

#: Statements built once: the write path runs them for every resource.
# The new rows' keys come back with their type and id, so their order does not matter (SQLite's bulk insert does
# not promise one).
_INSERT_CURRENT = resource.insert().returning(resource.c.res_type, resource.c.res_id, resource.c.pk)
_PG_NEXT_PKS = sa.text("SELECT nextval(pg_get_serial_sequence('resource', 'pk')) FROM generate_series(1, :n)")
_UPDATE_CURRENT = (
    resource.update()
    .where(resource.c.pk == sa.bindparam("b_pk"))
    .values(
        version_id=sa.bindparam("b_version"),
        last_updated=sa.bindparam("b_updated"),
        deleted=sa.bindparam("b_deleted"),
        content=sa.bindparam("b_content"),
    )
)
#: The JSON of the version being replaced moves into its ``resource_version`` row, which held none while it was
#: current (each version's JSON is stored once; ``db/schema.py``). Run before ``resource`` is overwritten.
_KEEP_PREVIOUS = (
    resource_version.update()
    .where(
        resource_version.c.resource_pk == sa.bindparam("b_pk"),
        resource_version.c.version_id == sa.bindparam("b_previous"),
    )
    .values(content=sa.select(resource.c.content).where(resource.c.pk == sa.bindparam("b_pk")).scalar_subquery())
)
_CURRENT_COLUMNS = (resource.c.res_id, resource.c.pk, resource.c.version_id, resource.c.deleted, resource.c.content)
_CURRENT = sa.select(*_CURRENT_COLUMNS).where(
    resource.c.res_type == sa.bindparam("b_type"), resource.c.res_id.in_(sa.bindparam("b_ids", expanding=True))
)
_CURRENT_LOCKED = _CURRENT.order_by(resource.c.res_id).with_for_update()


def _current_pg(lock: bool) -> sa.TextClause:
    """PostgreSQL: the keys as two array parameters (types, ids) — one statement text whatever their number or
    types, which the driver parses once (an expanded IN list of 500 placeholders was parsed again on every chunk of
    an import), and one round trip for a write of many types (a lab message's Patient, Encounter, report and results
    took one per type) — each looked up by the unique (type, id) index in a nested loop over the arrays, in their
    order (sorted: concurrent writers lock in the same order). ``LIMIT 1`` (the key is unique) and ``FOR UPDATE``
    keep the subquery from being flattened into a join. With ``res_id = ANY(:ids)`` the planner, on a table whose
    statistics were older than its rows (a new database during its first import), took the type's other index and
    compared every row of the type with the whole array: 13–22 ms per chunk and type, growing with the table, half
    the server's time of an NDJSON import. This form costs less where the plan is right, but without statistics the
    planner may still pick another index of the type for each look-up (seen with chunks of 5,000), so the importer
    keeps the table's statistics fresh as it fills it (``Importer._keep_statistics``; docs/fhir-store.md)."""
    statement = (
        "SELECT r.res_type, r.res_id, r.pk, r.version_id, r.deleted, r.content"
        " FROM unnest(CAST(:b_types AS varchar[]), CAST(:b_ids AS varchar[])) AS k(t, id) CROSS JOIN LATERAL"
        " (SELECT res_type, res_id, pk, version_id, deleted, content FROM resource"
        " WHERE res_type = k.t AND res_id = k.id "
    )
    types = sa.bindparam("b_types", type_=postgresql.ARRAY(sa.String))
    ids = sa.bindparam("b_ids", type_=postgresql.ARRAY(sa.String))
    return sa.text(statement + ("FOR UPDATE) AS r" if lock else "LIMIT 1) AS r")).bindparams(types, ids)


_CURRENT_PG = _current_pg(lock=False)
_CURRENT_PG_LOCKED = _current_pg(lock=True)
_READ = sa.select(resource.c.version_id, resource.c.last_updated, resource.c.deleted, resource.c.content).where(
    resource.c.res_type == sa.bindparam("b_type"), resource.c.res_id == sa.bindparam("b_id")
)
#: PostgreSQL: transaction-level advisory locks on the ``Type/id`` of resources about to be created, taken in
#: one sorted order by every writer (PostgreSQL evaluates the volatile lock function after the sort).
_CREATE_LOCKS = sa.text(
    "SELECT pg_advisory_xact_lock(:b_space, hashtext(k)) FROM unnest(CAST(:b_keys AS text[])) AS k ORDER BY k"
)
_CREATE_LOCK_SPACE = 0x48540001  # "HT" + 1: Huitong's lock space for resource creation
_CHUNK = 500  # ids per IN list


@dataclass(slots=True)
class _Write:
    """One version about to be written; ``pk`` is ``None`` for a resource that does not exist yet."""

    rtype: str
    rid: str
    version: int
    doc: dict[str, Any] | None
    method: str
    pk: int | None = None
    text: str | None = None  # the JSON as the database takes it
    raw: bytes | None = None  # the same JSON as bytes, for the caller (no second encoding)
    index: object | None = None  # index rows prepared from ``doc`` (see put_many)


@dataclass(frozen=True, slots=True)
class _Current:
    pk: int
    version: int
    deleted: bool
    content: str | None

    def holds(self, body: dict[str, Any], keep_source: bool) -> bool:
        """Whether this version is live and already holds ``body``: writing it would make no new version."""
        return not self.deleted and self.content is not None and _same_content(self.content, body, keep_source)


class Transaction:
    """Writes and reads within one database transaction. Obtain one from ``ResourceStore.transaction``.

    Many resources at once (an HL7 message's, an import chunk) go through :meth:`put_many` and
    :meth:`create_many`: one query finds their current versions and each table gets one ``executemany``, with
    exactly the outcome of calling :meth:`update` or :meth:`create` for each in turn.
    """

    def __init__(
        self,
        conn: sa.Connection,
        actor: Actor,
        hooks: Sequence[WriteHook],
        *,
        allow_update_create: bool = True,
    ) -> None:
        self.conn = conn
        self.actor = actor
        self._hooks = hooks
        # checked once: ``isinstance`` against a runtime protocol inspects every attribute each time (~8 % of a
        # batch bundle's import, whose every entry opens a savepoint)
        self._buffering = [hook for hook in hooks if isinstance(hook, BufferingHook)]
        self._allow_update_create = allow_update_create
        self._lock = conn.dialect.name == "postgresql"
        self.audit_entries: list[AuditEntry] = []

    # -- writes -------------------------------------------------------------------------------------

    def create(self, body: dict[str, Any], *, res_id: str | None = None) -> StoredResource:
        """Store ``body`` as version 1 of a new resource (a new UUID as id unless ``res_id`` is given)."""
        return self._create([body], [res_id])[0]

    def create_many(
        self, bodies: Sequence[dict[str, Any]], *, ids: Sequence[str | None] | None = None
    ) -> list[StoredResource]:
        """Store each of ``bodies`` as version 1 of a new resource (ids: new UUIDs, or those of ``ids``)."""
        return self._create(bodies, ids)

    def _create(self, bodies: Sequence[dict[str, Any]], ids: Sequence[str | None] | None) -> list[StoredResource]:
        now = datetime.now(UTC)
        writes = []
        for i, body in enumerate(bodies):
            rid = (ids[i] if ids is not None else None) or str(uuid.uuid4())
            writes.append(_Write(body["resourceType"], rid, 1, body, "POST"))
            self.audit_entries.append(
                AuditEntry("create", entity_type=body["resourceType"], entity_id=rid, entity_version=1)
            )
        return self._apply(writes, now)

    def update(self, body: dict[str, Any], res_id: str, *, if_match: int | None = None) -> tuple[StoredResource, bool]:
        """Store ``body`` as the next version of ``res_id``; returns (version, created).

        An update that changes nothing but ``meta.versionId``/``meta.lastUpdated`` makes no new version, so
        that replaying a message or re-importing a file is idempotent.
        """
        body_id = body.get("id")
        if body_id is not None and body_id != res_id:
            raise errors.invalid(
                f"the resource's id {body_id!r} does not match the URL's id {res_id!r}", f"{body['resourceType']}.id"
            )
        return self._put([(body, res_id)], if_match=if_match)[0]

    def put_many(
        self,
        bodies: Sequence[dict[str, Any]],
        *,
        index: Sequence[object | None] | None = None,
        keep_source: bool = False,
        create_only: Collection[tuple[str, str]] = (),
    ) -> list[tuple[StoredResource, bool]]:
        """Update-or-create each of ``bodies`` under its own ``id``, as :meth:`update` would one after another.

        ``index``: per body, its search-index rows prepared ahead from exactly that body
        (:class:`~huitong.fhir.search.index.PreparedIndex`, e.g. by the ingest pipeline's worker processes), or
        ``None`` to let the indexer evaluate it in the transaction. ``keep_source``: a body that differs from the
        stored version only in ``meta.source`` changes nothing (the integration engine: a second sending system
        restating the same patient or visit keeps the first sender, instead of a new version per message).
        ``create_only``: the (type, id) of bodies written only if the resource does not exist (nor was deleted);
        an existing one is kept as it is and returned — the integration engine's visit of a lab result, which the
        ADT feed owns (``ingest/mapping.py``).
        """
        pairs = []
        for body in bodies:
            rid = body.get("id")
            if not isinstance(rid, str):
                raise errors.invalid(f"a {body['resourceType']} without an id cannot be written by id", "id")
            pairs.append((body, rid))
        prepared = list(index) if index is not None else [None] * len(pairs)
        if len(prepared) != len(pairs):
            raise ValueError("put_many needs one prepared index (or None) per body")
        if len({(b["resourceType"], rid) for b, rid in pairs}) < len(pairs):  # one resource twice: in turn
            return [
                self._put([pair], index=[ix], keep_source=keep_source, create_only=create_only)[0]
                for pair, ix in zip(pairs, prepared, strict=True)
            ]
        return self._put(pairs, index=prepared, keep_source=keep_source, create_only=create_only)

    def delete(self, rtype: str, res_id: str, *, if_match: int | None = None) -> StoredResource | None:
        """Delete ``rtype/res_id`` with a versioned tombstone; ``None`` if there was nothing to delete."""
        current = self._current_rows([(rtype, res_id)]).get((rtype, res_id))
        if current is None:
            if if_match is not None:
                raise errors.precondition_failed(f"{rtype}/{res_id} does not exist, so If-Match cannot hold")
            self.audit_entries.append(
                AuditEntry("delete", entity_type=rtype, entity_id=res_id, outcome_desc="nothing to delete")
            )
            return None
        if if_match is not None and if_match != current.version:
            raise errors.precondition_failed(f"{rtype}/{res_id} is at version {current.version}, not {if_match}")
        if current.deleted:
            self.audit_entries.append(
                AuditEntry(
                    "delete",
                    entity_type=rtype,
                    entity_id=res_id,
                    entity_version=current.version,
                    outcome_desc="already deleted",
                )
            )
            return StoredResource(rtype, res_id, current.version, datetime.now(UTC), True, None, "DELETE")
        write = _Write(rtype, res_id, current.version + 1, None, "DELETE", pk=current.pk)
        self.audit_entries.append(
            AuditEntry("delete", entity_type=rtype, entity_id=res_id, entity_version=write.version)
        )
        return self._apply([write], datetime.now(UTC))[0]

    # -- bulk rows and savepoints -------------------------------------------------------------------

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """A block whose hook rows (search index) are collected and inserted in bulk when it ends."""
        with ExitStack() as stack:
            for hook in self._buffering:
                stack.enter_context(hook.deferred(self.conn))
            yield

    def flush(self) -> None:
        """Insert the hook rows collected so far, e.g. before searching inside this transaction."""
        for hook in self._buffering:
            hook.flush(self.conn)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the transaction that can fail alone: on an error its writes, hook rows and audit entries
        are undone and the error is raised on; the rest of the transaction goes on (batch entries, import lines).
        """
        mark = len(self.audit_entries)
        self.flush()  # earlier writes' index rows go in before the savepoint: its rollback must not undo them
        savepoint = self.conn.begin_nested()
        try:
            with self.deferred():
                yield
        except BaseException:
            savepoint.rollback()
            del self.audit_entries[mark:]
            raise
        savepoint.commit()

    # -- reads within the transaction -------------------------------------------------------------

    def read(self, rtype: str, res_id: str) -> StoredResource | None:
        """The current version of ``rtype/res_id`` as this transaction sees it (deleted ones included)."""
        row = self.conn.execute(_READ, {"b_type": rtype, "b_id": res_id}).first()
        if row is None:
            return None
        content = row.content.encode() if row.content is not None else None
        return StoredResource(rtype, res_id, row.version_id, utc(row.last_updated), row.deleted, content)

    # -- internals ----------------------------------------------------------------------------------

    def _put(
        self,
        pairs: Sequence[tuple[dict[str, Any], str]],
        *,
        if_match: int | None = None,
        index: Sequence[object | None] | None = None,
        keep_source: bool = False,
        create_only: Collection[tuple[str, str]] = (),
    ) -> list[tuple[StoredResource, bool]]:
        """Update-or-create ``(body, id)`` pairs (no id twice): the write half of :meth:`update`; ``create_only``
        as in :meth:`put_many`."""
        for _body, rid in pairs:
            if not ID_PATTERN.fullmatch(rid):
                raise errors.invalid(f"invalid id {rid!r}")
        keys = [(body["resourceType"], rid) for body, rid in pairs]
        current = self._current_rows(keys, lock=False)
        if self._lock:  # PostgreSQL: concurrent writers of the same resources
            missing = sorted({f"{rtype}/{rid}" for rtype, rid in keys if (rtype, rid) not in current})
            if missing:  # one creator at a time per new resource; the next one finds it and updates it
                self.conn.execute(_CREATE_LOCKS, {"b_space": _CREATE_LOCK_SPACE, "b_keys": missing})
                current.update(self._current_rows([k for k in keys if k not in current], lock=True))
            # lock only the rows this write changes, so that unchanged shared ones (a ward, a doctor) never wait
            changing = [
                key
                for (body, _rid), key in zip(pairs, keys, strict=True)
                if (row := current.get(key)) is not None
                and key not in create_only
                and (if_match is not None or not row.holds(body, keep_source))
            ]
            if changing:
                current.update(self._current_rows(changing, lock=True))
        now = datetime.now(UTC)
        writes: list[_Write] = []
        slots: list[tuple[int, bool] | StoredResource] = []  # (index into writes, created) or an unchanged version
        for n, (body, rid) in enumerate(pairs):
            rtype = body["resourceType"]
            row = current.get((rtype, rid))
            prepared = index[n] if index is not None else None
            if row is None:
                if if_match is not None:
                    raise errors.precondition_failed(f"{rtype}/{rid} does not exist, so If-Match cannot hold")
                if not self._allow_update_create:
                    raise errors.not_supported(f"{rtype}/{rid} does not exist and update-as-create is disabled")
                slots.append((len(writes), True))
                writes.append(_Write(rtype, rid, 1, body, "PUT", index=prepared))
                self.audit_entries.append(AuditEntry("update", entity_type=rtype, entity_id=rid, entity_version=1))
                continue
            if (rtype, rid) in create_only:  # exists: kept as it is
                self.audit_entries.append(
                    AuditEntry(
                        "update", entity_type=rtype, entity_id=rid, entity_version=row.version, outcome_desc="kept"
                    )
                )
                if row.deleted or row.content is None:
                    slots.append(StoredResource(rtype, rid, row.version, now, True, None, "DELETE"))
                else:
                    slots.append(self._as_stored(rtype, rid, row.version, row.content))
                continue
            if if_match is not None and if_match != row.version:
                raise errors.precondition_failed(
                    f"{rtype}/{rid} is at version {row.version}, not {if_match}: read it again and re-apply the change"
                )
            if row.content is not None and row.holds(body, keep_source):  # (narrows content for the type checker)
                self.audit_entries.append(
                    AuditEntry(
                        "update", entity_type=rtype, entity_id=rid, entity_version=row.version, outcome_desc="no change"
                    )
                )
                slots.append(self._as_stored(rtype, rid, row.version, row.content))
                continue
            slots.append((len(writes), False))
            writes.append(_Write(rtype, rid, row.version + 1, body, "PUT", pk=row.pk, index=prepared))
            self.audit_entries.append(
                AuditEntry("update", entity_type=rtype, entity_id=rid, entity_version=row.version + 1)
            )
        stored = self._apply(writes, now) if writes else []
        return [(slot, False) if isinstance(slot, StoredResource) else (stored[slot[0]], slot[1]) for slot in slots]

    def lock_for_writing(
        self,
        bodies: Sequence[dict[str, Any]],
        *,
        keep_source: bool = False,
        create_only: Collection[tuple[str, str]] = (),
    ) -> None:
        """PostgreSQL: take now, in one sorted order, the lock that writing each of ``bodies`` later in this
        transaction would take on its resource — the create lock of a new one, the same advisory lock for one whose
        stored version differs — so that a transaction writing in several steps cannot deadlock with another
        doing the same. (Each :meth:`put_many` takes its own locks in order; two transactions of several
        ``put_many`` calls each could take them in crossing orders, e.g. two ingest batches naming the same two new
        wards in different runs, and PostgreSQL would abort one after ``deadlock_timeout``.) Resources stored
        unchanged are not locked, so shared ones that do not change (a ward, a doctor) never wait, nor are existing
        ones of ``create_only`` (kept as they are, :meth:`put_many`). No-op on SQLite.
        """
        if not self._lock or not bodies:
            return
        keys = [(str(body["resourceType"]), str(body.get("id"))) for body in bodies]
        current = self._current_rows(keys, lock=False)
        changing: set[str] = set()
        for body, key in zip(bodies, keys, strict=True):
            row = current.get(key)
            if row is None or (key not in create_only and not row.holds(body, keep_source)):
                changing.add(f"{key[0]}/{key[1]}")
        if changing:
            self.conn.execute(_CREATE_LOCKS, {"b_space": _CREATE_LOCK_SPACE, "b_keys": sorted(changing)})

    def absent(self, keys: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """Which of ``keys`` (type, id) were never created (no row, not even a deleted one): what a write of them
        would create. Keys only; nothing is read for a caller, so nothing is audited."""
        current = self._current_rows(keys, lock=False)
        return [key for key in dict.fromkeys(keys) if key not in current]

    def _current_rows(self, keys: Sequence[tuple[str, str]], *, lock: bool = True) -> dict[tuple[str, str], _Current]:
        """The current rows of the resources ``keys`` (type, id) that exist; on PostgreSQL locked with ``lock``,
        in (type, id) order so that concurrent writers take their locks in the same order (no deadlock)."""
        out: dict[tuple[str, str], _Current] = {}
        ordered = sorted(set(keys))
        if self.conn.dialect.name == "postgresql":  # every type in one statement
            query = _CURRENT_PG_LOCKED if self._lock and lock else _CURRENT_PG
            for start in range(0, len(ordered), _CHUNK):
                part = ordered[start : start + _CHUNK]
                params = {"b_types": [k[0] for k in part], "b_ids": [k[1] for k in part]}
                for row in self.conn.execute(query, params):
                    out[(row.res_type, row.res_id)] = _Current(row.pk, row.version_id, row.deleted, row.content)
            return out
        by_type: dict[str, list[str]] = {}
        for rtype, rid in ordered:
            by_type.setdefault(rtype, []).append(rid)
        for rtype, ids in by_type.items():
            for start in range(0, len(ids), _CHUNK):
                chunk = {"b_type": rtype, "b_ids": ids[start : start + _CHUNK]}
                for row in self.conn.execute(_CURRENT_LOCKED if self._lock and lock else _CURRENT, chunk):
                    out[(rtype, row.res_id)] = _Current(row.pk, row.version_id, row.deleted, row.content)
        return out

    def _apply(self, writes: list[_Write], now: datetime) -> list[StoredResource]:
        """Write ``writes`` (current rows, version rows), then call the hooks; one statement per table."""
        if not writes:
            return []
        stamp = instant(now)
        for w in writes:
            if w.doc is not None:
                w.doc = with_meta(w.doc, w.rid, w.version, stamp)
                w.raw = jsonio.dumps(w.doc)
                w.text = w.raw.decode()
        new = [w for w in writes if w.pk is None]
        if new:
            rows = [
                {
                    "res_type": w.rtype,
                    "res_id": w.rid,
                    "version_id": 1,
                    "last_updated": now,
                    "deleted": False,
                    "content": w.text,
                }
                for w in new
            ]
            try:
                if self.conn.dialect.name == "postgresql" and len(rows) >= bulk.COPY_MIN_ROWS:
                    # Many new resources (an import chunk, a run of messages): keys drawn from the sequence in one
                    # query and the rows sent by COPY — INSERT … RETURNING of thousands of rows made the driver
                    # parse one huge statement per chunk (~15 % of an import).
                    drawn = sorted(self.conn.execute(_PG_NEXT_PKS, {"n": len(rows)}).scalars())  # keys in order
                    for w, row, pk in zip(new, rows, drawn, strict=True):
                        w.pk = row["pk"] = int(pk)
                    bulk.insert_rows(self.conn, resource, rows)
                else:
                    pks = {(r.res_type, r.res_id): r.pk for r in self.conn.execute(_INSERT_CURRENT, rows)}
                    for w in new:
                        w.pk = pks[(w.rtype, w.rid)]
            except sa.exc.IntegrityError as exc:
                names = ", ".join(f"{w.rtype}/{w.rid}" for w in new[:3])
                raise errors.conflict(f"{names} was created concurrently (or twice); retry the request") from exc
        old = [w for w in writes if w.version > 1 or w.method == "DELETE"]
        if old:
            self.conn.execute(_KEEP_PREVIOUS, [{"b_pk": w.pk, "b_previous": w.version - 1} for w in old])
            self.conn.execute(
                _UPDATE_CURRENT,
                [
                    {
                        "b_pk": w.pk,
                        "b_version": w.version,
                        "b_updated": now,
                        "b_deleted": w.doc is None,
                        "b_content": w.text,
                    }
                    for w in old
                ],
            )
        bulk.insert_rows(
            self.conn,
            resource_version,
            [
                {
                    "resource_pk": w.pk,
                    "version_id": w.version,
                    "res_type": w.rtype,
                    "last_updated": now,
                    "method": w.method,
                    "deleted": w.doc is None,
                    "content": None,  # the current version's JSON is in ``resource`` only
                }
                for w in writes
            ],
        )
        changes = [
            ResourceChange(
                _pk(w), w.rtype, w.rid, w.version, w.doc, created=w.version == 1 and w.method != "DELETE", index=w.index
            )
            for w in writes
        ]
        self._notify(changes)
        return [StoredResource(w.rtype, w.rid, w.version, now, w.doc is None, w.raw, w.method) for w in writes]

    def _notify(self, changes: Sequence[ResourceChange]) -> None:
        """Call the write hooks; a hook with ``resources_written`` takes all changes at once."""
        for hook in self._hooks:
            many = getattr(hook, "resources_written", None)
            if many is not None:
                many(self.conn, changes)
            else:
                for change in changes:
                    hook.resource_written(self.conn, change)

    def _as_stored(self, rtype: str, rid: str, version: int, content: str) -> StoredResource:
        meta = jsonio.loads_fast(content).get("meta", {})
        last = datetime.fromisoformat(meta["lastUpdated"]) if "lastUpdated" in meta else datetime.now(UTC)
        return StoredResource(rtype, rid, version, last, False, content.encode())


def _pk(write: _Write) -> int:
    if write.pk is None:
        raise RuntimeError(f"{write.rtype}/{write.rid} has no row yet")
    return write.pk


def _same_content(stored_text: str, body: dict[str, Any], keep_source: bool = False) -> bool:
    stored = without_server_meta(jsonio.loads(stored_text), keep_source)
    incoming = without_server_meta(body, keep_source)
    stored.pop("id", None)
    incoming.pop("id", None)
    return jsonio.dumps_canonical(stored) == jsonio.dumps_canonical(incoming)
