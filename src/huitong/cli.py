"""The ``huitong`` command. It only dispatches: each domain keeps its own ``cli.py`` and is mounted here."""

from __future__ import annotations

import typer

from huitong import __version__
from huitong.bench.cli import app as bench_app
from huitong.db.cli import app as db_app

app = typer.Typer(
    name="huitong",
    help="Huitong (汇通) smart-hospital data platform.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")


@app.command()
def version() -> None:
    """Print Huitong's version."""
    typer.echo(f"huitong {__version__}")


def main() -> None:
    """Entry point of the ``huitong`` console script."""
    app()
