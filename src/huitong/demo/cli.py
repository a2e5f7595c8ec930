"""``huitong demo``: create the embedded database, load demo data, serve, and feed the synthetic hospital."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import typer
from pydantic import SecretStr

from huitong.settings import Environment, Settings, load_settings

SCALES = ("none", "tiny", "small")


def _synthetic_hospital(scale: str, seed: int, folder: Path) -> Path:
    """The synthetic hospital at ``scale``, generated once into ``folder`` and reused afterwards."""
    from rich.progress import Progress

    from huitong.synth import generate

    target = folder / f"{scale}-seed{seed}"
    if (target / "manifest.json").exists():
        typer.echo(f"synthetic hospital ({scale}) found in {target}")
        return target
    with Progress() as progress:
        task = progress.add_task(f"generating the synthetic hospital ({scale})", total=None)
        generate(
            scale,
            seed,
            2026,
            target,
            progress=lambda phase, done, total: progress.update(task, description=phase, completed=done, total=total),
        )
    return target


def _demo_settings(settings: Settings, host: str | None, port: int | None, mllp_port: int | None) -> Settings:
    http = settings.http.model_copy(update={k: v for k, v in (("host", host), ("port", port)) if v is not None})
    # Plain HTTP on loopback: the session cookie cannot be Secure here (production serves HTTPS). The feeder
    # authenticates as a system client with a token made for this run, and may send the small hospital's ~9,000
    # bundles faster than the production API rate (it still waits out a 429).
    tokens = {**settings.security.api_tokens, "demo-feeder": SecretStr(secrets.token_urlsafe(24))}
    rate = max(settings.security.api_rate_per_minute, 20_000)
    security = settings.security.model_copy(
        update={"allow_anonymous": True, "cookie_secure": False, "api_tokens": tokens, "api_rate_per_minute": rate}
    )
    mllp = settings.mllp.model_copy(update={"enabled": True, **({"port": mllp_port} if mllp_port else {})})
    return settings.model_copy(update={"http": http, "security": security, "mllp": mllp})


def demo(
    host: str | None = typer.Option(None, help="Address to bind (default from settings: 127.0.0.1)."),
    port: int | None = typer.Option(None, help="HTTP port (default from settings: 8000)."),
    mllp_port: int | None = typer.Option(None, help="MLLP port of the HL7 listener (default from settings: 2575)."),
    scale: str = typer.Option("small", help="Synthetic hospital fed in after start: none, tiny or small."),
    seed: int = typer.Option(1, help="Seed of the synthetic hospital."),
    serve_after: bool = typer.Option(True, "--serve/--no-serve", help="Start the server after loading."),
) -> None:
    """Create or upgrade the database, load the demo data and start Huitong (development mode)."""
    from huitong.db import migrate
    from huitong.demo.accounts import ensure_demo_accounts
    from huitong.demo.feed import feed
    from huitong.demo.seed import load_demo
    from huitong.security.runtime import open_security
    from huitong.serve import serve
    from huitong.services import open_services

    if scale not in SCALES:
        raise typer.BadParameter(f"--scale must be one of {', '.join(SCALES)}")
    settings = load_settings()
    if settings.env is not Environment.DEVELOPMENT:
        raise typer.BadParameter("huitong demo runs only in development mode (HUITONG_ENV=development)")
    settings = _demo_settings(settings, host, port, mllp_port)
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
    base = f"http://{settings.http.host}:{settings.http.port}"
    if scale != "none":
        data = _synthetic_hospital(scale, seed, Path("var") / "synth")
        token = settings.security.api_tokens["demo-feeder"].get_secret_value()
        mllp = (settings.mllp.host, settings.mllp.port)
        threading.Thread(
            target=feed,
            args=(base, token, mllp, data, lambda line: typer.echo(f"[feed] {line}")),
            name="demo-feed",
            daemon=True,
        ).start()
    typer.echo("")
    typer.echo(f"  Open {base}/                 home page (中文 / English)")
    typer.echo(f"  Open {base}/fhir/metadata    FHIR CapabilityStatement")
    typer.echo(f"  Open {base}/ingest           integration engine: watch the synthetic hospital's HL7 arrive")
    typer.echo(f"  Open {base}/cockpit          leadership cockpit: the indicators, once the feed has computed them")
    typer.echo(f"  Try  curl {base}/fhir/Patient/demo-p001")
    typer.echo("  Anonymous access is on for this demo (development mode only); or sign in at /login (above).")
    typer.echo("")
    serve(settings)
