"""``huitong indicators``: import the front page and HIS exports, compute, list and document the indicators."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from huitong.fhir.store import ResourceStore
from huitong.indicators import importer, reference
from huitong.indicators.importer import ImportReport
from huitong.security.actor import Actor
from huitong.services import Services, open_services
from huitong.settings import load_settings

app = typer.Typer(help="National performance indicators (国考): imports, computation, catalogue.", no_args_is_help=True)
ACTOR = Actor.system("indicators")
DEFAULT_DUCKDB = Path("var/indicators.duckdb")


@contextmanager
def _services() -> Iterator[Services]:
    services = open_services(load_settings())
    try:
        yield services
    finally:
        services.close()


def _run_import(
    files: list[Path], label: str, fn: Callable[..., ImportReport], store: ResourceStore, as_json: bool
) -> list[ImportReport]:
    console = Console(stderr=True)
    reports = []
    with Progress(
        TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        for path in files:
            task = bar.add_task(f"{label} {path.name}", total=None)

            def progress(done: int, total: int, task_id: TaskID = task) -> None:
                bar.update(task_id, completed=done, total=total)

            reports.append(fn(store, ACTOR, path, progress=progress))
    for report in reports:
        if as_json:
            typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
            continue
        typer.echo(
            f"{report.file}: {report.rows} rows, {report.accepted} accepted, {len(report.rejected)} rejected, "
            f"{report.resources} resources written or unchanged"
        )
        for check in report.rejected:
            typer.echo(f"  line {check.line} ({check.key}): {'; '.join(check.reasons)}")
    return reports


def _exit_code(reports: list[ImportReport]) -> None:
    if any(r.rejected for r in reports):
        raise typer.Exit(1)


@app.command("import-frontpage")
def import_frontpage(
    files: Annotated[list[Path], typer.Argument(help="Front-page CSV file(s) (docs/formats/frontpage.md).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON report per file.")] = False,
) -> None:
    """Validate the inpatient front page and store it as FHIR (Encounter, Condition, Procedure, Claim).

    Codes are checked against the catalogues imported with `import-master` when present. Exits 1 when any row
    was rejected (the valid rows are stored all the same)."""
    with _services() as services:
        _exit_code(_run_import(files, "front page", importer.import_frontpage, services.store, as_json))


@app.command("import-visits")
def import_visits(
    files: Annotated[list[Path], typer.Argument(help="HIS outpatient register CSV file(s).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON report per file.")] = False,
) -> None:
    """Store the HIS outpatient register as FHIR Encounters (class AMB/EMER) with appointment times."""
    with _services() as services:
        _exit_code(_run_import(files, "visits", importer.import_visits, services.store, as_json))


@app.command("import-charges")
def import_charges(
    files: Annotated[list[Path], typer.Argument(help="HIS itemised charges CSV file(s).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON report per file.")] = False,
) -> None:
    """Store the HIS itemised charges as one FHIR Claim per encounter (items with income categories)."""
    with _services() as services:
        _exit_code(_run_import(files, "charges", importer.import_charges, services.store, as_json))


@app.command("import-master")
def import_master(
    directory: Annotated[Path, typer.Argument(help="Directory with departments.csv, staff.csv, procedures.csv, …")],
) -> None:
    """Import reference data: master data (departments, staff, procedure/diagnosis catalogues, charge items) and
    the finance report (finance.csv), replacing each table found."""
    with _services() as services:
        counts = reference.import_directory(services.db, directory)
    typer.echo(json.dumps(counts))
