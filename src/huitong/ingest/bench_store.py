"""``huitong bench message-store``: the message store's queries at a hospital's volume.

A store of ``--messages`` messages (cached between runs; the HL7 benchmark's ADT/ORU mix on two channels,
200,000 patients, three seconds apart, all processed — each as it arrived — but the newest 500, one in 997
failed) is built once, through the pipeline's own marks. Then each query the dashboard and the operators make is
timed (median of ``--repeat`` runs): the totals per channel and status (:func:`huitong.ingest.inbox.counts`, from
the tally), the dashboard's whole ``stats``, a search by patient identifier (through ``ingest_message_patient`` and
the queue), by control id, by type, by status, the dead letters and the pipeline's next batch.

The baselines, in the same run and on the same store: what the totals and the patient search cost before
migration ``ingest_0004`` — a ``GROUP BY`` over every message, and a pattern match over every message's identifiers.
``ratio_counts`` and ``ratio_patient`` are baseline time ÷ our time (how many times faster).
"""

from __future__ import annotations

import functools
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

_CHUNK = 2000
_PATIENTS = 200_000


def _build(url: str, messages: int, progress: Callable[[int], None]) -> None:
    """Fill the (migrated, empty) store at ``url``; see the module docstring."""
    import sqlalchemy as sa

    from huitong.db import open_database
    from huitong.ingest import inbox, tally
    from huitong.ingest.bench import migrated_settings, tagged_messages
    from huitong.ingest.receive import examine
    from huitong.ingest.schema import ERROR, PROCESSED, ingest_message

    settings = migrated_settings(url)
    db = open_database(settings.database)
    try:
        base = [examine(raw, "lis").incoming for raw in tagged_messages(_CHUNK, None, "S")]
        now = datetime.now(UTC)
        for start in range(0, messages, _CHUNK):
            batch = [
                replace(
                    base[k % _CHUNK],
                    channel="lis" if k % 3 else "his",
                    control_id=f"C{k}",
                    patient_ids=f"MRN{k % _PATIENTS:07d}",
                    received_at=now - timedelta(seconds=(messages - k) * 3),
                )
                for k in range(start, min(start + _CHUNK, messages))
            ]
            db.write(functools.partial(inbox.insert_batch, batch=batch))
            progress(len(batch))
        t = ingest_message
        with db.read() as conn:
            ids = [int(i) for i in conn.execute(sa.select(t.c.id).order_by(t.c.id)).scalars()]
        done = ids[:-500]  # the newest 500 stay queued
        for start in range(0, len(done), _CHUNK):  # marked as the pipeline marks them (which fills the patient index)
            marks = [
                inbox.Mark(i, ERROR, "mapping failed (bench)") if i % 997 == 0 else inbox.Mark(i, PROCESSED)
                for i in done[start : start + _CHUNK]
            ]
            db.write(functools.partial(inbox.mark_many, marks=marks))
            progress(len(marks))
        # processed a moment after receipt, as in a steady state (the marks above stamped them all "now")
        db.write(
            lambda conn: conn.execute(
                t.update().where(t.c.processed_at.is_not(None)).values(processed_at=t.c.received_at)
            )
        )
        db.write(tally.fold_tally)
    finally:
        db.close()


def _median_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


def measure(url: str, repeat: int) -> dict[str, Any]:
    """Time the store's queries and the two baselines on the store at ``url``."""
    import sqlalchemy as sa

    from huitong.db import open_database
    from huitong.ingest import api, inbox, tally
    from huitong.ingest.inbox import Query
    from huitong.ingest.schema import ingest_message as t
    from huitong.settings import load_settings

    db = open_database(load_settings(database={"url": url}).database)
    try:

        def scan_counts() -> object:
            with db.read() as conn:
                return conn.execute(
                    sa.select(t.c.channel, t.c.status, sa.func.count()).group_by(t.c.channel, t.c.status)
                ).all()

        def like_patient() -> object:
            with db.read() as conn:
                pattern = (" " + t.c.patient_ids + " ").like(f"% {patient} %")
                return conn.execute(sa.select(t.c.id).where(pattern).order_by(t.c.id.desc()).limit(100)).all()

        with db.read() as conn:
            total = int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
        patient = f"MRN{total // 2 % _PATIENTS:07d}"  # a patient with total ÷ 200,000 messages (one at least)
        found = len(inbox.search(db, Query(patient_id=patient)))
        if found != len(like_patient()):  # type: ignore[arg-type]
            raise RuntimeError("the patient index and the pattern match disagree")
        if tally.counts(db) != _by_channel(scan_counts()):  # type: ignore[arg-type]
            raise RuntimeError("the tally and the count of the messages disagree")
        result: dict[str, Any] = {
            "messages": total,
            "counts_ms": _median_ms(lambda: tally.counts(db), repeat),
            "counts_scan_ms": _median_ms(scan_counts, repeat),
            "stats_ms": _median_ms(lambda: api.stats(db), repeat),
            "patient_search_ms": _median_ms(lambda: inbox.search(db, Query(patient_id=patient)), repeat),
            "patient_like_ms": _median_ms(like_patient, repeat),
            "patient_messages": found,
            "search_ms": {
                "control_id": _median_ms(lambda: inbox.search(db, Query(control_id="C4242")), repeat),
                "type": _median_ms(lambda: inbox.search(db, Query(message_type="ORU")), repeat),
                "status_error": _median_ms(lambda: inbox.search(db, Query(status="error")), repeat),
                "dead_letters": _median_ms(lambda: inbox.dead_letters(db), repeat),
                "pending_100": _median_ms(lambda: inbox.pending(db, limit=100), repeat),
            },
        }
    finally:
        db.close()
    result["ratio_counts"] = round(result["counts_scan_ms"] / max(result["counts_ms"], 0.01), 1)
    result["ratio_patient"] = round(result["patient_like_ms"] / max(result["patient_search_ms"], 0.01), 1)
    return result


