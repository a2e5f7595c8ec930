"""``huitong bench ingest`` and ``huitong bench pipeline``: the integration engine's two speeds.

**ingest** — messages/s and ACK latency (p50/p99) of the MLLP listener with 1 and 8 connections, each
client waiting for every ACK before it sends the next message (original mode), every ACK sent only after
the message is durably committed (SQLite ``synchronous=FULL``; PostgreSQL with ``--postgres URL``). The
baseline, in the same run: a bare asyncio MLLP echo (a protocol, the listener's shape) that reads the MSH and
ACKs without storing; the stream-based echo of earlier measurements is reported beside it, and so is the floor
of durable ingest (``bench_floor.py``: the echo plus one row per message group-committed before the ACK;
``floor_ratio`` to the echo, ``ratio_to_floor`` of the listener to it). The clients run in a
separate process, so they do not share the server's interpreter, each connection an asyncio protocol (a stream
reader and a task per connection made the load generator, not the echo, the limit of earlier runs).

**pipeline** — messages/s fully processed (parse → map → store as FHIR resources with their search
index rows and audit entries, and the inbox status) for an ADT + ORU mix. The baseline, in the same run:
the very rows that processing wrote, deleted and inserted again in batches of 2,000 per transaction into
the same database — the storage limit. ``ratio`` = processed rate ÷ limit rate.

Messages: the HL7 benchmark's realistic mix (:func:`huitong.ingest.hl7v2.bench.sample_messages`: ADT and
ORU^R01, Chinese names, UTF-8, 0.6–2 KB), or the messages of ``--hl7 FILE`` (e.g. synthetic-hospital output).
"""

from __future__ import annotations

import asyncio
import functools
import json
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import typer


def tagged_messages(count: int, hl7_file: Path | None, tag: str) -> list[bytes]:
    """``count`` messages (the built-in mix, or ``hl7_file``'s, repeated) with control ids ``TAG-0``, ``TAG-1``, …:
    a run's messages are never repeats of an earlier run's."""
    if hl7_file is not None:
        from huitong.ingest.hl7v2.parse import split_messages

        base = split_messages(hl7_file.read_bytes())
    else:
        from huitong.ingest.hl7v2.bench import sample_messages

        base = sample_messages(min(count, 5000))
    out = []
    for i in range(count):
        raw = base[i % len(base)]
        end = raw.find(b"\r")
        fields = raw[:end].split(b"|")
        if len(fields) > 9:
            fields[9] = f"{tag}-{i}".encode()
        out.append(b"|".join(fields) + raw[end:])
    return out


# -- the load generator (runs in a child process) ---------------------------------------------------------


def _client_process(port: int, per_connection: list[list[bytes]], queue: Any) -> None:
    """The senders: one asyncio protocol per connection, each sending its next message when the ACK is in."""
    from huitong.ingest.mllp.framing import MllpDecoder, frame

    class Sender(asyncio.Protocol):
        def __init__(self, messages: list[bytes], done: asyncio.Future[list[float]]) -> None:
            self.frames = [frame(m) for m in messages]
            self.done = done
            self.decoder = MllpDecoder()
            self.latencies: list[float] = []
            self.transport = cast(asyncio.Transport, None)
            self.started = 0.0

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = cast(asyncio.Transport, transport)
            self._send()

        def _send(self) -> None:
            if len(self.latencies) == len(self.frames):
                self.transport.close()
                if not self.done.done():
                    self.done.set_result(self.latencies)
                return
            self.started = time.perf_counter()
            self.transport.write(self.frames[len(self.latencies)])

        def data_received(self, data: bytes) -> None:
            if self.decoder.feed(data):  # one message in flight: one ACK completes it
                self.latencies.append(time.perf_counter() - self.started)
                self._send()

        def connection_lost(self, exc: Exception | None) -> None:
            if not self.done.done():
                self.done.set_exception(ConnectionError(f"the server closed the connection ({exc})"))

    async def main() -> tuple[float, list[float]]:
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in per_connection]
        started = time.perf_counter()
        for messages, done in zip(per_connection, futures, strict=True):
            await loop.create_connection(functools.partial(Sender, messages, done), "127.0.0.1", port)
        results = await asyncio.gather(*futures)
        return time.perf_counter() - started, [x for r in results for x in r]

    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        queue.put(runner.run(main()))


