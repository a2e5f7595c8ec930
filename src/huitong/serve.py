"""Running the HTTP server (uvicorn) for ``huitong serve`` and ``huitong demo``."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any

import typer
import uvicorn

from huitong.app import create_app
from huitong.db import migrate
from huitong.settings import HttpSettings, Settings


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


def serve(settings: Settings) -> None:
    """Serve the platform until interrupted (HTTPS when a certificate and key are configured)."""
    logging.basicConfig(level=settings.logging.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    check_schema(settings)
    tls = tls_options(settings.http)
    url = f"{'https' if tls else 'http'}://{settings.http.host}:{settings.http.port}"
    typer.echo(f"Huitong is serving on {url}  (FHIR API: {url}/fhir/metadata; stop with Ctrl+C)")
    uvicorn.run(
        create_app(settings),
        host=settings.http.host,
        port=settings.http.port,
        log_level=settings.logging.level.lower(),
        proxy_headers=False,
        **tls,
    )
