"""Running searches: parse, build the SQL, fetch a page of stored JSON, add includes, audit.

:meth:`SearchService.search` is what the API calls (audited as ``search-type`` through the store).
:meth:`SearchService.execute` runs a parsed request on a given connection, e.g. inside a write
transaction for conditional create/update/delete; it is not audited on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from huitong.db.schema import resource
from huitong.fhir.search.codes import resolve_codes
from huitong.fhir.search.cursor import Cursor, encode_cursor
from huitong.fhir.search.errors import SearchError
from huitong.fhir.search.fulltext import FULLTEXT
from huitong.fhir.search.index import FulltextTypes
from huitong.fhir.search.parse import parse_search
from huitong.fhir.search.predicates import bounded, of_param
from huitong.fhir.search.request import Include, SearchRequest
from huitong.fhir.search.schema import search_reference
from huitong.fhir.search.sql import SqlBuilder
from huitong.fhir.store import ResourceStore
from huitong.fhir.stored import StoredResource, utc
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry
from huitong.terminology.service import Terminology

_COLUMNS = (resource.c.pk, resource.c.res_type, resource.c.res_id, resource.c.version_id, resource.c.last_updated)


@dataclass
class SearchResult:
    """One page of matches, the resources they include, and what is known of the total."""

    request: SearchRequest
    matches: list[StoredResource] = field(default_factory=list)
    included: list[StoredResource] = field(default_factory=list)
    total: int | None = None
    has_more: bool = False
    next_cursor: str | None = None
    previous_cursor: str | None = None

    def query_string(self, *, drop: tuple[str, ...] = (), **changes: str) -> str:
        """The request's own parameters (those understood), without ``drop``, with ``changes`` applied."""
        pairs = [(k, v) for k, v in self.request.self_params if k not in changes and k not in drop]
        pairs += list(changes.items())
        return urlencode(pairs)


