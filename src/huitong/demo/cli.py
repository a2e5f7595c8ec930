"""``huitong demo``: create the embedded database, load demo data, serve."""

from __future__ import annotations

import typer

from huitong.db import migrate
from huitong.demo.accounts import ensure_demo_accounts
from huitong.demo.seed import load_demo
from huitong.security.runtime import open_security
from huitong.serve import serve
from huitong.services import open_services
from huitong.settings import Environment, load_settings


def demo(
    host: str | None = typer.Option(None, help="Address to bind (default from settings: 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default from settings: 8000)."),
    serve_after: bool = typer.Option(True, "--serve/--no-serve", help="Start the server after loading."),
) -> None:
    """Create or upgrade the database, load the demo data and start Huitong (development mode)."""
    settings = load_settings()
    if settings.env is not Environment.DEVELOPMENT:
        raise typer.BadParameter("huitong demo runs only in development mode (HUITONG_ENV=development)")
    http = settings.http.model_copy(update={k: v for k, v in (("host", host), ("port", port)) if v is not None})
    # Plain HTTP on loopback: the session cookie cannot be Secure here (production serves HTTPS).
    security = settings.security.model_copy(update={"allow_anonymous": True, "cookie_secure": False})
    settings = settings.model_copy(update={"http": http, "security": security})
    at = migrate.upgrade(settings.database)
    typer.echo(f"database {settings.database.url.split('@')[-1]} is at revision {at}")
    services = open_services(settings)
    try:
        count = load_demo(services.store)
        credentials = ensure_demo_accounts(open_security(settings, services.db, services.store.policy))
    finally:
        services.close()
    typer.echo(f"demo data loaded: {count} resources (synthetic patients, encounters, diagnoses, results)")
    typer.echo("demo accounts (fresh passwords on every run; sign in at /login):")
    for c in credentials:
        extra = f"  TOTP secret for an authenticator app: {c.totp_secret}" if c.totp_secret else ""
        typer.echo(f"    {c.account.role:8} {c.account.user_id:13} {c.password}{extra}")
    if not serve_after:
        return
    base = f"http://{http.host}:{http.port}"
    typer.echo("")
    typer.echo(f"  Open {base}/                 home page (中文 / English)")
    typer.echo(f"  Open {base}/fhir/metadata    FHIR CapabilityStatement")
    typer.echo(f"  Try  curl {base}/fhir/Patient/demo-p001")
    typer.echo("  Anonymous access is on for this demo (development mode only); or sign in at /login (above).")
    typer.echo("")
    serve(settings)