def _drive(port: int, messages: list[bytes], connections: int) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    split = [messages[k::connections] for k in range(connections)]
    proc = ctx.Process(target=_client_process, args=(port, split, queue))
    proc.start()
    cpu_before = time.process_time()  # this process: the server's loop and the database writer
    try:
        elapsed, latencies = queue.get(timeout=600)
        cpu = time.process_time() - cpu_before
    finally:
        proc.join(30)
        if proc.is_alive():
            proc.kill()
    latencies.sort()
    return {
        "connections": connections,
        "messages": len(messages),
        "msgs_per_s": round(len(messages) / elapsed, 1),
        "ack_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "ack_p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
        "server_cpu_ms_per_msg": round(cpu * 1000 / len(messages), 3),
        "msgs_per_server_cpu_s": round(len(messages) / cpu, 1) if cpu > 0 else None,
    }


class _Background:
    """An asyncio loop in a thread, serving while the client process drives it."""

    def __init__(self) -> None:
        import threading

        import uvloop  # the loop `huitong serve` runs the listeners on (uvicorn picks uvloop when installed)

        self.loop = uvloop.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def _echo_server(kind: str = "protocol") -> Any:
    """A bare MLLP echo: reads the MSH and ACKs at once, storing nothing.

    ``protocol`` (the baseline): an :class:`asyncio.Protocol` per connection, the shape of the real listener;
    ``streams``: a stream reader/writer per connection, the baseline of the earlier measurements.
    """
    from huitong.ingest.errors import Hl7ParseError
    from huitong.ingest.hl7v2.ack import build_ack
    from huitong.ingest.hl7v2.header import peek_header
    from huitong.ingest.mllp.framing import MllpDecoder, frame

    def answer(payload: bytes) -> bytes:
        try:
            return frame(build_ack(peek_header(payload), "AA"))
        except Hl7ParseError as exc:
            return frame(build_ack(payload, error=exc))

    def echo(payload: bytes, transport: asyncio.Transport) -> None:
        transport.write(answer(payload))

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = MllpDecoder()
        while chunk := await reader.read(65536):
            for payload in decoder.feed(chunk):
                writer.write(answer(payload))
        writer.close()

    if kind == "streams":
        return asyncio.start_server(handle, "127.0.0.1", 0)
    return asyncio.get_running_loop().create_server(payload_protocol(echo), "127.0.0.1", 0)


def payload_protocol(handle: Callable[[bytes, asyncio.Transport], None]) -> type[asyncio.Protocol]:
    """An MLLP server protocol (the shape of the real listener) handing each framed payload and the connection's
    transport to ``handle``: the echo answers at once, the floor (``bench_floor.py``) after its commit."""
    from huitong.ingest.mllp.framing import MllpDecoder

    class PayloadProtocol(asyncio.Protocol):
        def __init__(self) -> None:
            self.decoder = MllpDecoder()
            self.transport = cast(asyncio.Transport, None)

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = cast(asyncio.Transport, transport)

        def data_received(self, data: bytes) -> None:
            for payload in self.decoder.feed(data):
                handle(payload, self.transport)

    return PayloadProtocol


def _measured(port: int, count: int, hl7_file: Path | None, tag: str) -> dict[str, float]:
    """8 connections: 200 messages to warm up, then ``count`` measured."""
    _drive(port, tagged_messages(200, hl7_file, f"{tag}W"), 8)
    return _drive(port, tagged_messages(count, hl7_file, tag), 8)


def migrated_settings(url: str) -> Any:
    """The settings of a benchmark database at ``url``, migrated to the newest revision."""
    from huitong.db import migrate
    from huitong.settings import load_settings

    settings = load_settings(database={"url": url})
    migrate.upgrade(settings.database)
    return settings


