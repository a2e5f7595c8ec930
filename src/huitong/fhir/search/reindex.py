"""Rebuild the search index of resources stored before it existed (or after its parameters changed).

Walks ``resource`` by primary key in batches; each batch replaces its rows in one write transaction.
Safe to run while the platform serves: new writes index themselves, and a batch re-reads its resources
inside the write transaction, so it never indexes a stale version.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import partial

import orjson
import sqlalchemy as sa

from huitong.db import Database
from huitong.db.schema import resource
from huitong.fhir.search.index import FulltextTypes, Rows, delete_rows, index_rows, insert_rows
from huitong.security.protection import index_view


def reindex(
    db: Database,
    *,
    rtype: str | None = None,
    batch: int = 1000,
    progress: Callable[[int], None] | None = None,
    fulltext_types: Collection[str] = ("*",),
) -> int:
    """Re-index every current resource (of ``rtype``, or all); returns how many were indexed.

    ``fulltext_types``: the types that get ``_text``/``_content`` rows (settings ``fhir.fulltext_types``).
    """
    done = 0
    after = 0
    while True:
        query = sa.select(resource.c.pk).where(resource.c.pk > after, resource.c.deleted.is_(False))
        if rtype is not None:
            query = query.where(resource.c.res_type == rtype)
        with db.read() as conn:
            pks = list(conn.execute(query.order_by(resource.c.pk).limit(batch)).scalars())
        if not pks:
            return done
        done += db.write(partial(_reindex_batch, pks=pks, fulltext=FulltextTypes(fulltext_types)))
        after = pks[-1]
        if progress is not None:
            progress(len(pks))


def _reindex_batch(conn: sa.Connection, *, pks: list[int], fulltext: FulltextTypes) -> int:
    rows = conn.execute(
        sa.select(resource.c.pk, resource.c.res_type, resource.c.content).where(
            resource.c.pk.in_(pks), resource.c.deleted.is_(False)
        )
    ).all()
    delete_rows(conn, pks)
    out: Rows = {}
    for row in rows:
        view = index_view(orjson.loads(row.content))  # blind indexes, not ciphertext
        index_rows(row.pk, row.res_type, view, out, fulltext=fulltext(row.res_type))
    insert_rows(conn, out)
    return len(rows)


def count_resources(db: Database, rtype: str | None = None) -> int:
    """How many current resources a reindex would visit."""
    query = sa.select(sa.func.count()).select_from(resource).where(resource.c.deleted.is_(False))
    if rtype is not None:
        query = query.where(resource.c.res_type == rtype)
    with db.read() as conn:
        return int(conn.execute(query).scalar_one())
