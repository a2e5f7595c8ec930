"""Bulk inserts at the driver's speed.

SQLAlchemy's ``conn.execute(table.insert(), rows)`` prepares every row's parameters in Python, which was a large
part of the cost of writing a message's search-index rows. :func:`insert_rows` compiles the INSERT once per
table, dialect and column set, converts only the columns whose type needs it (the same bind processors
SQLAlchemy would use) and hands the tuples to the driver's ``executemany``: sqlite3's loop in C, psycopg's
batch. ``huitong bench pipeline`` and ``huitong bench import`` measure the write path it serves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

_Processor = Callable[[Any], Any] | None


@lru_cache(maxsize=256)
def _statement(table: sa.Table, columns: tuple[str, ...], dialect: Dialect) -> tuple[str, tuple[_Processor, ...]]:
    compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
    order = compiled.positiontup if compiled.positional else None
    if order is None:  # named paramstyle (psycopg: %(name)s): rebuild it positional for executemany of tuples
        names = ", ".join(dialect.identifier_preparer.quote(c) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) VALUES ({marks})"  # noqa: S608 - quoted names from the table metadata; values are bound
    else:
        if list(order) != list(columns):
            raise RuntimeError(f"unexpected parameter order {order} for {table.name}")
        sql = str(compiled)
    processors = tuple(table.c[c].type.bind_processor(dialect) for c in columns)
    return sql, processors


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` with one driver-level ``executemany``."""
    if not rows:
        return
    columns = tuple(rows[0])
    sql, processors = _statement(table, columns, conn.dialect)
    if any(processors):
        params = [
            tuple(p(row[c]) if p is not None else row[c] for c, p in zip(columns, processors, strict=True))
            for row in rows
        ]
    else:
        params = [tuple(row[c] for c in columns) for row in rows]
    conn.exec_driver_sql(sql, params)
