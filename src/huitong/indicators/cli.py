"""``huitong indicators``: import the front page and HIS exports, compute, list and document the indicators."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from huitong.indicators.definition import load_definitions
from huitong.indicators.engine import HOSPITAL, range_label
from huitong.security.actor import Actor
from huitong.settings import load_settings

if TYPE_CHECKING:
    from huitong.fhir.store import ResourceStore
    from huitong.indicators import service
    from huitong.indicators.importer import ImportReport
    from huitong.services import Services

app = typer.Typer(help="National performance indicators (国考): imports, computation, catalogue.", no_args_is_help=True)
ACTOR = Actor.system("indicators")
DEFAULT_DUCKDB = Path("var/indicators.duckdb")


@contextmanager
def _services() -> Iterator[Services]:
    from huitong.services import open_services

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
        for check in report.warned:
            typer.echo(f"  warning, line {check.line} ({check.key}): {'; '.join(check.warnings)}")
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
    from huitong.indicators import importer

    with _services() as services:
        _exit_code(_run_import(files, "front page", importer.import_frontpage, services.store, as_json))


@app.command("import-visits")
def import_visits(
    files: Annotated[list[Path], typer.Argument(help="HIS outpatient register CSV file(s).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON report per file.")] = False,
) -> None:
    """Store the HIS outpatient register as FHIR Encounters (class AMB/EMER) with appointment times."""
    from huitong.indicators import importer

    with _services() as services:
        _exit_code(_run_import(files, "visits", importer.import_visits, services.store, as_json))


@app.command("import-charges")
def import_charges(
    files: Annotated[list[Path], typer.Argument(help="HIS itemised charges CSV file(s).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON report per file.")] = False,
) -> None:
    """Store the HIS itemised charges as one FHIR Claim per encounter (items with income categories)."""
    from huitong.indicators import importer

    with _services() as services:
        _exit_code(_run_import(files, "charges", importer.import_charges, services.store, as_json))


@app.command("import-hl7")
def import_hl7(
    files: Annotated[list[Path], typer.Argument(help="HL7 v2 message file(s), e.g. pharmacy RDE/RAS or PACS ORU.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON report per file.")] = False,
) -> None:
    """Store archived HL7 v2 messages (one per line or CR-framed) mapped as the integration engine maps them:
    medication orders and administrations, imaging reports … (a live feed goes through the MLLP listener)."""
    from huitong.indicators import importer

    with _services() as services:
        _exit_code(_run_import(files, "HL7 messages", importer.import_hl7, services.store, as_json))


@app.command("import-master")
def import_master(
    directory: Annotated[Path, typer.Argument(help="Directory with departments.csv, staff.csv, procedures.csv, …")],
) -> None:
    """Import reference data: master data (departments, staff, procedure/diagnosis catalogues, charge items, the
    drug dictionary, the imaging exam list) and the finance report (finance.csv), replacing each table found."""
    from huitong.indicators import reference

    with _services() as services:
        counts = reference.import_directory(services.db, directory)
    typer.echo(json.dumps(counts))


def _workspace(services: Services, duckdb_path: Path | None) -> service.Workspace:
    from huitong.indicators import service

    settings = services.settings.indicators
    return service.Workspace(Path(duckdb_path or settings.duckdb_path), dict(settings.parameters))


@app.command("compute")
def compute(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    department: Annotated[str | None, typer.Option(help="Department code (default: the whole hospital).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    indicator: Annotated[list[str] | None, typer.Option("--indicator", help="Only these ids (repeatable).")] = None,
    full: Annotated[bool, typer.Option("--full", help="Rebuild the views from scratch first.")] = False,
    duckdb_path: Annotated[Path | None, typer.Option("--duckdb", help="DuckDB file (default: the setting).")] = None,
) -> None:
    """Refresh the views, compute every indicator per month, quarter and year and per department, store the
    values, and print each indicator's value over the whole range (for one department with --department)."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    if last < first:
        raise typer.BadParameter("--to is before --from")
    from huitong.indicators import service

    with _services() as services:
        workspace = _workspace(services, duckdb_path)
        computed = service.compute_and_store(services.db, workspace, ACTOR, first, last, ids=indicator, full=full)
        service.keep_case_base(services.db, workspace)  # the cockpit's first drill-down then need not build it
    label = range_label(first, last)
    wanted = department or HOSPITAL
    rows = [v for v in computed if v.period == label and v.department == wanted]
    if as_json:
        out = [{k: v for k, v in value.as_json().items() if k not in ("name_en", "department")} for value in rows]
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    for value in rows:
        shown = "—" if value.value is None else f"{value.value:.4g}"
        typer.echo(f"{value.id:<36} {shown:>12} {value.unit:<10} {value.name_zh}")
    typer.echo(f"{len(computed)} values stored for {label}", err=True)


@app.command("list")
def list_indicators(as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False) -> None:
    """List the indicator definitions: id, ▲, direction, unit, name."""
    for d in load_definitions():
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "id": d.id,
                        "name": d.name_zh,
                        "name_en": d.name_en,
                        "national_monitoring": d.national,
                        "direction": d.direction,
                        "unit": d.unit,
                        "unconfirmed": d.unconfirmed,
                        "sha256": d.sha256,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            typer.echo(f"{d.id:<34} {'▲' if d.national else ' '} {d.direction:<8} {d.unit:<8} {d.name_zh}")


@app.command("catalogue")
def write_catalogue(
    output: Annotated[Path, typer.Option(help="Where to write the catalogue.")] = Path("docs/indicators.md"),
) -> None:
    """Regenerate docs/indicators.md from the definition files and the national list."""
    from huitong.indicators import catalogue

    output.write_text(catalogue.render(), encoding="utf-8")
    typer.echo(f"wrote {output}")


@app.command("drill")
def drill(
    indicator_id: Annotated[str, typer.Argument(help="Indicator id, e.g. 6 or 10.ami.mortality.")],
    period: Annotated[str, typer.Argument(help="2024, 2024-Q1, 2024-03 or FROM..TO.")],
    department: Annotated[str, typer.Option(help="Department code ('*': hospital).")] = HOSPITAL,
    numerator_only: Annotated[bool, typer.Option("--numerator-only", help="Only cases in the numerator.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many cases.")] = 1000,
    duckdb_path: Annotated[Path | None, typer.Option("--duckdb", help="DuckDB file (default: the setting).")] = None,
) -> None:
    """List the cases behind a value (JSON lines): numerator and denominator contributions and the rule met."""
    from huitong.indicators import service

    with _services() as services:
        try:
            cases = service.drill_down(
                services.db,
                _workspace(services, duckdb_path),
                ACTOR,
                indicator_id,
                period,
                department,
                only_numerator=numerator_only,
                limit=limit,
            )
        except service.IndicatorsBusyError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    for case in cases:
        typer.echo(
            json.dumps(
                {
                    "case": case.case_id,
                    "day": case.day.isoformat() if case.day else None,
                    "department": case.department,
                    "numerator": case.numerator,
                    "denominator": case.denominator,
                    "rule": case.rule,
                },
                ensure_ascii=False,
            )
        )
