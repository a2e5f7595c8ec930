"""Running the same ViewDefinitions on Apache Spark (the optional ``spark`` extra: ``pyspark``).

The runner itself is distributed: each partition of NDJSON lines compiles the definition once and
flattens its resources with :func:`huitong.views.runner.resource_rows`, so Spark gives exactly the rows
the Python and DuckDB paths give. The DataFrame's schema follows the column types (see docs/views.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from functools import partial
from typing import Any

from huitong.views.errors import ViewsError
from huitong.views.runner import resource_rows
from huitong.views.store_source import parse_content
from huitong.views.viewdef import Column, ViewDefinition, parse_view

_NUMERIC = {"integer": "long", "positiveInt": "long", "unsignedInt": "long", "integer64": "long", "decimal": "double"}


def spark_type_name(column: Column) -> str:
    """The Spark SQL type of a column (``string``, ``boolean``, ``long``, ``double``, ``array<…>``)."""
    base = "boolean" if column.type == "boolean" else _NUMERIC.get(column.type or "", "string")
    return f"array<{base}>" if column.collection else base


def spark_schema_ddl(view: ViewDefinition) -> str:
    """The DataFrame schema as a DDL string (``id string, value double, …``)."""
    return ", ".join(f"`{c.name}` {spark_type_name(c)}" for c in view.columns)


def _cell(value: Any, spark_type: str) -> Any:
    if value is None:
        return None
    if spark_type == "double":
        return float(value)
    if spark_type == "string" and not isinstance(value, str):
        return ("true" if value else "false") if isinstance(value, bool) else json.dumps(value, default=str)
    if isinstance(value, Decimal):
        return float(value)
    return value


def flatten_partition(definition: dict[str, Any], lines: Iterable[str]) -> Iterator[tuple[Any, ...]]:
    """The view's rows for one partition of NDJSON lines (runs on the executors)."""
    view = parse_view(definition)
    types = [spark_type_name(c) for c in view.columns]
    for line in lines:
        if not line.strip():
            continue
        for row in resource_rows(view, parse_content(line)):
            yield tuple(
                [_cell(v, t[6:-1]) for v in value] if t.startswith("array<") and value is not None else _cell(value, t)
                for value, t in zip(row, types, strict=True)
            )


def run_on_spark(spark: Any, definition: dict[str, Any], paths: list[str]) -> Any:
    """A Spark DataFrame of the view over NDJSON files (``paths`` may be any Hadoop-readable URIs)."""
    view = parse_view(definition)
    if not paths:
        raise ViewsError("run_on_spark needs at least one NDJSON path")
    lines = spark.sparkContext.textFile(",".join(paths))
    rows = lines.mapPartitions(partial(flatten_partition, definition))
    return spark.createDataFrame(rows, schema=spark_schema_ddl(view))
