"""Extension point: code that must run in the same transaction as every resource write.

The search indexer (FHIR API issue) keeps its index rows in step with each version through this hook, so
an index never disagrees with the data it indexes; the EMPI and quality rules may register here too.
A hook that raises aborts the write it was called for. A hook that writes many rows (the search indexer) may
buffer them (:class:`BufferingHook`): the store opens its ``deferred`` block around every transaction, and a
savepoint inside the transaction opens a nested one.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import sqlalchemy as sa


@dataclass(frozen=True, slots=True)
class ResourceChange:
    """One resource write: the new current version (``resource`` is ``None`` for a deletion)."""

    pk: int
    res_type: str
    res_id: str
    version_id: int
    resource: dict[str, Any] | None
    created: bool
    #: Index rows computed ahead from exactly this body (``huitong.fhir.search.index.PreparedIndex``, e.g. in a
    #: worker process of the ingest pipeline); the search indexer uses them instead of evaluating the body again.
    index: Any = None

    @property
    def deleted(self) -> bool:
        return self.resource is None


class WriteHook(Protocol):
    """Called inside the write transaction after each resource version is stored."""

    def resource_written(self, conn: sa.Connection, change: ResourceChange) -> None: ...


@runtime_checkable
class BufferingHook(WriteHook, Protocol):
    """A write hook that collects its rows and inserts them in bulk before the transaction commits."""

    def deferred(self, conn: sa.Connection) -> AbstractContextManager[None]:
        """Collect rows of writes on ``conn``; insert them when the block ends, drop them when it raises."""
        ...

    def flush(self, conn: sa.Connection) -> None:
        """Insert what was collected so far (before a query inside the transaction that needs it)."""
        ...
