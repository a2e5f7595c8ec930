"""The ``huitong`` command. It only dispatches: each domain keeps its own ``cli.py`` and is mounted here."""

from __future__ import annotations

import typer

from huitong import __version__
from huitong.bench.cli import app as bench_app
from huitong.db.cli import app as db_app
from huitong.demo.cli import demo
from huitong.empi.cli import app as empi_app
from huitong.fhir.cli import app as fhir_app
from huitong.fhir.cli import import_command
from huitong.indicators.cli import app as indicators_app
from huitong.ingest.cli import mount as mount_ingest
from huitong.ops.cli import backup_app, ops_app
from huitong.quality.cli import app as quality_app
from huitong.security.cli import audit_app, security_app
from huitong.settings import load_settings
from huitong.synth.cli import app as synth_app
from huitong.terminology.cli import app as terminology_app
from huitong.views.cli import app as views_app

app = typer.Typer(
    name="huitong",
    help="Huitong (汇通) smart-hospital data platform.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db_app, name="db")
app.add_typer(fhir_app, name="fhir")
app.command("import")(import_command)
app.add_typer(audit_app, name="audit")
app.add_typer(security_app, name="security")
app.add_typer(empi_app, name="empi")
app.add_typer(bench_app, name="bench")
app.add_typer(synth_app, name="synth")
app.add_typer(backup_app, name="backup")
app.add_typer(ops_app, name="ops")
app.add_typer(views_app, name="views")
app.add_typer(terminology_app, name="terminology")
app.add_typer(quality_app, name="quality")
app.add_typer(indicators_app, name="indicators")
app.command()(demo)
mount_ingest(app)


@app.command()
def version() -> None:
    """Print Huitong's version."""
    typer.echo(f"huitong {__version__}")


@app.command("serve")
def serve_command(
    host: str | None = typer.Option(None, help="Address to bind (default HUITONG_HTTP__HOST, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default HUITONG_HTTP__PORT, 8000)."),
    workers: int = typer.Option(
        1, min=1, help="Worker processes on the one port (one Python process uses about one core; e.g. the CPUs)."
    ),
) -> None:
    """Serve the platform on the configured database (run `huitong db upgrade` first)."""
    from huitong.serve import TlsConfigError, WorkersConfigError, serve

    settings = load_settings()
    updates = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    try:
        serve(settings.model_copy(update={"http": settings.http.model_copy(update=updates)}), workers=workers)
    except (TlsConfigError, WorkersConfigError) as exc:
        typer.echo(f"refused to start: {exc}", err=True)
        raise typer.Exit(2) from exc


docs_app = typer.Typer(help="Generated documentation.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")


@docs_app.command("settings")
def docs_settings(
    output: str = typer.Option("docs/settings.md", help="Where to write the settings reference."),
) -> None:
    """Regenerate the settings reference from the Settings class."""
    from pathlib import Path

    from huitong.settings_doc import render

    Path(output).write_text(render(), encoding="utf-8")
    typer.echo(f"wrote {output}")


def main() -> None:
    """Entry point of the ``huitong`` console script."""
    app()
