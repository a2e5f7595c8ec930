"""Running the HTTP server (uvicorn) for ``huitong serve`` and ``huitong demo``."""

from __future__ import annotations

import logging
import os
import ssl
from pathlib import Path
from typing import Any

import typer
import uvicorn
from fastapi import FastAPI

from huitong.app import create_app
from huitong.db import migrate
from huitong.settings import HttpSettings, Settings, load_settings


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


class TlsConfigError(Exception):
    """The HTTPS settings are incomplete or name files that cannot be read."""


def tls_options(http: HttpSettings) -> dict[str, Any]:
    """uvicorn's ``ssl_*`` arguments from ``HUITONG_HTTP__TLS_*`` (empty for plain HTTP).

    uvicorn builds its context with ``PROTOCOL_TLS_SERVER``, whose minimum on Python 3.11 is TLS 1.2.
    """
    cert, key = http.tls_certfile.strip(), http.tls_keyfile.strip()
    if not cert and not key:
        return {}
    if not cert or not key:
        raise TlsConfigError(
            "HTTPS needs both HUITONG_HTTP__TLS_CERTFILE and HUITONG_HTTP__TLS_KEYFILE (PEM files); set both, "
            "or neither for plain HTTP behind a TLS-terminating proxy"
        )
    for name, path in (("TLS_CERTFILE", cert), ("TLS_KEYFILE", key)):
        if not Path(path).is_file():
            raise TlsConfigError(f"HUITONG_HTTP__{name} names {path!r}, which is not a readable file")
    password = http.tls_keyfile_password.get_secret_value() if http.tls_keyfile_password else None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:  # fail at start-up with a clear message rather than inside uvicorn
        context.load_cert_chain(cert, key, password or (lambda: b""))  # never prompt on a terminal
    except (ssl.SSLError, OSError) as exc:
        raise TlsConfigError(
            f"cannot load the TLS certificate {cert!r} with key {key!r}: {exc} (PEM files; a matching pair; "
            "HUITONG_HTTP__TLS_KEYFILE_PASSWORD for an encrypted key)"
        ) from exc
    return {"ssl_certfile": cert, "ssl_keyfile": key, "ssl_keyfile_password": password}


class WorkersConfigError(Exception):
    """Several worker processes were asked for where only one may run."""


def check_workers(settings: Settings, workers: int) -> None:
    """Refuse several workers where a part of the platform must run once: the MLLP listeners and watched
    folders bind one port and own one inbox, so they run in a single process."""
    if workers < 1:
        raise WorkersConfigError("--workers must be at least 1")
    if workers > 1 and (settings.mllp.enabled or settings.ingest.channels_file is not None):
        raise WorkersConfigError(
            "the integration engine (MLLP listeners, watched folders) runs in one process: serve it with "
            "--workers 1, or turn it off here (HUITONG_MLLP__ENABLED=false, no HUITONG_INGEST__CHANNELS_FILE) and run "
            "it in a second `huitong serve --workers 1` on another port"
        )


def check_environment(settings: Settings) -> None:
    """Refuse several workers unless ``settings`` are what the environment gives (each worker reads it there);
    only the address may differ (the command line's ``--host``/``--port``, handed down to the workers)."""
    address = {"host": settings.http.host, "port": settings.http.port}
    environment = load_settings()
    if environment.model_copy(update={"http": environment.http.model_copy(update=address)}) != settings:
        raise WorkersConfigError(
            "--workers > 1 needs every setting in the environment (HUITONG_…): each worker process reads it there"
        )


def app_from_environment() -> FastAPI:
    """The application of one worker process of ``huitong serve --workers N`` (settings from the environment,
    as the parent read them: it refuses to start workers otherwise)."""
    return create_app(load_settings())


def serve(settings: Settings, *, workers: int = 1) -> None:
    """Serve the platform until interrupted (HTTPS when a certificate and key are configured).

    ``workers`` > 1 runs that many uvicorn worker processes on one socket, so a machine's cores all answer
    requests (one Python process uses about one core). Each worker builds its settings from the environment,
    so the settings must come from there (``huitong serve`` does; ``host``/``port`` given on the command line
    are handed down the same way).
    """
    logging.basicConfig(level=settings.logging.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    check_workers(settings, workers)
    if workers > 1:
        check_environment(settings)
    check_schema(settings)
    tls = tls_options(settings.http)
    url = f"{'https' if tls else 'http'}://{settings.http.host}:{settings.http.port}"
    processes = f"{workers} worker processes; " if workers > 1 else ""
    typer.echo(f"Huitong is serving on {url}  ({processes}FHIR API: {url}/fhir/metadata; stop with Ctrl+C)")
    options: dict[str, Any] = {
        "host": settings.http.host,
        "port": settings.http.port,
        "log_level": settings.logging.level.lower(),
        "proxy_headers": False,
        # uvicorn formats its access line's arguments for every request even when its level drops the line
        "access_log": logging.getLevelName(settings.logging.level.upper()) <= logging.INFO,
        **tls,
    }
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    os.environ["HUITONG_HTTP__HOST"] = settings.http.host  # the workers' own copy of the address they serve on
    os.environ["HUITONG_HTTP__PORT"] = str(settings.http.port)
    uvicorn.run("huitong.serve:app_from_environment", factory=True, workers=workers, **options)
