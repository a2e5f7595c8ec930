"""``huitong bench backlog``: ACK latency while the pipeline works through a backlog (SQLite).

A sender waits for each ACK, and every ACK waits for the durable commit of its message. On SQLite all commits go
through the one writer (db/writer.py), where the pipeline's batch transactions — tens to hundreds of milliseconds
each — queue beside the listener's receipts. This benchmark measures what a sender then sees.

1. **Baseline, in the same run**: the listener alone (the pipeline not started), 8 connections, ``--messages``.
2. **Under backlog**: ``--queued`` messages are put into the message store, the pipeline is started, and
   ``--messages`` more are sent with 8 connections while it processes them.

``ack_p99_ms`` (and p50) and ``msgs_per_s`` of the listener under backlog, ``baseline_*`` of the listener alone,
``p99_ratio`` = under backlog ÷ alone, and ``pipeline_msgs_per_s`` — what the pipeline processed meanwhile
(receipts that overtake the pipeline's batches must not stop it). The pipeline runs as the engine runs it (its
workers, ``store_batch`` — ``--store-batch`` to try another —, EMPI and quality step); the listener as in
``bench ingest``.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import typer

from huitong.ingest.bench import _Background, _drive, migrated_settings, store_backlog, tagged_messages


def backlog_run(url: str, messages: int, queued: int, hl7_file: Path | None, store_batch: int | None) -> dict[str, Any]:
    """The listener alone, then the listener while the pipeline processes ``queued`` stored messages."""
    from huitong.ingest import tally
    from huitong.ingest.engine import build_pipeline
    from huitong.ingest.mllp.server import MllpServer
    from huitong.ingest.receive import Committer
    from huitong.services import open_services

    settings = migrated_settings(url)
    if store_batch is not None:
        settings = settings.model_copy(
            update={"ingest": settings.ingest.model_copy(update={"store_batch": store_batch})}
        )
    services = open_services(settings)
    bg = _Background()
    stamp = str(int(time.time()))
    try:
        pipeline = build_pipeline(settings, services.store)

        async def start() -> MllpServer:
            committer = Committer(services.db, batch_max=settings.ingest.batch_max, on_commit=pipeline.wake)
            server = MllpServer(committer, host="127.0.0.1", port=0)
            await server.start()
            return server

        server = bg.run(start())
        _drive(server.port, tagged_messages(200, hl7_file, f"W{stamp}"), 8)  # warm-up
        alone = _drive(server.port, tagged_messages(messages, hl7_file, f"A{stamp}"), 8)

        store_backlog(services.db, tagged_messages(queued, hl7_file, f"Q{stamp}"))
        commits_before = getattr(services.db.writer, "commits", 0)
        bg.run(pipeline.start())
        deadline = time.monotonic() + 120
        while pipeline.processed + pipeline.failed == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # its mapping process started and its first batch stored: it is in its stride
        first = pipeline.processed + pipeline.failed
        started = time.perf_counter()
        during = _drive(server.port, tagged_messages(messages, hl7_file, f"D{stamp}"), 8)
        elapsed = time.perf_counter() - started
        processed = pipeline.processed + pipeline.failed - first
        left = tally.queued(services.db)  # > 0: the backlog lasted the whole measurement
        bg.run(pipeline.stop())
        commits = getattr(services.db.writer, "commits", 0) - commits_before
        bg.run(server.close())
    finally:
        bg.close()
        services.close()
    return {
        "database": url.split("://")[0],
        "store_batch": settings.ingest.store_batch,
        "workers": settings.ingest.workers,
        "queued": queued,
        "during": during,
        "alone": alone,
        "pipeline_processed": processed,
        "backlog_left": left,
        "pipeline_msgs_per_s": round(processed / elapsed, 1),
        "writer_commits": commits,
    }


def backlog(
    messages: int = typer.Option(1500, help="Messages sent with 8 connections, alone and again under backlog."),
    queued: int = typer.Option(3000, help="Messages waiting in the message store when the pipeline starts."),
    store_batch: int | None = typer.Option(
        None, "--store-batch", help="The pipeline's messages per transaction (default: the settings')."
    ),
    hl7: Path | None = typer.Option(None, "--hl7", help="Send the messages of this file instead of the built-in mix."),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON result."),
) -> None:
    """ACK latency while the pipeline processes a backlog, against the listener alone (SQLite)."""
    with tempfile.TemporaryDirectory(prefix="huitong-bench-backlog-") as folder:
        run = backlog_run(f"sqlite:///{folder}/bench.db", messages, queued, hl7, store_batch)
    during, alone = run["during"], run["alone"]
    result: dict[str, Any] = {
        "benchmark": "backlog",
        "ack_p50_ms": during["ack_p50_ms"],
        "ack_p99_ms": during["ack_p99_ms"],
        "msgs_per_s": during["msgs_per_s"],
        "baseline_ack_p50_ms": alone["ack_p50_ms"],
        "baseline_ack_p99_ms": alone["ack_p99_ms"],
        "baseline_msgs_per_s": alone["msgs_per_s"],
        "p99_ratio": round(during["ack_p99_ms"] / alone["ack_p99_ms"], 2),
        "pipeline_msgs_per_s": run["pipeline_msgs_per_s"],
        "sqlite": run,
    }
    if not as_json:
        typer.echo(
            f"listener alone:         {alone['msgs_per_s']:>8} msg/s  p50 {alone['ack_p50_ms']} ms  "
            f"p99 {alone['ack_p99_ms']} ms"
        )
        typer.echo(
            f"while the pipeline runs: {during['msgs_per_s']:>7} msg/s  p50 {during['ack_p50_ms']} ms  "
            f"p99 {during['ack_p99_ms']} ms  (pipeline {run['pipeline_msgs_per_s']} msg/s, "
            f"store_batch {run['store_batch']})"
        )
    typer.echo(json.dumps(result))