def ingest_run(url: str, count: int, hl7_file: Path | None) -> dict[str, Any]:
    """Durable ingest at 1 and 8 connections on the database at ``url``."""
    from huitong.db import open_database
    from huitong.ingest.mllp.server import MllpServer
    from huitong.ingest.receive import Committer

    settings = migrated_settings(url)
    db = open_database(settings.database)
    bg = _Background()
    runs = []
    try:

        async def start() -> MllpServer:
            server = MllpServer(Committer(db, batch_max=settings.ingest.batch_max), host="127.0.0.1", port=0)
            await server.start()
            return server

        server = bg.run(start())
        stamp = str(int(time.time()))
        _drive(server.port, tagged_messages(200, hl7_file, f"W{stamp}"), 8)  # warm-up
        for connections in (1, 8):
            n = count // 4 if connections == 1 else count
            runs.append(_drive(server.port, tagged_messages(n, hl7_file, f"B{stamp}-{connections}"), connections))
        bg.run(server.close())
    finally:
        bg.close()
        db.close()
    return {"database": url.split("://")[0], "runs": runs}


def echo_run(count: int, hl7_file: Path | None, kind: str = "protocol") -> dict[str, Any]:
    """The non-durable baseline at 8 connections."""
    bg = _Background()
    try:

        async def start() -> Any:
            return await _echo_server(kind)

        server = bg.run(start())
        result = _measured(server.sockets[0].getsockname()[1], count, hl7_file, "E")
        server.close()
    finally:
        bg.close()
    return result


def floor_run(count: int, hl7_file: Path | None, *, parse: bool = False) -> dict[str, Any]:
    """The floor of durable ingest at 8 connections (``bench_floor.py``: MSH — or, with ``parse``, the whole message —,
    one row, group commit, ACK)."""
    from huitong.ingest.bench_floor import durable_echo

    bg = _Background()
    with tempfile.TemporaryDirectory(prefix="huitong-bench-floor-") as folder:
        server, writer = bg.run(durable_echo(f"{folder}/floor.db", parse=parse))
        try:
            result = _measured(server.sockets[0].getsockname()[1], count, hl7_file, "F")
            server.close()
        finally:
            bg.close()
            writer.close()
    return result


