"""The unit of work: every resource write happens inside one :class:`Transaction`.

A Transaction is bound to one database connection inside one database transaction, so a FHIR
transaction bundle of many resources — or an HL7 message that becomes eleven resources — commits or
rolls back as one. It writes the current version (``resource``), the version row (``resource_version``),
calls the write hooks (search indexes) and collects the audit entries that
:meth:`huitong.fhir.store.ResourceStore.transaction` appends before commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from huitong.db.schema import resource, resource_version
from huitong.fhir import errors, jsonio
from huitong.fhir.hooks import ResourceChange, WriteHook
from huitong.fhir.stored import StoredResource, utc, with_meta, without_server_meta
from huitong.fhir.validate import ID_PATTERN
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry


class Transaction:
    """Writes and reads within one database transaction. Obtain one from ``ResourceStore.transaction``."""

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
        self._allow_update_create = allow_update_create
        self._lock = conn.dialect.name == "postgresql"
        self.audit_entries: list[AuditEntry] = []

    # -- writes -------------------------------------------------------------------------------------

    def create(self, body: dict[str, Any], *, res_id: str | None = None) -> StoredResource:
        """Store ``body`` as version 1 of a new resource (a new UUID as id unless ``res_id`` is given)."""
        rtype = body["resourceType"]
        rid = res_id or str(uuid.uuid4())
        now = datetime.now(UTC)
        stored = self._insert_new(rtype, rid, body, now, method="POST")
        self.audit_entries.append(AuditEntry("create", entity_type=rtype, entity_id=rid, entity_version=1))
        return stored

    def update(self, body: dict[str, Any], res_id: str, *, if_match: int | None = None) -> tuple[StoredResource, bool]:
        """Store ``body`` as the next version of ``res_id``; returns (version, created).

        An update that changes nothing but ``meta.versionId``/``meta.lastUpdated`` makes no new version, so
        that replaying a message or re-importing a file is idempotent.
        """
        rtype = body["resourceType"]
        if not ID_PATTERN.fullmatch(res_id):
            raise errors.invalid(f"invalid id {res_id!r}")
        body_id = body.get("id")
        if body_id is not None and body_id != res_id:
            raise errors.invalid(f"the resource's id {body_id!r} does not match the URL's id {res_id!r}", f"{rtype}.id")
        current = self._current_row(rtype, res_id)
        now = datetime.now(UTC)
        if current is None:
            if if_match is not None:
                raise errors.precondition_failed(f"{rtype}/{res_id} does not exist, so If-Match cannot hold")
            if not self._allow_update_create:
                raise errors.not_supported(f"{rtype}/{res_id} does not exist and update-as-create is disabled")
            stored = self._insert_new(rtype, res_id, body, now, method="PUT")
            self.audit_entries.append(AuditEntry("update", entity_type=rtype, entity_id=res_id, entity_version=1))
            return stored, True
        pk, version, deleted, content = current
        if if_match is not None and if_match != version:
            raise errors.precondition_failed(
                f"{rtype}/{res_id} is at version {version}, not {if_match}: read it again and re-apply the change"
            )
        if not deleted and content is not None and _same_content(content, body):
            self.audit_entries.append(
                AuditEntry(
                    "update",
                    entity_type=rtype,
                    entity_id=res_id,
                    entity_version=version,
                    outcome_desc="no change",
                )
            )
            return self._as_stored(rtype, res_id, version, content, pk), False
        stored = self._write_version(pk, rtype, res_id, version + 1, body, now, method="PUT")
        self.audit_entries.append(AuditEntry("update", entity_type=rtype, entity_id=res_id, entity_version=version + 1))
        return stored, False

    def delete(self, rtype: str, res_id: str, *, if_match: int | None = None) -> StoredResource | None:
        """Delete ``rtype/res_id`` with a versioned tombstone; ``None`` if there was nothing to delete."""
        current = self._current_row(rtype, res_id)
        if current is None:
            if if_match is not None:
                raise errors.precondition_failed(f"{rtype}/{res_id} does not exist, so If-Match cannot hold")
            self.audit_entries.append(
                AuditEntry("delete", entity_type=rtype, entity_id=res_id, outcome_desc="nothing to delete")
            )
            return None
        pk, version, deleted, _content = current
        if if_match is not None and if_match != version:
            raise errors.precondition_failed(f"{rtype}/{res_id} is at version {version}, not {if_match}")
        if deleted:
            self.audit_entries.append(
                AuditEntry(
                    "delete",
                    entity_type=rtype,
                    entity_id=res_id,
                    entity_version=version,
                    outcome_desc="already deleted",
                )
            )
            return StoredResource(rtype, res_id, version, datetime.now(UTC), True, None, "DELETE")
        stored = self._write_version(pk, rtype, res_id, version + 1, None, datetime.now(UTC), method="DELETE")
        self.audit_entries.append(AuditEntry("delete", entity_type=rtype, entity_id=res_id, entity_version=version + 1))
        return stored

    # -- reads within the transaction -------------------------------------------------------------

    def read(self, rtype: str, res_id: str) -> StoredResource | None:
        """The current version of ``rtype/res_id`` as this transaction sees it (deleted ones included)."""
        row = self.conn.execute(
            sa.select(resource.c.version_id, resource.c.last_updated, resource.c.deleted, resource.c.content).where(
                resource.c.res_type == rtype, resource.c.res_id == res_id
            )
        ).first()
        if row is None:
            return None
        content = row.content.encode() if row.content is not None else None
        return StoredResource(rtype, res_id, row.version_id, utc(row.last_updated), row.deleted, content)

    # -- internals ----------------------------------------------------------------------------------

    def _current_row(self, rtype: str, res_id: str) -> tuple[int, int, bool, str | None] | None:
        query = sa.select(resource.c.pk, resource.c.version_id, resource.c.deleted, resource.c.content).where(
            resource.c.res_type == rtype, resource.c.res_id == res_id
        )
        if self._lock:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return None if row is None else (row.pk, row.version_id, row.deleted, row.content)

    def _insert_new(self, rtype: str, rid: str, body: dict[str, Any], now: datetime, *, method: str) -> StoredResource:
        doc = with_meta(body, rid, 1, now)
        text = jsonio.dumps(doc).decode()
        try:
            pk = self.conn.execute(
                resource.insert().returning(resource.c.pk),
                {
                    "res_type": rtype,
                    "res_id": rid,
                    "version_id": 1,
                    "last_updated": now,
                    "deleted": False,
                    "content": text,
                },
            ).scalar_one()
        except sa.exc.IntegrityError as exc:
            raise errors.conflict(f"{rtype}/{rid} was created concurrently; retry the request") from exc
        self.conn.execute(
            resource_version.insert(),
            {
                "resource_pk": pk,
                "version_id": 1,
                "res_type": rtype,
                "last_updated": now,
                "method": method,
                "deleted": False,
                "content": text,
            },
        )
        self._notify(ResourceChange(pk, rtype, rid, 1, doc, created=True))
        return StoredResource(rtype, rid, 1, now, False, text.encode(), method)

    def _write_version(
        self,
        pk: int,
        rtype: str,
        rid: str,
        version: int,
        body: dict[str, Any] | None,
        now: datetime,
        *,
        method: str,
    ) -> StoredResource:
        doc = with_meta(body, rid, version, now) if body is not None else None
        text = jsonio.dumps(doc).decode() if doc is not None else None
        self.conn.execute(
            resource.update()
            .where(resource.c.pk == pk)
            .values(version_id=version, last_updated=now, deleted=doc is None, content=text)
        )
        self.conn.execute(
            resource_version.insert(),
            {
                "resource_pk": pk,
                "version_id": version,
                "res_type": rtype,
                "last_updated": now,
                "method": method,
                "deleted": doc is None,
                "content": text,
            },
        )
        self._notify(ResourceChange(pk, rtype, rid, version, doc, created=False))
        return StoredResource(rtype, rid, version, now, doc is None, text.encode() if text else None, method)

    def _as_stored(self, rtype: str, rid: str, version: int, content: str, pk: int) -> StoredResource:
        meta = jsonio.loads_fast(content).get("meta", {})
        last = datetime.fromisoformat(meta["lastUpdated"]) if "lastUpdated" in meta else datetime.now(UTC)
        return StoredResource(rtype, rid, version, last, False, content.encode())

    def _notify(self, change: ResourceChange) -> None:
        for hook in self._hooks:
            hook.resource_written(self.conn, change)


def _same_content(stored_text: str, body: dict[str, Any]) -> bool:
    stored = without_server_meta(jsonio.loads(stored_text))
    incoming = without_server_meta(body)
    stored.pop("id", None)
    incoming.pop("id", None)
    return jsonio.dumps_canonical(stored) == jsonio.dumps_canonical(incoming)
