"""The ``huitong`` command. It only dispatches: each domain keeps its own ``cli.py``, imported when its command runs."""

from __future__ import annotations

import typer

from huitong import __version__
from huitong.cli_lazy import Lazy, LazyGroup

# name → where the command lives and its help; imported only when that command runs (see huitong.cli_lazy).
COMMANDS: dict[str, Lazy] = {
    "import": Lazy(
        "huitong.fhir.cli:import_command",
        "Import FHIR NDJSON files and transaction/batch/collection Bundles (e.g. Synthea output).",
        "command",
    ),
    "demo": Lazy(
        "huitong.demo.cli:demo",
        "Create or upgrade the database, load the demo data and start Huitong (development mode).",
        "command",
    ),
    "db": Lazy("huitong.db.cli:app", "Database schema."),
    "fhir": Lazy("huitong.fhir.cli:app", "FHIR store maintenance."),
    "audit": Lazy("huitong.security.cli:audit_app", "The audit trail."),
    "security": Lazy("huitong.security.cli:security_app", "Security: MLPS self-check, accounts, clients."),
    "empi": Lazy("huitong.empi.cli:app", "Master patient index (EMPI)."),
    "bench": Lazy("huitong.bench.cli:app", "Benchmarks (each prints one JSON object as its last line)."),
    "synth": Lazy(
        "huitong.synth.cli:app", "Synthetic tertiary hospital: demo, test and benchmark data with ground truth."
    ),
    "backup": Lazy("huitong.ops.cli:backup_app", "Backups: create, verify, restore, prune, schedule."),
    "ops": Lazy("huitong.ops.cli:ops_app", "Operations: cold-data archive, failover drill."),
    "views": Lazy("huitong.views.cli:app", "SQL-on-FHIR v2 views: flatten FHIR resources into tables."),
    "terminology": Lazy("huitong.terminology.cli:app", "Code systems, value sets and concept maps."),
    "quality": Lazy("huitong.quality.cli:app", "Data quality: consistency, completeness, integration, timeliness."),
    "indicators": Lazy(
        "huitong.indicators.cli:app", "National performance indicators (国考): imports, computation, catalogue."
    ),
    "hl7": Lazy("huitong.cli:hl7_app", "HL7 v2 tools and the integration engine.", "factory"),
}


def hl7_app() -> typer.Typer:
    """The ``hl7`` group: the HL7 v2 tools with the engine's commands mounted (:func:`huitong.ingest.cli.mount`)."""
    from huitong.ingest.cli import mount

    root = typer.Typer()
    mount(root)
    group = root.registered_groups[0].typer_instance
    if group is None:  # pragma: no cover - mount always adds a Typer
        raise RuntimeError("huitong.ingest.cli.mount added no hl7 group")
    return group


class HuitongGroup(LazyGroup):
    """The ``huitong`` group: :data:`COMMANDS` imported on use; ``version``, ``serve`` and ``docs`` defined here."""

    lazy = COMMANDS
    order = ("import", "demo", "version", "serve", *(n for n in COMMANDS if n not in ("import", "demo")), "docs")


app = typer.Typer(
    name="huitong",
    help="Huitong (汇通) smart-hospital data platform.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    cls=HuitongGroup,
)


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
    from huitong.settings import load_settings

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
