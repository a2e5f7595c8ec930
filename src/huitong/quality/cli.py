"""``huitong quality …``: run the batch checks, list the rules, regenerate the catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from huitong.quality.catalogue import render
from huitong.quality.registry import all_rules
from huitong.quality.run import run_batch
from huitong.services import open_services
from huitong.settings import load_settings

app = typer.Typer(help="Data quality: consistency, completeness, integration, timeliness.", no_args_is_help=True)


@app.command("run")
def run_command(as_json: bool = typer.Option(False, "--json", help="Print the scorecard as JSON only.")) -> None:
    """Run every rule over the repository, store the findings and print the scorecard."""
    settings = load_settings()
    services = open_services(settings)
    console = Console(stderr=True)
    try:
        with console.status("checking…") as status:
            result = run_batch(
                services.store, settings.quality, progress=lambda rtype, n: status.update(f"checking {rtype}: {n:,}")
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
