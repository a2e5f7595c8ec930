"""``huitong hl7 listen | messages | replay | dead | purge``: run the engine and work the message store.

These commands are registered on the ``huitong hl7`` group (beside ``check`` and ``send``) by
:func:`mount`, called from :mod:`huitong.cli`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import signal
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from huitong.settings import Settings, load_settings

if TYPE_CHECKING:
    from huitong.db import Database

app = typer.Typer(help="HL7 v2 integration engine.", no_args_is_help=True)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@app.command("listen")
def listen(
    host: str | None = typer.Option(None, help="Address to bind (default HUITONG_MLLP__HOST, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default HUITONG_MLLP__PORT, 2575; 0 picks a free one)."),
    channel: str | None = typer.Option(None, help="Channel of the messages received (default `default`)."),
    pipeline: bool = typer.Option(True, help="Also run the pipeline (map and store); --no-pipeline only stores."),
) -> None:
    """Run the MLLP listener (and the pipeline) without the web server, until interrupted."""
    from huitong.db import migrate

    settings = load_settings()
    updates = {
        "enabled": True,
        **{k: v for k, v in (("host", host), ("port", port), ("channel", channel)) if v is not None},
    }
    settings = settings.model_copy(update={"mllp": settings.mllp.model_copy(update=updates)})
    at, head = migrate.current_revision(settings.database), migrate.head_revisions()
    if at != head:
        raise typer.BadParameter(f"the database schema is at {at or 'nothing'}, not {head}: run `huitong db upgrade`")
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # the loop `huitong serve` uses too
        runner.run(_listen(settings, pipeline))


async def _listen(settings: Settings, pipeline: bool) -> None:
    from huitong.ingest.engine import Engine
    from huitong.services import open_services

    services = open_services(settings)
    engine = Engine(settings, services.store, process=pipeline)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await engine.start()
        for server in engine.servers:
            typer.echo(f"MLLP listening on {server.host}:{server.port} (channel {server.channel})")
        await stop.wait()
    finally:
        await engine.stop()
        services.close()


def _open_db(settings: Settings) -> Database:
    from huitong.db import open_database

    return open_database(settings.database)


@app.command("messages")
def messages(
    control_id: str | None = typer.Option(None, "--control-id", help="MSH-10."),
    patient: str | None = typer.Option(None, help="A patient identifier (PID-3 ID, matched whole)."),
    message_type: str | None = typer.Option(None, "--type", help="ADT, ADT^A01, ORU^R01, …"),
    status: str | None = typer.Option(None, help="received, processed, error, filtered, unsupported or dead."),
    channel: str | None = typer.Option(None, help="Channel name."),
    since: str | None = typer.Option(None, help="Received at or after (ISO 8601)."),
    until: str | None = typer.Option(None, help="Received before (ISO 8601)."),
    limit: int = typer.Option(50, help="Most messages listed."),
    raw: bool = typer.Option(False, help="Include the raw message."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Search the message store, newest first."""
    from huitong.ingest import inbox
    from huitong.ingest.inbox import Query

    settings = load_settings()
    db = _open_db(settings)
    try:
        q = Query(control_id, patient, message_type, status, channel, _parse_time(since), _parse_time(until), limit)
        rows = inbox.search(db, q, with_raw=raw)
    finally:
        db.close()
    for row in rows:
        if as_json:
            typer.echo(json.dumps(row.as_json(with_raw=raw), ensure_ascii=False))
            continue
        line = f"{row.id:>8} {row.received_at:%Y-%m-%d %H:%M:%S} {row.channel:<10} {row.message_type:<9} "
        line += f"{row.control_id or '-':<20} {row.status:<11} {row.error or ', '.join(row.resources[:3])}"
        typer.echo(line)
        if raw and row.raw is not None:
            typer.echo(row.raw.decode("utf-8", "replace").replace("\r", "\n"))


