"""``/api/ingest/…``: the integration engine's dashboard API (JSON) and its HTTP message source.

* ``GET  /api/ingest/stats`` — per channel: messages by status, queued, and received/processed/errored
  rates over the last 1, 5 and 60 minutes, plus 12 five-minute buckets for charts; and ``processing``: which
  engine holds the processing lease (:mod:`huitong.ingest.lease`), until when, and whether it is this server's.
* ``GET  /api/ingest/messages`` — search the message store (control id, patient, type, status, channel,
  time); ``GET /api/ingest/messages/{id}`` — one message with its raw text.
* ``GET  /api/ingest/errors`` — the latest dead letters with their raw text.
* ``POST /api/ingest/replay`` — replay ids (``{"ids": [..]}``) or a search (``{"status": "error", …}``).
* ``POST /api/ingest/channels/{name}/messages`` — the HTTP source: the body is one HL7 v2 message (or a
  batch file); the answer is its ACK (``application/hl7-v2``), sent after the message is durably stored.

Every call needs an authenticated actor with an operations role (or a system client); showing raw
messages — patient data — leaves an audit entry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong.db import Database
from huitong.deps import ActorDep, ServicesDep
from huitong.ingest import inbox, tally
from huitong.ingest.hl7v2.parse import split_messages
from huitong.ingest.inbox import Query
from huitong.ingest.lease import lease_state
from huitong.ingest.receive import Committer, receive
from huitong.ingest.schema import ERROR, PROCESSED, STATUSES, UNSUPPORTED, ingest_message
from huitong.security import audit
from huitong.security.actor import Actor, ActorKind
from huitong.security.audit import AuditEntry

router = APIRouter(prefix="/api/ingest", tags=["integration engine"])

ROLES = frozenset({"system", "manager", "operations", "quality_officer", "developer", "admin", "it_admin"})


def require_operator(actor: Actor) -> None:
    """Only system clients and operations staff see the engine (raw messages hold patient data)."""
    if actor.kind is not ActorKind.SYSTEM and actor.role not in ROLES:
        raise HTTPException(403, f"role {actor.role!r} may not use the integration engine")


def audit_reads(db: Database, actor: Actor, ids: list[int], query: str | None = None) -> None:
    """Record that ``actor`` read the messages ``ids`` (raw HL7 names patients), with the search that found them."""
    entries = [AuditEntry("read", entity_type="Hl7Message", entity_id=str(i), query=query) for i in ids]
    if entries:
        db.write(lambda conn: audit.record(conn, actor, entries))


def _no_rates(windows: dict[str, int]) -> dict[str, dict[str, float]]:
    """Every window at zero: a channel quiet in the last minutes but busy within the hour has all three windows."""
    return {k: {"received": 0.0, "processed": 0.0, "errored": 0.0} for k in windows}


def stats(
    db: Database, queued_in_memory: int = 0, now: datetime | None = None, holder: str | None = None
) -> dict[str, Any]:
    """Counts and rates per channel, and who processes (``holder``: this server's engine, if it runs one); see the
    module docstring."""
    now = now or datetime.now(UTC)
    t = ingest_message
    totals = tally.counts(db)
    windows = {"1m": 60, "5m": 300, "60m": 3600}
    channels: dict[str, dict[str, Any]] = {
        name: {"channel": name, "counts": by_status, "queued": by_status.get("received", 0)}
        for name, by_status in totals.items()
    }
    with db.read() as conn:
        for label, seconds in windows.items():
            since = now - timedelta(seconds=seconds)
            received: dict[str, int] = dict(
                conn.execute(
                    sa.select(t.c.channel, sa.func.count()).where(t.c.received_at >= since).group_by(t.c.channel)
                ).all()
            )
            done = conn.execute(
                sa.select(t.c.channel, t.c.status, sa.func.count())
                .where(t.c.processed_at >= since)
                .group_by(t.c.channel, t.c.status)
            ).all()
            for name in set(received) | {r[0] for r in done}:
                entry = channels.setdefault(name, {"channel": name, "counts": dict.fromkeys(STATUSES, 0), "queued": 0})
                rates = entry.setdefault("rates_per_min", _no_rates(windows))
                processed = sum(n for c, s, n in done if c == name and s == PROCESSED)
                errored = sum(n for c, s, n in done if c == name and s in (ERROR, UNSUPPORTED))
                rates[label] = {
                    "received": round(received.get(name, 0) * 60 / seconds, 2),
                    "processed": round(processed * 60 / seconds, 2),
                    "errored": round(errored * 60 / seconds, 2),
                }
        start = now - timedelta(minutes=60)
        buckets = [start + timedelta(minutes=5 * i) for i in range(13)]
        series: dict[str, list[int]] = {name: [0] * 12 for name in channels}
        for i in range(12):
            rows = conn.execute(
                sa.select(t.c.channel, sa.func.count())
                .where(t.c.received_at >= buckets[i], t.c.received_at < buckets[i + 1])
                .group_by(t.c.channel)
            ).all()
            for name, n in rows:
                series.setdefault(name, [0] * 12)[i] = int(n)
        processing = lease_state(conn, now, holder)
    for entry in channels.values():
        entry.setdefault("rates_per_min", _no_rates(windows))
    return {
        "generated_at": now.isoformat(),
        "in_flight": queued_in_memory,
        "processing": processing,
        "channels": sorted(channels.values(), key=lambda c: c["channel"]),
        "received_per_5min": {"starts": [b.isoformat() for b in buckets[:12]], "series": series},
    }


def engine_state(request: Request) -> tuple[int, str | None]:
    """This server's engine, if it runs one: the messages its pipeline has in flight and its lease holder name."""
    engine = getattr(request.app.state, "ingest", None)
    if engine is None:
        return 0, None
    lease = engine.pipeline.lease
    return int(engine.pipeline.queued), lease.holder if lease is not None else None


@router.get("/stats")
async def get_stats(request: Request, services: ServicesDep, actor: ActorDep) -> dict[str, Any]:
    """Per channel counts and rates (no patient data)."""
    require_operator(actor)
    in_flight, holder = engine_state(request)
    return await run_in_threadpool(stats, services.db, in_flight, None, holder)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise HTTPException(400, f"not an ISO 8601 time: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def search_audited(db: Database, actor: Actor, q: Query) -> list[inbox.MessageRow]:
    """Search the message store; a search by patient identifier is audited as a read of what it found (the API's
    search and the message browser's)."""
    found = inbox.search(db, q)
    if q.patient_id:
        audit_reads(db, actor, [r.id for r in found], f"patient={q.patient_id}")
    return found


@router.get("/messages")
async def search_messages(
    services: ServicesDep,
    actor: ActorDep,
    control_id: str | None = None,
    patient: str | None = None,
    type: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Search the message store, newest first (without raw text)."""
    require_operator(actor)
    q = Query(
        control_id, patient, type, status, channel, _parse_time(since), _parse_time(until), min(limit, 1000), offset
    )
    found = await run_in_threadpool(search_audited, services.db, actor, q)
    return {"messages": [r.as_json() for r in found]}


@router.get("/messages/{message_id}")
async def get_message(message_id: int, services: ServicesDep, actor: ActorDep) -> dict[str, Any]:
    """One message with its raw text."""
    require_operator(actor)
    row = await run_in_threadpool(inbox.get, services.db, message_id)
    if row is None:
        raise HTTPException(404, f"no message {message_id}")
    await run_in_threadpool(audit_reads, services.db, actor, [row.id])
    return row.as_json(with_raw=True)


@router.get("/errors")
async def latest_errors(
    services: ServicesDep, actor: ActorDep, limit: int = 20, channel: str | None = None
) -> dict[str, Any]:
    """The latest dead letters (error, unsupported) with their raw text and the reason."""
    require_operator(actor)
    rows = await run_in_threadpool(lambda: inbox.dead_letters(services.db, limit=min(limit, 200), channel=channel))
    await run_in_threadpool(audit_reads, services.db, actor, [r.id for r in rows])
    return {"messages": [r.as_json(with_raw=True) for r in rows]}


class ReplayRequest(BaseModel):
    """Message ids, or a search whose results are all replayed (the newest ``limit`` of them)."""

    ids: list[int] = Field(default_factory=list, max_length=10_000)
    status: str | None = None
    type: str | None = None
    channel: str | None = None
    since: str | None = None
    limit: int = Field(10_000, ge=1, le=100_000)


@router.post("/replay")
async def replay(body: ReplayRequest, request: Request, services: ServicesDep, actor: ActorDep) -> dict[str, Any]:
    """Put messages back into the pipeline; returns how many."""
    require_operator(actor)
    q = None
    if body.status or body.type or body.channel or body.since:
        q = Query(
            message_type=body.type,
            status=body.status,
            channel=body.channel,
            since=_parse_time(body.since),
            limit=body.limit,  # not the search's page of 100: a replay by search takes every match, up to this
        )
    if not body.ids and q is None:
        raise HTTPException(400, "give ids or a search (status, type, channel, since)")
    count = await run_in_threadpool(lambda: inbox.replay(services.db, body.ids, q=q))
    engine = getattr(request.app.state, "ingest", None)
    if engine is not None:
        engine.pipeline.wake()
    return {"replayed": count}


def _committer(request: Request, db: Database) -> Committer:
    engine = getattr(request.app.state, "ingest", None)
    if engine is not None:
        committer: Committer = engine.committer
        return committer
    existing = getattr(request.app.state, "ingest_committer", None)
    if existing is None:
        existing = Committer(db)
        request.app.state.ingest_committer = existing
    return existing


@router.post("/channels/{channel}/messages")
async def http_source(channel: str, request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Receive HL7 v2 over HTTP: stored durably, then answered with the ACK (one per message, in order)."""
    require_operator(actor)
    body = await request.body()
    payloads = split_messages(body) or [body]
    committer = _committer(request, services.db)
    application = services.settings.mllp.application
    acks = [(await receive(committer, p, channel[:64], application=application))[0] for p in payloads]
    engine = getattr(request.app.state, "ingest", None)
    if engine is not None:
        engine.pipeline.wake()
    return Response(b"\r\n".join(acks), media_type="application/hl7-v2")
