"""Reading resources for views straight out of the ``resource`` table (SQLite or PostgreSQL).

Views read in bulk and read-only, so they bypass the per-resource API of
:class:`~huitong.fhir.store.ResourceStore`; each refresh still leaves one audit row naming the actor,
the resource type and how many resources it read (:func:`record_bulk_read`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import sqlalchemy as sa

from huitong.db import Database
from huitong.db.schema import resource
from huitong.fhir.stored import utc
from huitong.security import audit
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry


@dataclass(frozen=True, slots=True)
class StoredRow:
    """The current version of one resource (``content`` None once deleted)."""

    res_id: str
    version_id: int
    last_updated: datetime
    deleted: bool
    content: dict[str, Any] | None


def parse_content(text: str) -> dict[str, Any]:
    """Resource JSON with decimals kept exact (``1.50`` stays ``1.50``, as FHIRPath needs)."""
    data: dict[str, Any] = json.loads(text, parse_float=Decimal)
    return data


def read_changed(
    db: Database, res_type: str, since: datetime | None, *, batch_size: int = 2000
) -> Iterator[list[StoredRow]]:
    """Resources of ``res_type`` last updated at or after ``since`` (all if None), oldest first, in batches.

    Deleted resources are included (as tombstones) so their rows can be removed from the view.
    """
    for batch in read_changed_text(db, res_type, since, batch_size=batch_size):
        yield [
            StoredRow(
                r.res_id, r.version_id, r.last_updated, r.deleted, parse_content(r.text) if r.text is not None else None
            )
            for r in batch
        ]


@dataclass(frozen=True, slots=True)
class StoredText:
    """The current version of one resource as stored: its JSON text (None once deleted), not yet parsed."""

    res_id: str
    version_id: int
    last_updated: datetime
    deleted: bool
    text: str | None


class Reader(Protocol):
    """Anything with :meth:`huitong.db.Database.read` (a worker process has only a read engine)."""

    def read(self) -> AbstractContextManager[sa.Connection]: ...


def _changed_since(res_type: str, since: datetime | None, *columns: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """``columns`` of the resources of ``res_type`` written at or after ``since``, oldest first."""
    query = sa.select(*columns).where(resource.c.res_type == res_type)
    if since is not None:
        query = query.where(resource.c.last_updated >= since)
    return query.order_by(resource.c.last_updated, resource.c.pk)


def read_changed_text(
    db: Reader, res_type: str, since: datetime | None, *, batch_size: int = 2000
) -> Iterator[list[StoredText]]:
    """As :func:`read_changed`, with the JSON text left unparsed (the caller decides how to parse it)."""
    columns = (resource.c.res_id, resource.c.version_id, resource.c.last_updated, resource.c.deleted)
    query = _changed_since(res_type, since, *columns, resource.c.content)
    with db.read() as conn:
        result = conn.execution_options(yield_per=batch_size).execute(query)
        for partition in result.partitions(batch_size):
            yield [
                StoredText(
                    row.res_id,
                    row.version_id,
                    utc(row.last_updated),
                    bool(row.deleted),
                    None if row.deleted else row.content,
                )
                for row in partition
            ]


@dataclass(frozen=True, slots=True)
class MetaBatch:
    """Which versions of a batch of resources are current, without their JSON: columns, in read order."""

    pks: list[int]
    res_ids: list[str]
    versions: list[int | None]  # None once deleted
    newest: datetime  # last_updated of the batch's last (newest) resource


def read_changed_meta(
    db: Reader, res_type: str, since: datetime | None, *, batch_size: int = 2000
) -> Iterator[MetaBatch]:
    """As :func:`read_changed_text`, without the JSON: which resources changed, to fetch only those needed."""
    columns = (resource.c.pk, resource.c.res_id, resource.c.version_id, resource.c.deleted)
    query = _changed_since(res_type, since, *columns, resource.c.last_updated)
    with db.read() as conn:
        result = conn.execution_options(yield_per=batch_size).execute(query)
        for partition in result.partitions(batch_size):
            pks, res_ids, versions, deleted, _ = (list(column) for column in zip(*partition, strict=True))
            yield MetaBatch(
                [int(pk) for pk in pks],
                res_ids,
                [None if gone else version for version, gone in zip(versions, deleted, strict=True)],
                utc(partition[-1].last_updated),
            )


def read_texts(db: Reader, pks: list[int], *, chunk: int = 500) -> dict[int, StoredText]:
    """The current version of each resource of ``pks`` as stored now (version, time and JSON read together, so a
    resource updated since its metadata was read comes back whole in its newer version)."""
    out: dict[int, StoredText] = {}
    columns = (resource.c.pk, resource.c.res_id, resource.c.version_id, resource.c.last_updated)
    with db.read() as conn:
        for start in range(0, len(pks), chunk):
            query = sa.select(*columns, resource.c.deleted, resource.c.content).where(
                resource.c.pk.in_(pks[start : start + chunk])
            )
            for row in conn.execute(query):
                out[int(row.pk)] = StoredText(
                    row.res_id,
                    row.version_id,
                    utc(row.last_updated),
                    bool(row.deleted),
                    None if row.deleted else row.content,
                )
    return out


def count_current(db: Database, res_types: list[str]) -> int:
    """How many resources (deleted ones included) of ``res_types`` the store holds."""
    query = sa.select(sa.func.count()).select_from(resource).where(resource.c.res_type.in_(res_types))
    with db.read() as conn:
        return int(conn.execute(query).scalar_one())


def record_bulk_read(db: Database, actor: Actor, res_type: str, view: str, count: int) -> None:
    """One audit row for a view refresh that read ``count`` resources of ``res_type``."""
    entry = AuditEntry("search-type", entity_type=res_type, query=f"view={view} resources={count}")
    db.write(lambda conn: audit.record(conn, actor, [entry]))