@app.command("replay")
def replay(
    ids: Annotated[list[int] | None, typer.Argument(help="Message ids to replay.")] = None,
    status: str | None = typer.Option(None, help="Replay every message in this status (e.g. error, dead)."),
    message_type: str | None = typer.Option(None, "--type", help="…of this type."),
    channel: str | None = typer.Option(None, help="…of this channel."),
    since: str | None = typer.Option(None, help="…received at or after (ISO 8601)."),
    limit: int = typer.Option(10_000, help="Most messages replayed by a search."),
) -> None:
    """Put messages back into the pipeline (idempotent: unchanged resources get no new version)."""
    from huitong.ingest import inbox
    from huitong.ingest.inbox import Query

    settings = load_settings()
    db = _open_db(settings)
    try:
        q = None
        if status or message_type or channel or since:
            q = Query(message_type=message_type, status=status, channel=channel, since=_parse_time(since), limit=limit)
        if not ids and q is None:
            raise typer.BadParameter("give message ids or a search (--status, --type, --channel, --since)")
        count = inbox.replay(db, ids or [], q=q)
    finally:
        db.close()
    typer.echo(f"{count} message(s) queued for processing again (run `huitong serve` or `huitong hl7 listen`)")


@app.command("dead")
def dead(limit: int = typer.Option(20, help="Most messages listed.")) -> None:
    """The dead-letter list: messages that failed or could not be mapped, with the reason."""
    from huitong.ingest import inbox

    settings = load_settings()
    db = _open_db(settings)
    try:
        rows = inbox.dead_letters(db, limit=limit)
    finally:
        db.close()
    for row in rows:
        typer.echo(f"{row.id:>8} {row.message_type:<9} {row.control_id or '-':<20} {row.status}: {row.error}")


@app.command("status")
def status(
    as_json: bool = typer.Option(False, "--json", help="Print the dashboard's JSON (GET /api/ingest/stats)."),
) -> None:
    """Messages per channel and status, the rates of the last 5 minutes, and which engine processes.

    Exits 3 when messages are queued and no engine holds the processing lease (nothing will process them): a check
    for a monitoring system."""
    from huitong.ingest.api import stats

    settings = load_settings()
    db = _open_db(settings)
    try:
        data = stats(db)
    finally:
        db.close()
    processing = data["processing"]
    queued = sum(int(c["queued"]) for c in data["channels"])
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
    else:
        typer.echo(f"{'channel':<16} {'received':>10} {'processed':>10} {'error':>8} {'filtered':>9} {'unsupp.':>8} "
                   f"{'queued':>8}  per min (5 min) in/done/err")  # fmt: skip
        for c in data["channels"]:
            n, r = c["counts"], c["rates_per_min"]["5m"]
            typer.echo(
                f"{c['channel']:<16} {sum(n.values()):>10} {n['processed']:>10} {n['error']:>8} {n['filtered']:>9} "
                f"{n['unsupported']:>8} {c['queued']:>8}  {r['received']}/{r['processed']}/{r['errored']}"
            )
        if processing["active"]:
            typer.echo(f"processing: engine {processing['holder']} (lease until {processing['until']})")
        else:
            typer.echo("processing: no engine holds the lease — queued messages wait (start `huitong serve` with the "
                       "engine on, or `huitong hl7 listen`)")  # fmt: skip
    if queued and not processing["active"]:
        raise typer.Exit(3)


@app.command("purge")
def purge(
    days: int | None = typer.Option(None, help="Keep this many days (default HUITONG_INGEST__RETENTION_DAYS)."),
) -> None:
    """Delete finished messages older than the retention period (dead letters kept unless configured)."""
    from huitong.ingest import inbox

    settings = load_settings()
    keep = days if days is not None else settings.ingest.retention_days
    db = _open_db(settings)
    try:
        count = inbox.purge(db, datetime.now(UTC) - timedelta(days=keep), keep_dead=settings.ingest.keep_dead_letters)
    finally:
        db.close()
    typer.echo(f"{count} message(s) older than {keep} days deleted")


def mount(root: typer.Typer) -> None:
    """Put these commands under ``huitong hl7``: on the HL7 tools' group when it exists, else a group of ours."""
    try:
        hl7_app = getattr(importlib.import_module("huitong.ingest.hl7v2.cli"), "app", None)
    except ImportError:
        hl7_app = None
    target = hl7_app if isinstance(hl7_app, typer.Typer) else app
    if target is not app:
        for command in app.registered_commands:
            target.registered_commands.append(command)
    if not any(group.name == "hl7" for group in root.registered_groups):
        root.add_typer(target, name="hl7")


if __name__ == "__main__":  # `python -m huitong.ingest.cli listen`: the engine without the rest of the CLI
    app()
