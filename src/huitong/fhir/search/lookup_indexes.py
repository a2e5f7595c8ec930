"""The search tables' lookup indexes, set aside for a bulk load and built again after it.

A first load of a hospital's history (``huitong import --defer-indexes``) into a large store spends most of its
time inserting index rows at random places of the lookup B-trees: on a copy of the synthetic hospital-year store
(11 GB, 17 M rows), ``huitong import`` of the LIS archive ran at 566–666 resources/s with ~67 % of the time in
SQLite's inserts and commits (see docs/fhir-api.md). Without the lookup indexes the rows are appended; each
index is then built once, from sorted rows, at the end.

Only the search tables' lookup indexes are set aside (:data:`DEFERRABLE`): ``ix_<table>_resource_pk`` stays
(a write deletes a resource's earlier rows through it), and so does every index outside the search tables.
Until the indexes are built again, searches are right but slow. :func:`build_missing` builds whichever are
missing; the import calls it at the end, also after a failure, and ``huitong fhir build-indexes`` does it after a
load that was killed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import sqlalchemy as sa

from huitong.db import Database
from huitong.fhir.search.schema import TABLE_OF_KIND, search_composite

_TABLES: tuple[sa.Table, ...] = tuple(dict.fromkeys([*TABLE_OF_KIND.values(), search_composite]))

#: Every lookup index of the search tables (all but ``ix_<table>_resource_pk``), in table order.
DEFERRABLE: tuple[sa.Index, ...] = tuple(
    index
    for table in _TABLES
    for index in sorted(table.indexes, key=lambda i: str(i.name))
    if index.name != f"ix_{table.name}_resource_pk"
)


def _present(conn: sa.Connection) -> set[str]:
    inspector = sa.inspect(conn)
    return {str(ix["name"]) for table in _TABLES for ix in inspector.get_indexes(table.name)}


def missing(db: Database) -> list[str]:
    """The names of the lookup indexes that do not exist (set aside by a load that has not finished)."""
    with db.read() as conn:
        present = _present(conn)
    return [str(index.name) for index in DEFERRABLE if index.name not in present]


def set_aside(db: Database) -> list[str]:
    """Drop the lookup indexes that exist; returns their names."""

    def work(conn: sa.Connection) -> list[str]:
        present = _present(conn)
        dropped = []
        for index in DEFERRABLE:
            if index.name in present:
                index.drop(conn)
                dropped.append(str(index.name))
        return dropped

    return db.write(work)


def _create(index: sa.Index, conn: sa.Connection) -> None:
    index.create(conn, checkfirst=True)


def build_missing(db: Database, *, progress: Callable[[str], None] | None = None) -> list[str]:
    """Build every lookup index that does not exist, one transaction each; returns their names."""
    built = []
    for name in missing(db):
        index = next(i for i in DEFERRABLE if i.name == name)
        if progress is not None:
            progress(name)
        db.write(partial(_create, index))
        built.append(name)
    return built
