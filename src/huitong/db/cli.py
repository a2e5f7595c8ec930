"""``huitong db …``: schema migrations, and copying a database into PostgreSQL."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from huitong.settings import load_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade(
    revision: str = typer.Argument("heads", help="Target revision (default: the newest of every domain)."),
) -> None:
    """Create or migrate the database named by HUITONG_DATABASE__URL."""
    from huitong.db import migrate

    settings = load_settings()
    at = migrate.upgrade(settings.database, revision)
    typer.echo(f"database {settings.database.url.split('@')[-1]} is at revision {at}")


@app.command()
def current() -> None:
    """Print the revision the database is at."""
    from huitong.db import migrate

    settings = load_settings()
    typer.echo(migrate.current_revision(settings.database) or "empty")


@app.command()
def compact(
    batch: Annotated[int, typer.Option(help="Resources per write transaction.", min=1)] = 5000,
) -> None:
    """Store each version's JSON once: free the copies of current versions that stores written before 2026-11-28
    hold (about a fifth of such a store). Safe while Huitong serves; answers do not change."""
    from rich.progress import Progress

    from huitong.db.backfills.version_json_once import compact_versions, total
    from huitong.db.database import open_database

    settings = load_settings()
    db = open_database(settings.database)
    try:
        with Progress(transient=True) as bar:
            task = bar.add_task("resources", total=total(db))
            done = compact_versions(db, batch=batch, progress=lambda n: bar.advance(task, n))
    finally:
        db.close()
    typer.echo(f"looked at {done.resources:,} resources; emptied {done.emptied:,} duplicate version copies")
    if done.emptied and settings.database.url.startswith("sqlite"):
        typer.echo("the space is reused by later writes; `VACUUM` (Huitong stopped) returns it to the file system")


@app.command()
def copy(
    to: Annotated[str, typer.Option("--to", help="The PostgreSQL database to copy into (postgresql+psycopg://…).")],
    source: Annotated[
        str | None, typer.Option("--from", help="The database to copy (default: HUITONG_DATABASE__URL).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace whatever the target already holds.")] = False,
    batch_rows: Annotated[int, typer.Option(help="Rows read from the source per batch.", min=1)] = 5000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
) -> None:
    """Copy every table of a Huitong database into PostgreSQL (e.g. from the embedded SQLite), then check counts.

    Stop Huitong first, so the copy is the final state of the source.

    The target is migrated with Huitong's own migrations; all rows land in one transaction or none do.
    """
    from huitong.db.copy import CopyError, copy_database

    from_url = source or load_settings().database.url
    try:
        report = copy_database(from_url, to, force=force, batch_rows=batch_rows, progress=not as_json)
    except CopyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from exc
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "rows": report.rows,
                    "tables": {t.name: t.target_rows for t in report.tables},
                    "sequences": report.sequences,
                    "source_revision": report.source_revision,
                    "target_revision": report.target_revision,
                    "seconds": report.seconds,
                }
            )
        )
        return
    for t in report.tables:
        if t.target_rows:
            typer.echo(f"  {t.name:<28} {t.target_rows:>12,} rows")
    typer.echo(
        f"copied {report.rows:,} rows in {len(report.tables)} tables in {report.seconds} s; counts match the source; "
        f"{report.sequences} sequences moved on; target at revision {report.target_revision}"
    )
    typer.echo("next: point HUITONG_DATABASE__URL at the target, run `huitong audit verify`, start Huitong")
