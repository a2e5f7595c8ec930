"""``huitong hl7 check``, ``convert`` and ``send``: HL7 v2 tools that need no database.

``check`` parses and maps each message of the files without storing anything and prints one line per
message: accepted (with the resources it would produce) or rejected (with the ACK code and the precise
reason). It exits 0 when every message was handled, accepted or rejected, and 2 for an unusable
invocation (a missing file). ``send`` is a real MLLP client: one connection, each message answered
before the next, the ACK code of each printed. ``convert`` maps an archive of messages to FHIR NDJSON for
``huitong import`` (:mod:`huitong.ingest.hl7v2.convert`).

The engine's commands (``listen``, ``messages``, ``replay``, …) are added to this group by
:func:`huitong.ingest.cli.mount`.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path
from typing import Any

import typer

from huitong.ingest.errors import Hl7ParseError, IngestError, MllpError
from huitong.ingest.hl7v2.ack import read_ack
from huitong.ingest.hl7v2.header import peek_header
from huitong.ingest.hl7v2.parse import parse_message, split_messages
from huitong.ingest.hl7v2.to_fhir import map_message

app = typer.Typer(help="HL7 v2 tools and the integration engine.", no_args_is_help=True)

EXIT_USAGE = 2


def _read_files(files: list[Path]) -> list[tuple[Path, bytes]]:
    out = []
    for path in files:
        if not path.is_file():
            typer.echo(f"error: {path} is not a readable file", err=True)
            raise typer.Exit(EXIT_USAGE)
        out.append((path, path.read_bytes()))
    return out


def check_message(data: bytes) -> dict[str, Any]:
    """The verdict on one message: what ``huitong hl7 check --json`` prints for it."""
    result: dict[str, Any] = {}
    try:
        header = peek_header(data)
        result["type"], result["control_id"] = header.message_type, header.control_id
    except Hl7ParseError:
        pass
    try:
        msg = parse_message(data)
        mapping = map_message(msg)
    except IngestError as exc:
        result |= {"status": "rejected", "ack": exc.ack_code, "error_code": exc.error_code, "reason": exc.reason}
        if exc.location:
            result["location"] = exc.location
        return result
    result |= {"status": "accepted", "ack": "AA", "resources": mapping.counts(), "warnings": mapping.warnings}
    if mapping.merge is not None:
        result["merge"] = {
            "surviving": [i["value"] for i in mapping.merge.surviving_identifiers],
            "merged": [i["value"] for i in mapping.merge.merged_identifiers],
        }
    if mapping.critical:
        result["critical_observations"] = len(mapping.critical)
    return result


def _line(label: str, verdict: dict[str, Any]) -> str:
    head = f"{label} {verdict.get('type') or '?'} {verdict.get('control_id') or '-'}"
    if verdict["status"] == "accepted":
        made = ", ".join(f"{t} {n}" for t, n in verdict["resources"].items())
        extra = f" ({len(verdict['warnings'])} warnings)" if verdict["warnings"] else ""
        return f"{head}: accepted → {made}{extra}"
    return f"{head}: rejected ({verdict['ack']} {verdict['error_code']}): {verdict['reason']}"


@app.command("check")
def check(
    files: list[Path] = typer.Argument(..., help="Files of HL7 v2 messages (one or many per file, batches too)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per message instead of text."),
    warnings: bool = typer.Option(False, "--warnings", help="Also print each warning (text output)."),
) -> None:
    """Parse and map messages without storing them: accepted with the resources, or rejected with the reason."""
    counts = {"accepted": 0, "rejected": 0}
    for path, data in _read_files(files):
        parts = split_messages(data) or [data]  # no MSH at all: the parser says precisely why
        for index, part in enumerate(parts, start=1):
            verdict = check_message(part)
            counts[verdict["status"]] += 1
            label = f"{path}#{index}" if len(parts) > 1 else str(path)
            if as_json:
                typer.echo(json.dumps({"file": str(path), "index": index, **verdict}, ensure_ascii=False))
            else:
                typer.echo(_line(label, verdict))
                if warnings:
                    for text in verdict.get("warnings", []):
                        typer.echo(f"    warning: {text}")
    if not as_json:
        typer.echo(f"{counts['accepted']} accepted, {counts['rejected']} rejected", err=True)


@app.command("convert")
def convert(
    files: list[Path] = typer.Argument(..., help="Files of HL7 v2 messages (any size; batches too), in order."),
    output: Path = typer.Option(..., "--output", "-o", help="Empty directory for <ResourceType>.ndjson files."),
    processes: int = typer.Option(0, min=0, help="Worker processes mapping messages (0: in this process)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
) -> None:
    """Map archived messages to FHIR NDJSON as the pipeline maps them, for `huitong import` (rejected messages
    are listed in rejected.ndjson with the reason). Exit 0 when every message was handled."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from huitong.ingest.hl7v2.convert import REJECTED, convert_files
    from huitong.settings import load_settings

    for path in files:
        if not path.is_file():
            typer.echo(f"error: {path} is not a readable file", err=True)
            raise typer.Exit(EXIT_USAGE)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True, disable=as_json) as progress:
        task = progress.add_task("converting", total=sum(p.stat().st_size for p in files))
        try:
            report = convert_files(
                files,
                output,
                processes=processes,
                progress=lambda n: progress.update(task, completed=n),
                department_reference=load_settings().ingest.department_reference,
            )
        except FileExistsError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from exc
    summary = report.as_dict()
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    made = ", ".join(f"{t} {n}" for t, n in summary["written"].items())
    typer.echo(f"{report.messages} messages: {report.accepted} accepted, {report.rejected} rejected")
    typer.echo(f"wrote {summary['resources']} resources to {output}: {made}")
    typer.echo(f"{report.repeated} repeated unchanged (written once), {report.versions} changed (written again)")
    if report.rejected:
        typer.echo(f"rejected messages and reasons: {output / REJECTED}")
    typer.echo(f"next: huitong import {output}")