class SearchService:
    """Searches on the store's database. Build once (see :mod:`huitong.services`)."""

    def __init__(self, store: ResourceStore) -> None:
        self.store = store
        self.sql = SqlBuilder(store.db.dialect)
        self.terminology = Terminology(store.db)

    def parse(self, rtype: str, pairs: Sequence[tuple[str, str]], *, lenient: bool = False) -> SearchRequest:
        settings = self.store.settings
        if self.store.protector is not None:  # identifiers and phones are indexed by their blind index
            pairs = self.store.protector.search_pairs(rtype, pairs)
        request = parse_search(
            rtype,
            pairs,
            lenient=lenient,
            default_count=settings.search_default_count,
            max_count=settings.max_page_size,
        )
        if not FulltextTypes(settings.fulltext_types)(rtype):
            for crit in request.criteria:
                if crit.param.code in FULLTEXT:
                    raise SearchError(
                        f"{crit.param.code} is not available on {rtype}: its text is not indexed. Add {rtype} to "
                        "HUITONG_FHIR__FULLTEXT_TYPES and run `huitong fhir reindex --type " + rtype + "`"
                    )
        return request

    def search(
        self, actor: Actor, rtype: str, pairs: Sequence[tuple[str, str]], *, lenient: bool = False
    ) -> SearchResult:
        """Parse and run a search of ``rtype``; audited as ``search-type`` with its query."""
        protector = self.store.protector
        logged = protector.audit_pairs(rtype, pairs) if protector is not None else list(pairs)
        query = urlencode(logged)[:2000]  # no plaintext ID or phone number in the audit trail
        entry = AuditEntry("search-type", entity_type=rtype, query=query)

        def work() -> SearchResult:
            self.store.check_search(actor, rtype)
            request = self.parse(rtype, pairs, lenient=lenient)
            with self.store.db.read() as conn:
                return self.execute(conn, request, actor=actor)

        return self.store.audited_read(actor, entry, work)

    def execute(self, conn: sa.Connection, request: SearchRequest, *, actor: Actor | None = None) -> SearchResult:
        """Run ``request`` on ``conn``: one page of matches, includes and the total when asked for.

        With ``actor``, matches and includes are limited to what the actor may see (security/access.py);
        callers serving results to anyone but a trusted internal job must pass it.
        """
        result = SearchResult(request)
        resolved = resolve_codes(conn, request, self.terminology)
        visible = self.store.visible_conditions(actor, resource.c.pk, resource.c.res_type) if actor is not None else []

        def estimate(rows: sa.Select[Any], cap: int) -> int:  # index rows of one criterion, counted up to cap
            capped = rows.limit(cap).subquery()
            return int(conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one())

        plan = self.sql.plan(resolved, estimate)  # chosen once: the page, a bounded page and the count share it
        conds = [*self.sql.where(resolved, plan=plan), *visible]
        if request.summary == "count" or request.count == 0:
            result.total = conn.execute(sa.select(sa.func.count()).select_from(resource).where(*conds)).scalar_one()
            return result
        # A keyset cursor on the default order also bounds the driving index lookup (resource_pk > last), so a
        # deep page reads only the index entries after it.
        bound = _pk_bound(request)
        ordered = self.sql.ordered_driver(resolved, plan)
        if ordered is not None:  # the page read straight from the driving index rows, in their order
            driving, others = ordered
            rows = self._page(conn, request, [*others, *visible], result, driving=(driving, bound))
        else:
            page_conds = conds
            if bound is not None:
                page_conds = [*self.sql.where(resolved, pk_bound=bound, plan=plan), *visible]
            rows = self._page(conn, request, page_conds, result)
        pks = [row.pk for row in rows[: request.count]]
        result.matches = [self.store.opened(actor, _stored(row)) for row in rows[: request.count]]
        if request.total == "accurate" or (request.total == "estimate" and not result.has_more):
            if not result.has_more:
                result.total = request.offset + len(result.matches)
            else:
                result.total = conn.execute(sa.select(sa.func.count()).select_from(resource).where(*conds)).scalar_one()
        elif not result.has_more and request.offset == 0:
            result.total = len(result.matches)
        if request.includes and pks:
            result.included = self._includes(conn, request, pks, result.matches)
            if actor is not None:
                result.included = self.store.filter_visible(actor, conn, result.included)
            result.included = [self.store.opened(actor, s) for s in result.included]
        return result

    def _page(
        self,
        conn: sa.Connection,
        request: SearchRequest,
        conds: list[Any],
        result: SearchResult,
        *,
        driving: tuple[sa.Subquery, tuple[int, bool] | None] | None = None,
    ) -> list[Any]:
        """The rows of one page, by keyset when a cursor holds a key (see :mod:`.cursor`), else by offset.

        ``driving`` (index rows, keyset bound): join ``resource`` to those rows and read them in ``resource_pk``
        order (:meth:`SqlBuilder.ordered_driver`). Sets ``has_more`` and the cursors of the next and previous
        pages on ``result``.
        """
        columns = self.sql.keyset_columns(request)
        signature = ",".join(("-" if desc else "") + param.code for param, desc in request.sort)
        cursor = request.cursor
        if cursor is not None and cursor.sort != signature:
            raise SearchError("this _cursor belongs to a search with another _sort; follow the links of the search")
        seek = cursor is not None and cursor.key is not None
        if seek and (columns is None or cursor is None or cursor.key is None or len(cursor.key) != len(columns)):
            raise SearchError("_cursor is damaged: follow the next/previous links of a search as they are")
        before = cursor is not None and cursor.before
        query = sa.select(*_COLUMNS, resource.c.content).where(*conds)
        order = self.sql.order_by(request, reverse=before)
        if driving is not None:
            rows, bound = driving
            query = query.select_from(rows.join(resource, resource.c.pk == rows.c.resource_pk))
            query = query.where(*bounded(rows.c.resource_pk, bound))
            order = [rows.c.resource_pk.desc() if before else rows.c.resource_pk.asc()]  # the index's own order
        if seek and columns is not None and cursor is not None and cursor.key is not None:
            query = query.where(self.sql.seek(columns, cursor.key, before=before))
        else:
            query = query.offset(request.offset)
        query = query.order_by(*order).limit(request.count + 1)
        fetched = conn.execute(query).all()
        page = list(fetched[: request.count])
        if before:
            page.reverse()
            result.has_more, has_previous = True, len(fetched) > request.count
        else:
            result.has_more, has_previous = len(fetched) > request.count, request.offset > 0
        if result.has_more and page:
            key = _key(page[-1], columns) if columns is not None else None
            result.next_cursor = encode_cursor(Cursor(request.offset + request.count, key, False, signature))
        if has_previous and page:
            key = _key(page[0], columns) if columns is not None else None
            offset = max(request.offset - request.count, 0)
            result.previous_cursor = encode_cursor(Cursor(offset, key, key is not None, signature))
        return page

    def _includes(
        self, conn: sa.Connection, request: SearchRequest, pks: list[int], matches: list[StoredResource]
    ) -> list[StoredResource]:
        seen = {(m.res_type, m.res_id) for m in matches}
        out: list[StoredResource] = []
        for include in request.includes:
            query = self._include_query(include, pks, [m.res_id for m in matches], request.rtype)
            for row in conn.execute(query):
                key = (row.res_type, row.res_id)
                if key not in seen:
                    seen.add(key)
                    out.append(_stored(row))
        return out

    @staticmethod
    def _include_query(include: Include, pks: list[int], ids: list[str], rtype: str) -> sa.Select[Any]:
        ref = search_reference
        if include.reverse:
            query = (
                sa.select(*_COLUMNS, resource.c.content)
                .join(ref, ref.c.resource_pk == resource.c.pk)
                .where(ref.c.res_type == include.source_type, ref.c.target_type == rtype, ref.c.target_id.in_(ids))
            )
        else:
            query = (
                sa.select(*_COLUMNS, resource.c.content)
                .join(ref, sa.and_(ref.c.target_type == resource.c.res_type, ref.c.target_id == resource.c.res_id))
                .where(ref.c.resource_pk.in_(pks))
            )
            if include.target_type is not None:
                query = query.where(ref.c.target_type == include.target_type)
        if include.param is not None:
            query = query.where(of_param(ref, include.param))
        return query.where(resource.c.deleted.is_(False)).distinct()


def _pk_bound(request: SearchRequest) -> tuple[int, bool] | None:
    """(pk, before) of a keyset cursor on the default order (pk alone), else ``None``."""
    cursor = request.cursor
    if request.sort or cursor is None or cursor.key is None or len(cursor.key) != 1:
        return None
    pk = cursor.key[0]
    return (pk, cursor.before) if isinstance(pk, int) and not isinstance(pk, bool) else None


def _key(row: Any, columns: list[tuple[str, bool]]) -> tuple[Any, ...]:
    """The sort key of a result row, as a cursor carries it (times as the ISO text of the stored value)."""
    m = row._mapping
    return tuple(m[name].isoformat() if name == "last_updated" else m[name] for name, _desc in columns)


def _stored(row: Any) -> StoredResource:
    m = row._mapping
    content = m["content"]
    return StoredResource(
        str(m["res_type"]),
        str(m["res_id"]),
        int(m["version_id"]),
        utc(m["last_updated"]),
        False,
        content.encode() if isinstance(content, str) else None,
    )
