"""``huitong audit …`` and ``huitong security …`` commands."""

from __future__ import annotations

import typer

from huitong.settings import load_settings

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
security_app = typer.Typer(help="Security: MLPS self-check, accounts, clients.", no_args_is_help=True)


@audit_app.command("verify")
def verify() -> None:
    """Walk the audit hash chain; exit 1 if any row was altered, removed, inserted or re-ordered."""
    from huitong.db import open_database
    from huitong.security.audit_chain import verify_chain

    settings = load_settings()
    db = open_database(settings.database)
    try:
        with db.read() as conn:
            report = verify_chain(conn)
    finally:
        db.close()
    if report.ok:
        typer.echo(f"audit chain intact: {report.rows} rows ({report.unchained} before the chain began)")
        typer.echo(f"chain head: {report.head_hash}  (record this outside the database)")
        return
    typer.echo(f"audit chain BROKEN: {len(report.problems)} problem(s) in {report.rows} rows")
    for problem in report.problems:
        typer.echo(f"  {problem}")
    raise typer.Exit(1)


@security_app.command("check")
def check_command() -> None:
    """Each applicable MLPS 2.0 level-3 control, how this deployment meets it, what the hospital must do."""
    from huitong.security.check import check, render

    typer.echo(render(check(load_settings())))


@security_app.command("create-user")
def create_user(
    user_id: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(..., help="doctor, nurse, …, administrator, auditor."),
    name: str = typer.Option(..., help="Display name."),
    department: str | None = typer.Option(None, help="Home department (Organization id)."),
    patient_id: str | None = typer.Option(None, help="For patient accounts: the Patient id."),
    temporary: bool = typer.Option(
        False, "--temporary", help="The password is chosen for someone else: they must change it at the first login."
    ),
) -> None:
    """Create an account; the password is asked for (the command acts as system:cli, audited)."""
    from huitong.security.actor import Actor
    from huitong.security.passwords import PasswordPolicyError
    from huitong.security.runtime import open_security
    from huitong.services import open_services

    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = load_settings()
    services = open_services(settings)
    try:
        security = open_security(settings, services.db, services.store.policy)
        security.accounts.create(
            Actor.system("cli"),
            user_id=user_id,
            display_name=name,
            role=role,
            password=password,
            department=department,
            patient_id=patient_id,
            temporary=temporary,
        )
    except PasswordPolicyError as exc:
        typer.echo(f"refused: {exc}")
        raise typer.Exit(2) from exc
    finally:
        services.close()
    typer.echo(f"created {role} {user_id}")


@security_app.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt stored secrets and protected FHIR fields under HUITONG_SECURITY__FIELD_KEY_ACTIVE.

    Run after adding a new key (and after turning field encryption on: values still in clear are encrypted
    and the search index of those types rebuilt). Safe while Huitong serves; small write transactions.
    """
    from huitong.fhir.search.reindex import reindex
    from huitong.security.protection import FieldProtector, rotate_stored
    from huitong.security.runtime import open_security
    from huitong.services import open_services

    settings = load_settings()
    services = open_services(settings)
    key = settings.security.field_key_active or "(derived)"
    try:
        changed = open_security(settings, services.db, services.store.policy).accounts.rotate_keys()
        typer.echo(f"re-encrypted {changed} value(s) under key {key}")
        report = rotate_stored(services.db, services.store.protector or FieldProtector.from_settings(settings))
        typer.echo(
            f"re-encrypted {report.current} resource(s) and {report.versions} history version(s) under key {key}"
        )
        for rtype in sorted(report.sealed_types):
            done = reindex(services.db, rtype=rtype, fulltext_types=settings.fhir.fulltext_types)
            typer.echo(f"reindexed {done} {rtype} resource(s) (values newly encrypted)")
    finally:
        services.close()


@security_app.command("register-client")
def register_client(
    client_id: str = typer.Argument(..., help="The system client's id."),
    scopes: str = typer.Option(..., help='SMART system scopes it may be granted, e.g. "system/Observation.rs".'),
) -> None:
    """Register an OAuth client (client credentials); the secret is asked for (at least 24 characters)."""
    from huitong.security.actor import Actor
    from huitong.security.runtime import open_security
    from huitong.security.tokens import TokenError
    from huitong.services import open_services

    secret = typer.prompt("Client secret", hide_input=True, confirmation_prompt=True)
    settings = load_settings()
    services = open_services(settings)
    try:
        open_security(settings, services.db, services.store.policy).tokens.register_client(
            Actor.system("cli"), client_id, secret, scopes
        )
    except TokenError as exc:
        typer.echo(f"refused: {exc}")
        raise typer.Exit(2) from exc
    finally:
        services.close()
    typer.echo(f"registered {client_id} with scopes {scopes}")


@security_app.command("relink")
def relink_command() -> None:
    """Rebuild the patient links the access rules rely on (after data was loaded around the store)."""
    from huitong.db import open_database
    from huitong.security.access import relink

    settings = load_settings()
    db = open_database(settings.database)
    try:
        count = relink(db)
    finally:
        db.close()
    typer.echo(f"linked {count} resource(s)")