def _by_channel(rows: list[tuple[str, str, int]]) -> dict[str, dict[str, int]]:
    from huitong.ingest.schema import STATUSES

    out: dict[str, dict[str, int]] = {}
    for channel, status, n in rows:
        out.setdefault(channel, dict.fromkeys(STATUSES, 0))[status] = int(n)
    return out


def message_store_bench(
    messages: int = typer.Option(1_000_000, help="Messages in the store (built once, then cached)."),
    cache: Path = typer.Option(Path("var/bench"), help="Folder of cached stores."),
    repeat: int = typer.Option(5, help="Runs of each query; the median is reported."),
    postgres: str | None = typer.Option(
        None, "--postgres", help="Also measure on PostgreSQL: an empty database URL, or `local` (a throwaway cluster)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON result."),
) -> None:
    """The message store's searches and the dashboard's totals at volume, against full scans of the same store."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if postgres is not None and not _empty_or_local(postgres):
        raise typer.BadParameter("the PostgreSQL database must be empty (or say `local` for a throwaway cluster)")
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"inbox-{messages}.db"
    done = path.with_suffix(".done")
    url = f"sqlite:///{path.resolve()}"
    if not done.exists():
        for stale in path.parent.glob(path.name + "*"):
            stale.unlink()
        columns = (TextColumn("building the message store"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, disable=as_json, transient=True) as bar:
            task = bar.add_task("build", total=messages + max(0, messages - 500))  # stored, then marked
            _build(url, messages, lambda n: bar.advance(task, n))
        done.touch()
    result: dict[str, Any] = {"benchmark": "message-store", "database": "sqlite", **measure(url, repeat)}
    if postgres is not None:
        result["postgresql"] = _postgres(postgres, messages, repeat, as_json)
    if not as_json:
        for name, r in (("sqlite", result), ("postgresql", result.get("postgresql"))):
            if r is not None:
                typer.echo(
                    f"{name:<10} {r['messages']:,} messages: totals {r['counts_ms']} ms (full count "
                    f"{r['counts_scan_ms']} ms), patient search {r['patient_search_ms']} ms (pattern match "
                    f"{r['patient_like_ms']} ms), dashboard stats {r['stats_ms']} ms"
                )
    typer.echo(json.dumps(result))


def _empty_or_local(postgres: str) -> bool:
    if postgres == "local":
        return True
    import sqlalchemy as sa

    engine = sa.create_engine(postgres, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return "ingest_message" not in sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()


def _postgres(postgres: str, messages: int, repeat: int, quiet: bool) -> dict[str, Any]:
    """Build the store in PostgreSQL (a throwaway cluster for ``local``; not cached) and measure it there."""
    import contextlib

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with contextlib.ExitStack() as stack:
        url = postgres
        if postgres == "local":
            from huitong.ops.cluster import throwaway_server

            url = stack.enter_context(throwaway_server())("message_store")
        columns = (TextColumn("building it in PostgreSQL"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, disable=quiet, transient=True) as bar:
            task = bar.add_task("build", total=messages + max(0, messages - 500))  # stored, then marked
            _build(url, messages, lambda n: bar.advance(task, n))
        _analyze(url)
        return {"database": "postgresql", **measure(url, repeat)}


def _analyze(url: str) -> None:
    """Planner statistics, as autovacuum would have them on a store that grew over months."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        engine.dispose()
