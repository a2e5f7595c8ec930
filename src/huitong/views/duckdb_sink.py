"""Writing view rows into DuckDB tables: column types, table creation and batched Arrow inserts.

Each view table has the view's columns in order plus ``_resource_key`` (the id of the resource a row
came from), which incremental refresh uses to replace a changed resource's rows. FHIR dates and times
stay ISO strings (``VARCHAR``): they may be partial (``2014-05``), so casting is left to the query.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from huitong.views.errors import MaterialiseError
from huitong.views.runner import Row, resource_rows
from huitong.views.viewdef import Column, ViewDefinition

KEY_COLUMN = "_resource_key"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: FHIR type of a column → (DuckDB type, Arrow type).
_TYPES: dict[str, tuple[str, pa.DataType]] = {
    "boolean": ("BOOLEAN", pa.bool_()),
    "integer": ("BIGINT", pa.int64()),
    "positiveInt": ("BIGINT", pa.int64()),
    "unsignedInt": ("BIGINT", pa.int64()),
    "integer64": ("BIGINT", pa.int64()),
    "decimal": ("DOUBLE", pa.float64()),
}
_TEXT = ("VARCHAR", pa.string())
BATCH_ROWS = 50_000


def quote(name: str) -> str:
    """A safely quoted DuckDB identifier; refuses names that are not plain identifiers."""
    if not _IDENTIFIER.match(name):
        raise MaterialiseError(f"{name!r} is not a valid table or column name")
    return f'"{name}"'


def column_type(column: Column) -> tuple[str, pa.DataType]:
    """DuckDB and Arrow types of a column (lists for collection columns)."""
    sql, arrow = _TYPES.get(column.type or "", _TEXT)
    if column.collection:
        return f"{sql}[]", pa.list_(arrow)
    return sql, arrow


def create_table(con: duckdb.DuckDBPyConnection, view: ViewDefinition, table: str) -> None:
    """(Re)create the table of ``view``."""
    columns = [f"{quote(KEY_COLUMN)} VARCHAR NOT NULL"]
    columns += [f"{quote(c.name)} {column_type(c)[0]}" for c in view.columns]
    con.execute(f"CREATE OR REPLACE TABLE {quote(table)} ({', '.join(columns)})")


def _scalar(value: Any, arrow: pa.DataType, column: Column) -> Any:
    if value is None:
        return None
    if arrow == pa.string():
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        return json.dumps(value, default=str, ensure_ascii=False)
    if arrow == pa.bool_():
        if isinstance(value, bool):
            return value
    elif arrow == pa.int64():
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif arrow == pa.float64() and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value)
    raise MaterialiseError(f"column {column.name!r} ({column.type}) cannot hold {value!r}")


def _arrow_schema(view: ViewDefinition) -> pa.Schema:
    fields = [pa.field(KEY_COLUMN, pa.string())]
    fields += [pa.field(c.name, column_type(c)[1]) for c in view.columns]
    return pa.schema(fields)


def arrow_rows(view: ViewDefinition, keyed: Sequence[Row]) -> pa.Table:
    """Rows whose first value is the resource key as an Arrow table of the view's column types."""
    schema = _arrow_schema(view)
    arrays = [pa.array([row[0] for row in keyed], pa.string())]
    for i, column in enumerate(view.columns, start=1):
        arrow = column_type(column)[1]
        if column.collection:
            inner = arrow.value_type
            values = [None if row[i] is None else [_scalar(v, inner, column) for v in row[i]] for row in keyed]
        else:
            values = [_scalar(row[i], arrow, column) for row in keyed]
        arrays.append(pa.array(values, arrow))
    return pa.Table.from_arrays(arrays, schema=schema)


def insert_arrow(con: duckdb.DuckDBPyConnection, table: str, batch: pa.Table) -> int:
    """Append an Arrow table (built by :func:`arrow_rows`) to a view's table; returns the row count."""
    if batch.num_rows == 0:
        return 0
    con.register("_huitong_batch", batch)
    try:
        con.execute(f"INSERT INTO {quote(table)} SELECT * FROM _huitong_batch")  # noqa: S608 - quoted identifier
    finally:
        con.unregister("_huitong_batch")
    return int(batch.num_rows)


def insert_rows(con: duckdb.DuckDBPyConnection, view: ViewDefinition, table: str, keyed: Sequence[Row]) -> int:
    """Insert rows whose first value is the resource key; returns how many were inserted."""
    if not keyed:
        return 0
    return insert_arrow(con, table, arrow_rows(view, keyed))


def keyed_rows(view: ViewDefinition, resource: dict[str, Any]) -> list[Row]:
    """The view's rows for one resource, each prefixed with the resource's key (its id)."""
    key = str(resource.get("id", ""))
    return [(key, *row) for row in resource_rows(view, resource)]


def materialise_rows(
    con: duckdb.DuckDBPyConnection,
    view: ViewDefinition,
    resources: Iterable[dict[str, Any]],
    *,
    table: str | None = None,
) -> int:
    """Create the view's table and fill it from ``resources`` (any iterable of dicts); returns the row count."""
    name = table or view.name
    create_table(con, view, name)
    total = 0
    pending: list[Row] = []
    for resource in resources:
        pending.extend(keyed_rows(view, resource))
        if len(pending) >= BATCH_ROWS:
            total += insert_rows(con, view, name, pending)
            pending = []
    return total + insert_rows(con, view, name, pending)
