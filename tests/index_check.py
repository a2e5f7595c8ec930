"""Test helper: the search-index rows a database holds, against the rows the indexer makes from its resources."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from huitong.db.schema import resource
from huitong.fhir.search.index import FulltextTypes, index_rows
from huitong.fhir.search.schema import INDEX_TABLES
from huitong.security.protection import index_view

RowCount = Counter[tuple[str, tuple[Any, ...]]]


def row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, str(v)) for k, v in row.items()))


def as_multiset(rows: dict[sa.Table, list[dict[str, Any]]]) -> RowCount:
    return Counter((table.name, row_key(row)) for table, values in rows.items() for row in values)


def stored_and_expected(url: str, fulltext_types: Sequence[str]) -> tuple[RowCount, RowCount]:
    """Every index row in the database at ``url``, and the rows the indexer makes from every current resource
    (from its index view: encrypted fields as their blind indexes, as the store shows them to its hooks)."""
    engine = sa.create_engine(url)
    fulltext = FulltextTypes(fulltext_types)
    try:
        with engine.connect() as conn:
            stored: RowCount = Counter()
            for table in INDEX_TABLES:
                for row in conn.execute(sa.select(table)).mappings():
                    stored[(table.name, row_key(dict(row)))] += 1
            expected: RowCount = Counter()
            query = sa.select(resource.c.pk, resource.c.res_type, resource.c.content).where(~resource.c.deleted)
            for pk, rtype, content in conn.execute(query):
                expected += as_multiset(
                    index_rows(pk, rtype, index_view(json.loads(content)), fulltext=fulltext(rtype))
                )
    finally:
        engine.dispose()
    return stored, expected
