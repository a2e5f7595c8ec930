"""``huitong backup …`` and ``huitong ops …``: backups, restore, archive, drills. Errors exit with the codes in
:mod:`huitong.ops.errors`."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from huitong.ops.errors import ExitCode, OpsError
from huitong.settings import Settings, load_settings

log = logging.getLogger(__name__)

backup_app = typer.Typer(help="Backups: create, verify, restore, prune, schedule.", no_args_is_help=True)
ops_app = typer.Typer(help="Operations: cold-data archive, failover drill.", no_args_is_help=True)


@contextmanager
def _exits() -> Iterator[None]:
    try:
        yield
    except OpsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(int(exc.exit_code)) from exc


def _settings() -> Settings:
    return load_settings()


@backup_app.command("create")
def create(
    directory: Annotated[
        Path | None, typer.Option(help="Folder to write to (default HUITONG_BACKUP__DIRECTORY).")
    ] = None,
    offsite: bool = typer.Option(True, help="Also copy to HUITONG_BACKUP__OFFSITE_DIRECTORY when set."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Take an online, consistent backup of the database now (the platform may keep running)."""
    from huitong.ops.backup import create_backup

    with _exits():
        result = create_backup(_settings(), directory=directory, offsite=offsite)
    if as_json:
        typer.echo(result.manifest.to_json())
        return
    m = result.manifest
    rows = sum(t.rows for t in m.tables.values())
    typer.echo(f"backup {m.backup_id}: {m.total_bytes} bytes, {len(m.tables)} tables, {rows} rows, {m.seconds} s")
    typer.echo(f"  at {result.path}" + (f" and off-site at {result.offsite_path}" if result.offsite_path else ""))


@backup_app.command("list")
def list_command() -> None:
    """List the backups in the local folder, oldest first."""
    from huitong.ops.retention import list_backups

    settings = _settings()
    for stored in list_backups(Path(settings.backup.directory)):
        m = stored.manifest
        sealed = "encrypted" if any(f.encrypted for f in m.files) else "plain"
        typer.echo(f"{m.backup_id}  {m.created}  {m.dialect:10}  {m.total_bytes:>12} bytes  {sealed}")


