"""Running the HTTP server (uvicorn) for ``huitong serve`` and ``huitong demo``."""

from __future__ import annotations

import logging

import typer
import uvicorn

from huitong.app import create_app
from huitong.db import migrate
from huitong.settings import Settings


class SchemaNotCurrentError(Exception):
    """The database schema is older than this version of Huitong."""


def check_schema(settings: Settings) -> None:
    """Refuse to serve a database whose schema is not current, and say how to fix it."""
    at = migrate.current_revision(settings.database)
    head = migrate.head_revisions()
    if at != head:
        raise SchemaNotCurrentError(
            f"the database schema is at {at or 'nothing'}, this Huitong needs {head}: run `huitong db upgrade`"
        )


def serve(settings: Settings) -> None:
    """Serve the platform until interrupted."""
    logging.basicConfig(level=settings.logging.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    check_schema(settings)
    url = f"http://{settings.http.host}:{settings.http.port}"
    typer.echo(f"Huitong is serving on {url}  (FHIR API: {url}/fhir/metadata; stop with Ctrl+C)")
    uvicorn.run(
        create_app(settings),
        host=settings.http.host,
        port=settings.http.port,
        log_level=settings.logging.level.lower(),
        proxy_headers=False,
    )