def ingest(
    messages: int = typer.Option(4000, help="Messages sent with 8 connections (a quarter with 1)."),
    postgres: str | None = typer.Option(None, "--postgres", help="Also measure on this PostgreSQL URL (migrated)."),
    hl7: Path | None = typer.Option(None, "--hl7", help="Send the messages of this file instead of the built-in mix."),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON result."),
) -> None:
    """MLLP ingest with ACK after durable commit, against a bare MLLP echo (see huitong.ingest.bench)."""
    with tempfile.TemporaryDirectory(prefix="huitong-bench-ingest-") as folder:
        sqlite = ingest_run(f"sqlite:///{folder}/bench.db", messages, hl7)
    echo = echo_run(messages, hl7)
    echo_streams = echo_run(messages, hl7, "streams")
    floor = floor_run(messages, hl7)
    floor_parsed = floor_run(messages, hl7, parse=True)
    eight = next(r for r in sqlite["runs"] if r["connections"] == 8)
    result: dict[str, Any] = {
        "benchmark": "ingest",
        "msgs_per_s": eight["msgs_per_s"],
        "ack_p50_ms": eight["ack_p50_ms"],
        "ack_p99_ms": eight["ack_p99_ms"],
        "echo_msgs_per_s": echo["msgs_per_s"],
        "ratio": round(eight["msgs_per_s"] / echo["msgs_per_s"], 3),
        "ratio_per_cpu_s": round(eight["msgs_per_server_cpu_s"] / echo["msgs_per_server_cpu_s"], 3),
        "sqlite": sqlite["runs"],
        "echo": echo,
        "echo_streams_msgs_per_s": echo_streams["msgs_per_s"],
        "ratio_vs_streams_echo": round(eight["msgs_per_s"] / echo_streams["msgs_per_s"], 3),
        "floor_msgs_per_s": floor["msgs_per_s"],
        "floor_ack_p99_ms": floor["ack_p99_ms"],
        "floor_ratio": round(floor["msgs_per_s"] / echo["msgs_per_s"], 3),
        "ratio_to_floor": round(eight["msgs_per_s"] / floor["msgs_per_s"], 3),
        "floor": floor,
        "floor_parsed_msgs_per_s": floor_parsed["msgs_per_s"],
        "floor_parsed_ack_p99_ms": floor_parsed["ack_p99_ms"],
        "floor_parsed_ratio": round(floor_parsed["msgs_per_s"] / echo["msgs_per_s"], 3),
        "ratio_to_floor_parsed": round(eight["msgs_per_s"] / floor_parsed["msgs_per_s"], 3),
    }
    if postgres:
        pg = ingest_run(postgres, messages, hl7)
        result["postgresql"] = pg["runs"]
    if not as_json:
        for name in ("sqlite", "postgresql"):
            for r in result.get(name, []):
                typer.echo(
                    f"{name:<10} {r['connections']} conn: {r['msgs_per_s']:>8} msg/s  "
                    f"p50 {r['ack_p50_ms']} ms  p99 {r['ack_p99_ms']} ms"
                )
        typer.echo(f"echo       8 conn: {echo['msgs_per_s']:>8} msg/s (stream-based echo {echo_streams['msgs_per_s']})")
        typer.echo(f"floor      8 conn: {floor['msgs_per_s']:>8} msg/s (durable: MSH, one row, group commit)")
        typer.echo(
            f"floor+parse 8 conn: {floor_parsed['msgs_per_s']:>7} msg/s (the same, the whole message parsed first)"
        )
    typer.echo(json.dumps(result))


# -- pipeline ----------------------------------------------------------------------------------------------


def store_backlog(db: Any, messages: list[bytes]) -> None:
    """Put ``messages`` into the message store as received, 1,000 per transaction — a backlog for the pipeline.
    Background writes: no sender waits on them (on SQLite a foreground write would shorten the pipeline's batches)."""
    from huitong.ingest import inbox
    from huitong.ingest.receive import examine

    for start in range(0, len(messages), 1000):
        part = [examine(m, "bench").incoming for m in messages[start : start + 1000]]
        db.write(functools.partial(inbox.insert_batch, batch=part), background=True)


