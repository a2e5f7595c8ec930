"""Reading the repository for a quality run: one pass over the ``resource`` table in key order, cut into key ranges,
and the look-ups around it (the audit row per type, the source systems of resources named after the scan)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from huitong.db.schema import resource
from huitong.fhir.store import ResourceStore
from huitong.fhir.stored import StoredResource
from huitong.quality.rule import source_of
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry
from huitong.security.fields import PERSON_TYPES
from huitong.security.protection import is_sealed_content

#: Rows per keyset page.
PAGE = 5000

#: What a scan yields per resource: (id, JSON), the store's rows also carrying their key after these two, and a
#: mixed scan's rows their type after that.
Item = tuple[str, bytes | str] | tuple[str, bytes | str, int] | tuple[str, bytes | str, int, str]


def stream_mixed(
    store: ResourceStore, actor: Actor, types: Sequence[str], after: int | None = None, upto: int | None = None
) -> Iterator[Item]:
    """(id, JSON, key, type) of every current resource of any of ``types`` the actor may see with
    ``after < pk <= upto``, in key order, read from the table itself rather than through the type index: one pass
    over its pages in the order they were written, where a pass per type reads a page again for each type on it
    (rows of all types lie side by side, as their messages brought them). Not yet in the page cache, a hospital-year
    of the benchmark's rows (10.8 GB) is read in 44 s this way against 148 s type by type (docs/quality.md). The
    query is compiled once and each page's rows are handed on as the driver returns them."""
    visible = store.visible_conditions(actor, resource.c.pk, resource.c.res_type)
    # only person types hold encrypted fields
    sealed = set(types) & PERSON_TYPES if store.protector is not None else set()
    bound = [resource.c.pk <= upto] if upto is not None else []
    # SQLite hands the JSON over as bytes when asked to (no text object per row; orjson reads bytes faster)
    content_col: sa.ColumnElement[Any] = (
        sa.cast(resource.c.content, sa.LargeBinary) if store.db.is_sqlite else resource.c.content
    )
    # SQLite: the type tested as an expression (unary +) so that the planner walks the primary key's range instead
    # of the type index
    type_col: sa.ColumnElement[str] = (
        sa.literal_column("+resource.res_type", sa.String) if store.db.is_sqlite else resource.c.res_type
    )
    of_type = sa.or_(*(type_col == t for t in sorted(types)))
    query = (
        sa.select(resource.c.res_id, content_col, resource.c.pk, resource.c.res_type)
        .where(
            of_type,
            resource.c.deleted.is_(False),
            resource.c.pk > sa.bindparam("after_pk", -1, type_=resource.c.pk.type),
            *bound,
            *visible,
        )
        .order_by(resource.c.pk)
        .limit(PAGE)
    )
    page: _Page | None = None
    last = after if after is not None else -1
    while True:
        with store.db.read() as conn:
            page = page or _Page(conn, query)
            rows = page.fetch(conn, {"after_pk": last})
        if not rows:
            return
        if not sealed:
            yield from rows
        else:
            for row in rows:
                res_id, content, pk = row[0], row[1], row[2]
                rtype = row[3]
                raw = content.encode() if isinstance(content, str) else content
                if rtype not in sealed or not is_sealed_content(raw):  # nothing encrypted: the same bytes
                    yield row
                    continue
                stored = StoredResource(rtype, res_id, 0, datetime.now(UTC), False, raw)
                yield res_id, store.opened(actor, stored).content or b"{}", pk, rtype
        if len(rows) < PAGE:
            return
        last = rows[-1][2]


class _Page:
    """A query compiled once for the database driver, run with other parameters per page: a page of a scan is
    thousands of rows, and making each a SQLAlchemy ``Row`` costs about a third of reading it."""

    def __init__(self, conn: sa.Connection, query: sa.Select[Any]) -> None:
        compiled = query.compile(dialect=conn.dialect)
        self.sql = str(compiled)
        self.params = compiled.construct_params()
        self.order = list(compiled.positiontup or ()) if compiled.positional else None

    def fetch(self, conn: sa.Connection, values: dict[str, Any]) -> list[Any]:
        params = {**self.params, **values}
        args: Any = tuple(params[name] for name in self.order) if self.order is not None else params
        cursor = conn.connection.cursor()
        try:
            cursor.execute(self.sql, args)
            return list(cursor.fetchall())
        finally:
            cursor.close()


def pk_ranges(store: ResourceStore, types: Sequence[str], parts_min: int, part_rows: int) -> list[tuple[int, int]]:
    """The key range spanned by rows of ``types`` cut into parts (``after``, ``upto``) of ``part_rows`` keys each, at
    least ``parts_min``: a mixed part reads the table itself over its range, so equal spans of keys are equal
    amounts of reading (rows of other types included). The ends come from the type index (a step into it per
    type), not from a count."""
    low: int | None = None
    high: int | None = None
    with store.db.read() as conn:
        for rtype in types:
            of_type = resource.c.res_type == rtype
            first = conn.execute(sa.select(sa.func.min(resource.c.pk)).where(of_type)).scalar_one()
            last = conn.execute(sa.select(sa.func.max(resource.c.pk)).where(of_type)).scalar_one()
            if first is None or last is None:
                continue
            low = int(first) if low is None else min(low, int(first))
            high = int(last) if high is None else max(high, int(last))
    if low is None or high is None:
        return []
    span = high - low + 1
    parts = max(parts_min, math.ceil(span / max(part_rows, 1)), 1)
    parts = min(parts, span)
    bounds = [low - 1 + (span * k) // parts for k in range(parts + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(parts) if bounds[k + 1] > bounds[k]]


def audit_scan(store: ResourceStore, actor: Actor, rtype: str) -> None:
    """Refuse a type the actor may not search; record the scan of it (one audit row, as ``store.scan``)."""
    store.check_search(actor, rtype)
    store.audited_read(actor, AuditEntry("search-type", entity_type=rtype, query="_scan=all"), lambda: None)


def lookup_sources(store: ResourceStore, actor: Actor, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The source system of each (type, id) — for set-rule findings, which name resources after the scan."""
    out: dict[tuple[str, str], str] = {}
    by_type: dict[str, list[str]] = {}
    for rtype, rid in keys:
        by_type.setdefault(rtype, []).append(rid)
    visible = store.visible_conditions(actor, resource.c.pk, resource.c.res_type)
    for rtype, ids in by_type.items():
        ids.sort()
        for i in range(0, len(ids), 500):
            query = sa.select(resource.c.res_id, resource.c.content).where(
                resource.c.res_type == rtype,
                resource.c.res_id.in_(ids[i : i + 500]),
                resource.c.deleted.is_(False),
                *visible,
            )
            with store.db.read() as conn:
                rows = conn.execute(query).all()
            for res_id, content in rows:
                if store.protector is not None and rtype in PERSON_TYPES:
                    stored = StoredResource(rtype, res_id, 0, datetime.now(UTC), False, content.encode())
                    content = store.opened(actor, stored).content
                out[(rtype, res_id)] = source_of(orjson.loads(content or b"{}"))
    return out
