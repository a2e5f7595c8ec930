"""Bulk inserts at the driver's speed.

SQLAlchemy's ``conn.execute(table.insert(), rows)`` prepares every row's parameters in Python, which was a large
part of the cost of writing a message's search-index rows. :func:`insert_rows` compiles the INSERT once per
table, dialect and column set, converts only the columns whose type needs it (the same bind processors
SQLAlchemy would use) and hands the tuples to the driver: sqlite3's ``executemany`` (a loop in C); on PostgreSQL,
from :data:`COPY_MIN_ROWS` rows on, ``COPY … FROM STDIN`` in the same transaction (one statement for all rows instead
of one INSERT each; the same constraints and triggers apply, and a violation raises the same SQLAlchemy error, e.g.
``IntegrityError``). ``huitong bench pipeline`` and ``huitong bench import`` measure the write path it serves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

_Processor = Callable[[Any], Any] | None

#: From this many rows on, PostgreSQL gets them by COPY (below it, a pipelined executemany is as quick).
COPY_MIN_ROWS = 16


def _statement(
    table: sa.Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[str, ...], tuple[_Processor, ...]]:
    """The INSERT for ``columns``, the order its parameters take, and their bind processors (built once per table,
    dialect and column set: :func:`_tuples` is cached)."""
    compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
    order = compiled.positiontup if compiled.positional else None
    if order is None:  # named paramstyle (psycopg: %(name)s): rebuild it positional for executemany of tuples
        names = ", ".join(dialect.identifier_preparer.quote(c) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) VALUES ({marks})"  # noqa: S608 - quoted names from the table metadata; values are bound
    else:
        if sorted(order) != sorted(columns):
            raise RuntimeError(f"unexpected parameters {order} for the columns {columns} of {table.name}")
        columns = tuple(order)  # the table's column order
        sql = str(compiled)
    processors = tuple(table.c[c].type.bind_processor(dialect) for c in columns)
    return sql, columns, processors


@lru_cache(maxsize=256)
def _tuples(
    table: sa.Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[str, ...], Callable[[Sequence[dict[str, Any]]], list[tuple[Any, ...]]]]:
    """The INSERT for ``columns``, the order of its parameters, and a function turning row dicts into parameter
    tuples in that order: :func:`operator.itemgetter` (in C), then the bind processors of the few columns that have
    one (a Boolean's check, a Numeric's conversion) — a generator over every column of every row cost a tenth of
    an import."""
    sql, order, processors = _statement(table, columns, dialect)
    getter = itemgetter(*order)
    single = len(order) == 1
    converted = tuple((i, p) for i, p in enumerate(processors) if p is not None)

    def tuples(rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        params: list[tuple[Any, ...]] = [(getter(row),) for row in rows] if single else list(map(getter, rows))
        if converted:
            for n, values in enumerate(params):
                items = list(values)
                for i, process in converted:
                    items[i] = process(items[i])
                params[n] = tuple(items)
        return params

    return sql, order, tuples


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` with one driver-level ``executemany``."""
    if not rows:
        return
    sql, columns, tuples = _tuples(table, tuple(rows[0]), conn.dialect)
    params = tuples(rows)
    if conn.dialect.name == "postgresql" and len(params) >= COPY_MIN_ROWS:
        _copy(conn, table, columns, params)
    else:
        conn.exec_driver_sql(sql, params)


def _copy(conn: sa.Connection, table: sa.Table, columns: tuple[str, ...], params: list[tuple[Any, ...]]) -> None:
    """``COPY table (columns) FROM STDIN`` on the connection's own psycopg connection (same transaction)."""
    import psycopg

    preparer = conn.dialect.identifier_preparer
    names = ", ".join(preparer.quote(c) for c in columns)
    sql = f"COPY {preparer.format_table(table)} ({names}) FROM STDIN"
    raw: Any = conn.connection.driver_connection
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in params:
                copy.write_row(row)
    except psycopg.Error as exc:  # the same SQLAlchemy exception an INSERT would have raised (IntegrityError …)
        raise sa.exc.DBAPIError.instance(sql, None, exc, psycopg.Error) from exc


def insert_ignoring_conflicts(conn: sa.Connection, table: sa.Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` into ``table`` for the connection's dialect (rows a unique key already
    holds are skipped, not an error); add ``.values(…)``/``.returning(…)`` or execute it with many rows."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()
