"""``huitong quality …``: run the batch checks, list the rules, regenerate the catalogue."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from huitong.quality import dictionaries
from huitong.quality.catalogue import render
from huitong.quality.errors import QualityError
from huitong.quality.registry import all_rules
from huitong.quality.rule import Catalogues, Context
from huitong.settings import load_settings

app = typer.Typer(help="Data quality: consistency, completeness, integration, timeliness.", no_args_is_help=True)


def _catalogues(directory: Path | None) -> Catalogues:
    if directory is None:
        return Catalogues()
    try:
        return dictionaries.load(directory)
    except QualityError as exc:
        raise typer.BadParameter(str(exc)) from None


def _rows(path: Path) -> Iterator[dict[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                yield {k: (v or "").strip() for k, v in row.items() if k is not None}
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {path} as a UTF-8 CSV file: {exc}") from None


DICTIONARIES = typer.Option(
    None, "--dictionaries", help="Folder with diagnoses.csv, procedures.csv, lab_tests.csv, lab_panels.csv."
)


@app.command("run")
def run_command(
    as_json: bool = typer.Option(False, "--json", help="Print the scorecard as JSON only."),
    dictionaries_dir: Path | None = DICTIONARIES,
    frontpage: Path | None = typer.Option(None, "--frontpage", help="Also check this front-page CSV (病案首页)."),
) -> None:
    """Run every rule over the repository, store the findings and print the scorecard."""
    from huitong.quality.run import run_batch
    from huitong.services import open_services

    settings = load_settings()
    catalogues = _catalogues(dictionaries_dir)
    rows = list(_rows(frontpage)) if frontpage is not None else None
    services = open_services(settings)
    console = Console(stderr=True)
    try:
        with console.status("checking…") as status:
            result = run_batch(
                services.store,
                settings.quality,
                progress=lambda rtype, n: status.update(f"checking {rtype}: {n:,}"),
                catalogues=catalogues,
                frontpage=rows,
                platform=settings,
            )
    finally:
        services.close()
    if as_json:
        typer.echo(json.dumps({"run_id": result.run_id, **result.scorecard}, ensure_ascii=False))
        return
    table = Table(title=f"Data-quality scorecard (run {result.run_id})")
    for column in ("Source", "Dimension", "Checked", "Failed", "Score"):
        table.add_column(column, justify="right" if column in ("Checked", "Failed", "Score") else "left")
    for row in result.scorecard["rows"]:
        score = f"{row['score']:.2%}" if row["score"] is not None else "-"
        table.add_row(row["source"], row["dimension"], str(row["checked"]), str(row["failed"]), score)
    Console().print(table)
    typer.echo(f"{result.scorecard['findings']} findings; per rule: {result.scorecard['per_rule']}")


@app.command("frontpage")
def frontpage_command(
    path: Path = typer.Argument(..., help="The front-page CSV (docs/formats/frontpage.md)."),
    dictionaries_dir: Path | None = DICTIONARIES,
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON lines."),
) -> None:
    """Check a front-page CSV with the row rules before it is imported or submitted; exit 1 on errors."""
    from huitong.quality.run import blocking, check_rows

    settings = load_settings()
    ctx = Context(settings.quality, catalogues=_catalogues(dictionaries_dir))
    found = check_rows(_rows(path), ctx)
    for f in found:
        if as_json:
            typer.echo(json.dumps({"row": f.res_id, "rule": f.rule_id, "detail": f.detail}, ensure_ascii=False))
        else:
            typer.echo(f"{f.res_id:16} {f.rule_id:36} {f.detail}")
    errors = blocking(found)
    typer.echo(f"{len(found)} findings, {len(errors)} errors", err=True)
    if errors:
        raise typer.Exit(1)


@app.command("rules")
def rules_command() -> None:
    """List the rules."""
    for r in all_rules():
        typer.echo(f"{r.id:34} {r.dimension.value:13} {r.severity.value:8} {r.title}")


@app.command("catalogue")
def catalogue_command(output: Path = typer.Option(Path("docs/quality-rules.md"), help="Where to write it.")) -> None:
    """Regenerate docs/quality-rules.md from the rules."""
    output.write_text(render(), encoding="utf-8")
    typer.echo(f"wrote {output}")