@backup_app.command("verify")
def verify(
    backup: str = typer.Argument("latest", help="Backup id, folder, or `latest`."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Restore into a scratch location and compare counts, checksums and the audit chain with the manifest."""
    from huitong.ops.restore import verify_backup
    from huitong.ops.retention import find_backup

    settings = _settings()
    with _exits():
        report = verify_backup(
            find_backup(settings.backup, backup), settings.backup, scratch_server_url=settings.database.url
        )
    if as_json:
        typer.echo(json.dumps({"backup_id": report.backup_id, "ok": report.ok, "problems": report.problems}))
    else:
        rows = sum(t.rows for t in report.tables.values())
        typer.echo(f"backup {report.backup_id}: {len(report.tables)} tables, {rows} rows restored in scratch")
        typer.echo(f"  audit chain: {report.audit_chain}")
        for problem in report.problems:
            typer.echo(f"  PROBLEM: {problem}")
        typer.echo("  verified: counts and checksums match the manifest" if report.ok else "  NOT VERIFIED")
    if not report.ok:
        raise typer.Exit(int(ExitCode.VERIFY_FAILED))


@backup_app.command("restore")
def restore(
    backup: str = typer.Argument(..., help="Backup id, folder, or `latest`."),
    target_url: str | None = typer.Option(None, help="Database to restore into (default HUITONG_DATABASE__URL)."),
    force: bool = typer.Option(False, "--force", help="Replace a database that already holds data."),
) -> None:
    """Restore a backup. Refuses to overwrite an existing database without --force (stop Huitong first)."""
    from huitong.ops.restore import restore_backup
    from huitong.ops.retention import find_backup

    settings = _settings()
    with _exits():
        manifest = restore_backup(
            find_backup(settings.backup, backup), target_url or settings.database.url, settings.backup, force=force
        )
    typer.echo(f"restored backup {manifest.backup_id} (schema {manifest.schema_revision}); run `huitong db upgrade`")


@backup_app.command("prune")
def prune_command() -> None:
    """Delete backups outside the retention policy (keep_last, keep_days), locally and off-site."""
    from huitong.ops.retention import prune

    for path in prune(_settings().backup):
        typer.echo(f"removed {path}")


@backup_app.command("schedule")
def schedule(
    once: bool = typer.Option(False, help="Take one backup, prune and exit (for cron or a systemd timer)."),
) -> None:
    """Back up every HUITONG_BACKUP__INTERVAL_MINUTES, verifying and pruning after each, until stopped."""
    settings = _settings()
    _loop(settings, once=once, sleep=time.sleep)


def _loop(settings: Settings, *, once: bool, sleep: Callable[[float], None]) -> None:
    from huitong.ops.backup import create_backup
    from huitong.ops.restore import verify_backup
    from huitong.ops.retention import prune

    while True:
        try:
            result = create_backup(settings)
            report = verify_backup(result.path, settings.backup, scratch_server_url=settings.database.url)
            log.info("backup %s: verified=%s %s", result.manifest.backup_id, report.ok, report.problems)
            typer.echo(f"backup {result.manifest.backup_id} verified={report.ok}")
            prune(settings.backup)
        except OpsError as exc:
            log.error("scheduled backup failed: %s", exc)
            if once:
                raise typer.Exit(int(exc.exit_code)) from exc
        if once:
            return
        sleep(settings.backup.interval_minutes * 60)


@ops_app.command("pitr-prepare")
def pitr_prepare(
    datadir: Path = typer.Option(..., help="Data directory holding a restored base backup (server stopped)."),
    wal_archive: Path = typer.Option(..., help="Folder of archived WAL segments (the archive_command's target)."),
    target_time: str = typer.Option(..., help="Moment to recover to, ISO 8601 with zone: 2026-01-27T10:15:00+08:00."),
) -> None:
    """Set up point-in-time recovery in a restored data directory; then start PostgreSQL on it."""
    from datetime import datetime

    from huitong.ops.pitr import prepare_recovery

    try:
        moment = datetime.fromisoformat(target_time)
        prepare_recovery(datadir, wal_archive, moment)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(int(ExitCode.FAILED)) from exc
    typer.echo(f"{datadir} will replay {wal_archive} up to {moment.isoformat()} and promote when started")


@ops_app.command("drill")
def drill(
    messages: int = typer.Option(300, help="HL7 messages to send."),
    kill_after: int = typer.Option(100, help="Kill the primary after this many ACKs."),
) -> None:
    """Failover drill on loopback: primary + synchronous replica, HL7 ingest, kill, promote, count (JSON)."""
    from huitong.ops.drill import run_drill

    report = run_drill(messages, kill_after)
    typer.echo(json.dumps(report.as_dict()))
    if not report.ok:
        raise typer.Exit(int(ExitCode.VERIFY_FAILED))


archive_app = typer.Typer(help="Cold-data archive (Parquet): run, list, show, restore.", no_args_is_help=True)
ops_app.add_typer(archive_app, name="archive")


@archive_app.command("run")
def archive_run(
    older_than_days: int | None = typer.Option(None, help="Age cut-off (default HUITONG_ARCHIVE__OLDER_THAN_DAYS)."),
) -> None:
    """Move resources and versions older than the cut-off out of the live database into Parquet."""
    from datetime import UTC, datetime, timedelta

    from huitong.ops.archive import archive_old
    from huitong.services import open_services

    settings = _settings()
    days = older_than_days if older_than_days is not None else settings.archive.older_than_days
    services = open_services(settings)
    try:
        run = archive_old(services.store, Path(settings.archive.directory), datetime.now(UTC) - timedelta(days=days))
    finally:
        services.close()
    typer.echo(f"archive run {run.run_id}: {run.resources} resources, {run.versions} versions, {run.parts} files")


@archive_app.command("list")
def archive_list() -> None:
    """List the archive runs."""
    from huitong.ops.archive import list_runs

    for run in list_runs(Path(_settings().archive.directory)):
        typer.echo(f"{run.run_id}  before {run.cutoff}  {run.resources} resources  {run.versions} versions")


@archive_app.command("show")
def archive_show(reference: str = typer.Argument(..., help="TYPE/ID, e.g. Observation/123")) -> None:
    """Print the archived versions of one resource as JSON lines."""
    from huitong.ops.archive import read_archived

    rtype, _, rid = reference.partition("/")
    for v in read_archived(Path(_settings().archive.directory), rtype, rid):
        typer.echo(
            json.dumps({"version": v.version_id, "lastUpdated": v.last_updated.isoformat(), "content": v.content})
        )


@archive_app.command("restore")
def archive_restore(run_id: str = typer.Argument(..., help="Run id from `huitong ops archive list`.")) -> None:
    """Bring one archive run back into the live database (search indexes are rebuilt)."""
    from huitong.ops.archive import restore_run
    from huitong.services import open_services

    settings = _settings()
    if not (Path(settings.archive.directory) / run_id).is_dir():
        typer.echo(f"error: no archive run {run_id}", err=True)
        raise typer.Exit(int(ExitCode.NOT_FOUND))
    services = open_services(settings)
    try:
        resources, versions = restore_run(services.store, Path(settings.archive.directory), run_id)
    finally:
        services.close()
    typer.echo(f"restored {resources} resources and {versions} versions from {run_id}")