def pipeline_run(url: str, count: int, hl7_file: Path | None, workers: int, store_batch: int) -> dict[str, Any]:
    """Process ``count`` stored messages into FHIR resources, then re-insert the same rows raw."""
    import sqlalchemy as sa

    from huitong import heap
    from huitong.db.schema import metadata
    from huitong.ingest.engine import build_pipeline
    from huitong.ingest.schema import PROCESSED, ingest_message
    from huitong.services import open_services

    settings = migrated_settings(url)
    settings = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"workers": workers, "store_batch": store_batch})}
    )
    services = open_services(settings)
    try:
        store_backlog(services.db, tagged_messages(count, hl7_file, f"P{int(time.time())}"))
        before = _row_counts(services.db, metadata)

        cpu_s: list[float] = []  # this process's CPU time while the pipeline ran (all its threads)

        async def process() -> float:
            pipeline = build_pipeline(settings, services.store)  # as the engine runs it: EMPI, quality step
            pipeline.poll_interval = 0.1
            started, cpu_started = time.perf_counter(), time.process_time()
            await pipeline.start()
            await pipeline.drain(timeout=3600)
            elapsed = time.perf_counter() - started
            cpu_s.append(time.process_time() - cpu_started)
            await pipeline.stop()
            return elapsed

        with heap.frozen_heap():  # as in ``huitong serve``, whose start-up freezes the heap (huitong.heap)
            elapsed = asyncio.run(process())
        with services.db.read() as conn:
            statuses: dict[str, int] = dict(
                conn.execute(
                    sa.select(ingest_message.c.status, sa.func.count()).group_by(ingest_message.c.status)
                ).all()
            )
        processed = int(statuses.get(PROCESSED, 0))
        added = _added_rows(services.db, metadata, before)
        rows = sum(len(part) for _table, part in added)
        limit_elapsed = _reinsert(services.db, added, -(-count // store_batch))
        one_elapsed = _reinsert(services.db, added, 1)
        streams = max(2, workers) if services.db.dialect == "postgresql" else 0
        parallel_elapsed = _reinsert(services.db, added, 1, streams=streams) if streams else None
    finally:
        services.close()
    return {
        "database": url.split("://")[0],
        "messages": count,
        "processed": processed,
        "statuses": {k: int(v) for k, v in statuses.items()},
        "msgs_per_s": round(count / elapsed, 1),
        "workers": workers,
        "store_batch": store_batch,
        "empi": settings.ingest.link_patients,
        "cpu_ms_per_msg": round(cpu_s[0] * 1000 / count, 3),
        "rows_written": rows,
        "rows_per_message": round(rows / count, 1),
        "limit_rows_per_s": round(rows / limit_elapsed, 1),
        "limit_msgs_per_s": round(count / limit_elapsed, 1),
        "limit_transactions": -(-count // store_batch),
        "one_transaction_msgs_per_s": round(count / one_elapsed, 1),
        **(
            {"parallel_streams": streams, "parallel_msgs_per_s": round(count / parallel_elapsed, 1)}
            if parallel_elapsed
            else {}
        ),
    }


_SKIP = {"alembic_version", "ingest_message", "ingest_tally", "ingest_message_patient"}  # the message store


def _row_counts(db: Any, metadata: Any) -> dict[str, int]:
    import sqlalchemy as sa

    out = {}
    with db.read() as conn:
        names = set(sa.inspect(conn).get_table_names())
        for table in metadata.sorted_tables:
            if table.name in names and table.name not in _SKIP:
                out[table.name] = int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    return out


_Rows = list[tuple[Any, list[dict[str, Any]]]]  # (table, its rows), in the metadata's order


def _added_rows(db: Any, metadata: Any, before: dict[str, int]) -> _Rows:
    """The rows processing added, read once for the storage limit's inserts (every table that was empty before)."""
    import sqlalchemy as sa

    after = _row_counts(db, metadata)
    tables = [t for t in metadata.sorted_tables if after.get(t.name, 0) > before.get(t.name, 0)]
    if before and any(before.get(t.name, 0) for t in tables):
        raise RuntimeError("the pipeline benchmark needs an empty database")
    with db.read() as conn:
        return [(t, [dict(r._mapping) for r in conn.execute(sa.select(t))]) for t in tables]


def _reinsert(db: Any, added: _Rows, transactions: int, *, streams: int = 0) -> float:
    """Delete the ``added`` rows and insert them again, timed: in ``transactions`` transactions (as many as the
    pipeline's batches: each holds a like share of every table, so the rows go in as they did, a batch of messages
    at a time), by the quickest way the database has (:func:`huitong.db.bulk.insert_rows`: the driver's
    executemany on SQLite, COPY on PostgreSQL); returns the seconds.

    With ``streams`` (PostgreSQL, whose pipeline workers write in parallel): the current rows in one transaction,
    then every other table's rows split into ``streams`` shares written by as many connections at once."""
    import sqlalchemy as sa

    from huitong.db import bulk

    def wipe(conn: sa.Connection) -> None:
        for table, _rows in reversed(added):
            conn.execute(table.delete())

    def insert(conn: sa.Connection, chunk: _Rows) -> None:
        for table, part in chunk:
            bulk.insert_rows(conn, table, part)

    chunks = _shares(added, streams) if streams else _transactions(added, transactions)
    db.write(wipe)
    started = time.perf_counter()
    if streams:
        db.write(functools.partial(insert, chunk=[(t, rows) for t, rows in added if t.name == "resource"]))
        with ThreadPoolExecutor(streams) as pool:
            list(pool.map(lambda chunk: db.write(functools.partial(insert, chunk=chunk)), chunks))
    else:
        for chunk in chunks:
            db.write(functools.partial(insert, chunk=chunk))
    return time.perf_counter() - started


def _transactions(added: _Rows, n: int) -> list[_Rows]:
    """``added`` in ``n`` like shares of every table; a version row goes with or after the share of its resource."""
    chunks: list[_Rows] = [[] for _ in range(max(1, n))]
    n = len(chunks)
    chunk_of_resource: dict[int, int] = {}
    for t, rows in added:  # metadata order: a resource's chunk is known before its versions are placed
        parts: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        for i, row in enumerate(rows):
            k = i * n // len(rows)
            if t.name == "resource":
                chunk_of_resource[row["pk"]] = k
            elif any(fk.column.table.name == "resource" for fk in t.foreign_keys):
                k = max(k, *(chunk_of_resource.get(row[fk.parent.name], 0) for fk in t.foreign_keys))
            parts[k].append(row)
        for k, part in enumerate(parts):
            if part:
                chunks[k].append((t, part))
    return chunks


def _shares(added: _Rows, streams: int) -> list[_Rows]:
    """Every table's rows but the current rows' (written first) split into ``streams`` shares."""
    shares: list[_Rows] = [[] for _ in range(streams)]
    for t, rows in added:
        if t.name != "resource":
            for k in range(streams):
                share = rows[k * len(rows) // streams : (k + 1) * len(rows) // streams]
                if share:
                    shares[k].append((t, share))
    return shares


def pipeline(
    messages: int = typer.Option(2000, help="Messages processed (an ADT + ORU mix)."),
    postgres: str | None = typer.Option(
        None,
        "--postgres",
        help="Also measure on PostgreSQL: a server URL (empty database), or `local` (a throwaway cluster, fsync on).",
    ),
    hl7: Path | None = typer.Option(
        None, "--hl7", help="Process the messages of this file instead of the built-in mix."
    ),
    workers: int = typer.Option(4, help="Pipeline workers."),
    store_batch: int = typer.Option(32, help="Most messages a worker stores in one transaction (1: one by one)."),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON result."),
) -> None:
    """Messages/s processed into stored FHIR resources, against the raw insert rate of the same rows."""
    with tempfile.TemporaryDirectory(prefix="huitong-bench-pipeline-") as folder:
        sqlite = pipeline_run(f"sqlite:///{folder}/bench.db", messages, hl7, workers, store_batch)
    result: dict[str, Any] = {
        "benchmark": "pipeline",
        "msgs_per_s": sqlite["msgs_per_s"],
        "limit_msgs_per_s": sqlite["limit_msgs_per_s"],
        "ratio": round(sqlite["msgs_per_s"] / sqlite["limit_msgs_per_s"], 3),
        "sqlite": sqlite,
    }
    if postgres == "local":
        from huitong.ops.cluster import throwaway_server

        with throwaway_server() as database:
            pg = pipeline_run(database("pipeline"), messages, hl7, workers, store_batch)
        pg["ratio"] = round(pg["msgs_per_s"] / pg["limit_msgs_per_s"], 3)
        result["postgresql"] = pg
    elif postgres:
        pg = pipeline_run(postgres, messages, hl7, workers, store_batch)
        pg["ratio"] = round(pg["msgs_per_s"] / pg["limit_msgs_per_s"], 3)
        result["postgresql"] = pg
    if not as_json:
        for name in ("sqlite", "postgresql"):
            if name in result:
                r = result[name]
                typer.echo(
                    f"{name:<10} {r['msgs_per_s']:>8} msg/s processed; raw insert of the same "
                    f"{r['rows_per_message']} rows/msg in as many transactions: {r['limit_msgs_per_s']} msg/s "
                    f"(in one transaction: {r['one_transaction_msgs_per_s']}"
                    + (
                        f"; {r['parallel_streams']} at once: {r['parallel_msgs_per_s']}"
                        if "parallel_streams" in r
                        else ""
                    )
                    + ")"
                )
    typer.echo(json.dumps(result))
