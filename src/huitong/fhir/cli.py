"""``huitong fhir …`` (reindex, build-indexes) and ``huitong import PATH…`` (bulk load)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import typer

from huitong.fhir.bulk import DEFAULT_CHUNK
from huitong.settings import load_settings

if TYPE_CHECKING:
    from huitong.db import Database

app = typer.Typer(help="FHIR store maintenance.", no_args_is_help=True)


def _build_lookup_indexes(db: Database) -> None:
    from rich.console import Console

    from huitong.fhir.search import lookup_indexes

    names = lookup_indexes.missing(db)
    if not names:
        return
    console = Console(stderr=True)
    with console.status("building search lookup indexes") as status:
        started = time.monotonic()
        built = lookup_indexes.build_missing(db, progress=lambda name: status.update(f"building {name}"))
    console.print(f"built {len(built)} search lookup indexes in {time.monotonic() - started:.0f} s")


@app.command("build-indexes")
def build_indexes_command() -> None:
    """Build the search lookup indexes that an import with --defer-indexes set aside and did not build (it was
    killed): searches are right but slow until then."""
    from huitong.db import open_database
    from huitong.fhir.search import lookup_indexes

    db = open_database(load_settings().database)
    try:
        if not lookup_indexes.missing(db):
            typer.echo("every search lookup index exists")
            return
        _build_lookup_indexes(db)
    finally:
        db.close()


@app.command("reindex")
def reindex_command(
    rtype: str | None = typer.Option(None, "--type", help="Only this resource type (default: all)."),
    batch: int = typer.Option(1000, min=1, help="Resources per write transaction."),
) -> None:
    """Rebuild the search index of stored resources (e.g. those stored before the index existed)."""
    from rich.progress import Progress

    from huitong.fhir.search.reindex import count_resources, reindex
    from huitong.services import open_services

    settings = load_settings()
    services = open_services(settings)
    try:
        total = count_resources(services.db, rtype)
        with Progress() as progress:
            task = progress.add_task("reindexing", total=total)
            done = reindex(
                services.db,
                rtype=rtype,
                batch=batch,
                progress=lambda n: progress.advance(task, n),
                fulltext_types=settings.fhir.fulltext_types,
            )
    finally:
        services.close()
    typer.echo(f"indexed {done} resources")


def import_command(
    paths: list[Path] = typer.Argument(..., exists=True, help="NDJSON files, Bundles, or folders of them."),
    state: Path = typer.Option(
        Path("var/import-state.json"), help="Resume points; an interrupted import continues from here."
    ),
    rejects: Path = typer.Option(Path("var/import-rejects.ndjson"), help="Report of rejected lines (NDJSON)."),
    chunk: int = typer.Option(
        DEFAULT_CHUNK, min=1, help="Resources per transaction for NDJSON (and bundles written together)."
    ),
    restart: bool = typer.Option(False, help="Ignore the state file and import everything again."),
    processes: int | None = typer.Option(
        None, min=0, help="Worker processes parsing and indexing NDJSON (default: setting fhir.import_processes)."
    ),
    defer_indexes: bool = typer.Option(
        False,
        "--defer-indexes",
        help="A first load into a store no one is using: set the search lookup indexes aside and build them once "
        "at the end (faster on a large store: docs/fhir-api.md; searches are slow until then).",
    ),
) -> None:
    """Import FHIR NDJSON files and transaction/batch/collection Bundles (e.g. Synthea output)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from huitong import heap
    from huitong.db import migrate
    from huitong.fhir.bulk.importer import Importer, ImportState, expand_paths
    from huitong.fhir.search import lookup_indexes
    from huitong.security.actor import Actor
    from huitong.services import open_services

    files = expand_paths(paths)
    if restart and state.exists():
        state.unlink()
    settings = load_settings()
    services = open_services(settings)
    workers = settings.fhir.import_processes if processes is None else processes
    importer = Importer(services, Actor.system("import"), chunk=chunk, state=ImportState(state), processes=workers)
    try:
        if defer_indexes:
            set_aside = lookup_indexes.set_aside(services.db)
            typer.echo(f"search lookup indexes set aside until the end: {len(set_aside)}", err=True)
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
        with Progress(*columns) as progress, heap.frozen_heap():  # start-up's objects out of the collector's way
            task = progress.add_task(f"importing {len(files)} files", total=sum(f.stat().st_size for f in files))
            importer.import_paths(
                files,
                lambda n: progress.advance(task, n),
                starting=lambda file: progress.update(task, description=file.name[:40]),
            )
    finally:
        importer.close()
        try:
            _build_lookup_indexes(services.db)
            if importer.report.resources:
                services.db.write(migrate.refresh_statistics)
                typer.echo("planner statistics refreshed (ANALYZE)", err=True)
        finally:
            services.close()
    report = importer.report
    if report.rejects:
        rejects.parent.mkdir(parents=True, exist_ok=True)
        rejects.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in report.rejects))
    typer.echo(
        f"imported {report.resources} resources from {report.files} files "
        f"({report.skipped_files} already done); rejected {report.rejected}"
        + (f" (see {rejects})" if report.rejected else "")
    )
    if report.rejected:
        raise typer.Exit(code=2)
