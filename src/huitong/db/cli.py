"""``huitong db …``: schema migrations."""

from __future__ import annotations

import typer

from huitong.db import migrate
from huitong.settings import load_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade(
    revision: str = typer.Argument("heads", help="Target revision (default: the newest of every domain)."),
) -> None:
    """Create or migrate the database named by HUITONG_DATABASE__URL."""
    settings = load_settings()
    at = migrate.upgrade(settings.database, revision)
    typer.echo(f"database {settings.database.url.split('@')[-1]} is at revision {at}")


@app.command()
def current() -> None:
    """Print the revision the database is at."""
    settings = load_settings()
    typer.echo(migrate.current_revision(settings.database) or "empty")
