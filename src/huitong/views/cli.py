"""``huitong views …``: run a ViewDefinition over NDJSON or the store, and refresh DuckDB tables."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from huitong.security.actor import Actor
from huitong.settings import load_settings
from huitong.views.errors import ViewsError
from huitong.views.runner import run_view
from huitong.views.viewdef import ViewDefinition, parse_view

app = typer.Typer(help="SQL-on-FHIR v2 views: flatten FHIR resources into tables.", no_args_is_help=True)
ACTOR = Actor.system("views")


class OutputFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def load_view(path: Path) -> ViewDefinition:
    """Read and compile a ViewDefinition file; exits with code 2 and a message if it is invalid."""
    try:
        return parse_view(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ViewsError) as exc:
        typer.echo(f"{path}: {exc}", err=True)
        raise typer.Exit(2) from None


def _ndjson(paths: list[Path]) -> Iterator[dict[str, Any]]:
    from huitong.views.store_source import parse_content

    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield parse_content(line)


def _store_resources(view: ViewDefinition) -> Iterator[dict[str, Any]]:
    from huitong.db import open_database
    from huitong.views.store_source import read_changed, record_bulk_read

    settings = load_settings()
    db = open_database(settings.database)
    count = 0
    try:
        for batch in read_changed(db, view.resource, None):
            count += len(batch)
            yield from (row.content for row in batch if row.content is not None)
        record_bulk_read(db, ACTOR, view.resource, view.name, count)
    finally:
        db.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    return str(value)


@app.command()
def run(
    view_file: Annotated[Path, typer.Argument(help="ViewDefinition JSON file.")],
    input_files: Annotated[
        list[Path] | None,
        typer.Option("--input", help="NDJSON file(s) of resources; default: the configured database."),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="csv (with header) or json (NDJSON).")
    ] = OutputFormat.CSV,
) -> None:
    """Print the rows of a view."""
    view = load_view(view_file)
    resources = _ndjson(input_files) if input_files else _store_resources(view)
    try:
        if output_format is OutputFormat.CSV:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(view.column_names)
            for row in run_view(view, resources):
                writer.writerow([_cell(v) for v in row.values()])
        else:
            for row in run_view(view, resources):
                typer.echo(json.dumps(row, default=_json_default, ensure_ascii=False))
    except ViewsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def refresh(
    view_files: Annotated[list[Path], typer.Argument(help="ViewDefinition JSON file(s).")],
    duckdb_path: Annotated[Path, typer.Option("--duckdb", help="DuckDB database file holding the view tables.")],
    full: Annotated[
        bool, typer.Option("--full", help="Rebuild from scratch instead of refreshing incrementally.")
    ] = False,
) -> None:
    """Materialise views into DuckDB from the configured database, refreshing only what changed."""
    import duckdb

    from huitong.db import open_database
    from huitong.views.refresh import refresh_views

    views = [load_view(path) for path in view_files]
    settings = load_settings()
    db = open_database(settings.database)
    try:
        with duckdb.connect(str(duckdb_path)) as con:
            for result in refresh_views(con, db, views, ACTOR, full=full):
                typer.echo(
                    json.dumps(
                        {
                            "view": result.view,
                            "mode": result.mode,
                            "resources_read": result.resources_read,
                            "resources_changed": result.resources_changed,
                            "resources_deleted": result.resources_deleted,
                            "rows_inserted": result.rows_inserted,
                            "watermark": result.watermark.isoformat() if result.watermark else None,
                        }
                    )
                )
    except ViewsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.close()
