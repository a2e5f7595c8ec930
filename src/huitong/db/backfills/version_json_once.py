"""Each version's JSON stored once: empty the copies of current versions that older stores hold.

Since 2026-11-28 the current version's JSON is kept in ``resource.content`` only, and its ``resource_version`` row
gets the JSON when a newer version replaces it (``fhir/transaction.py``). Stores written before hold the current
JSON twice — about a fifth of the file. Reads take the current version's JSON from ``resource`` either way
(``db/schema.py``: :func:`~huitong.db.schema.version_content`), so this backfill changes no answer; it frees the
space. Run by ``huitong db compact``, in small write transactions while Huitong serves; SQLite reuses the freed
pages for later writes (``VACUUM`` returns them to the file system), PostgreSQL after its ``VACUUM``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import sqlalchemy as sa

from huitong.db.database import Database
from huitong.db.schema import resource, resource_version


@dataclass(slots=True)
class Compacted:
    """What a run did: resources looked at, copies emptied."""

    resources: int = 0
    emptied: int = 0


def total(db: Database) -> int:
    """The resources a run looks at (for a progress bar)."""
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(resource)).scalar_one())


def compact_versions(db: Database, *, batch: int = 5000, progress: Callable[[int], None] | None = None) -> Compacted:
    """Empty ``resource_version.content`` of every current version, ``batch`` resources per write transaction."""
    done = Compacted()
    after = 0
    while True:
        with db.read() as conn:
            pks = [
                *conn.execute(
                    sa.select(resource.c.pk).where(resource.c.pk > after).order_by(resource.c.pk).limit(batch)
                ).scalars()
            ]
        if not pks:
            return done
        done.emptied += db.write(partial(_empty, low=pks[0], high=pks[-1]))
        done.resources += len(pks)
        after = pks[-1]
        if progress is not None:
            progress(len(pks))


def _empty(conn: sa.Connection, *, low: int, high: int) -> int:
    rv = resource_version
    current = sa.select(resource.c.version_id).where(resource.c.pk == rv.c.resource_pk).scalar_subquery()
    result = conn.execute(
        rv.update()
        .where(rv.c.resource_pk.between(low, high), rv.c.content.is_not(None), rv.c.version_id == current)
        .values(content=None)
    )
    return int(result.rowcount)