@app.command("send")
def send(
    files: list[Path] = typer.Argument(..., help="Files of HL7 v2 messages to send, in order."),
    host: str = typer.Option(..., "--host", help="MLLP server address."),
    port: int = typer.Option(..., "--port", help="MLLP server port."),
    tls: bool = typer.Option(False, "--tls", help="Use TLS (verifying the server against the system's CAs)."),
    ca: Path | None = typer.Option(None, "--ca", help="Trust this CA file (PEM) for TLS; implies --tls."),
    insecure: bool = typer.Option(False, "--insecure", help="TLS without verifying the server (tests only)."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds to wait for each ACK."),
) -> None:
    """Send messages over one MLLP connection and print each ACK code."""
    messages = [m for _, data in _read_files(files) for m in split_messages(data)]
    if not messages:
        typer.echo("error: the files hold no HL7 message (no MSH segment)", err=True)
        raise typer.Exit(EXIT_USAGE)
    context: ssl.SSLContext | None = None
    if tls or ca is not None or insecure:
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        if insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    codes: dict[str, int] = {}
    try:
        asyncio.run(_send(messages, host, port, context, timeout, codes))
    except MllpError as exc:
        typer.echo(f"error: {exc.reason}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(", ".join(f"{n} {code}" for code, n in sorted(codes.items())), err=True)


async def _send(
    messages: list[bytes], host: str, port: int, context: ssl.SSLContext | None, timeout: float, codes: dict[str, int]
) -> None:
    from rich.progress import Progress

    from huitong.ingest.mllp.client import send_messages

    def control_id(message: bytes) -> str:
        try:
            return peek_header(message).control_id
        except Hl7ParseError:
            return "?"

    with Progress(transient=True, disable=len(messages) < 20) as progress:
        task = progress.add_task("sending", total=len(messages))

        def on_ack(index: int, ack: bytes) -> None:
            try:
                summary = read_ack(ack)
                code, text = summary.code, summary.text
            except Hl7ParseError as exc:
                code, text = "??", f"unreadable ACK: {exc.reason}"
            codes[code] = codes.get(code, 0) + 1
            progress.console.print(
                f"{control_id(messages[index])} {code}" + (f" {text}" if text else ""), highlight=False
            )
            progress.advance(task)

        await send_messages(host, port, messages, ssl=context, ack_timeout=timeout, on_ack=on_ack)
