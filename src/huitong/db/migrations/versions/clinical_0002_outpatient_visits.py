"""Outpatient visits for the operations board: one row per Encounter of class AMB (day, hour, booked, wait), kept
by a write hook (``clinical/visits.py``); filled here from the Encounters already stored.

Revision ID: clinical_0002
Revises: clinical_0001
Create Date: 2026-11-27
"""

import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "clinical_0002"
down_revision: str | None = "clinical_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CHINA = timezone(timedelta(hours=8))
BATCH = 5000


def _instant(text: object) -> datetime | None:
    if not isinstance(text, str) or "T" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _row(pk: int, enc: dict[str, Any]) -> dict[str, Any] | None:
    """As ``clinical.visits.visit_row`` at this revision (a migration keeps its own copy)."""
    if (enc.get("class") or {}).get("code") != "AMB":
        return None
    start = (enc.get("period") or {}).get("start")
    if not isinstance(start, str) or len(start) < 10:
        return None
    moment = _instant(start)
    if moment is not None:
        local = moment.astimezone(CHINA)
        day, hour = local.date().isoformat(), local.hour
    elif "T" in start:
        return None
    else:
        day, hour = start[:10], None
    history = {
        h.get("status"): _instant((h.get("period") or {}).get("start"))
        for h in enc.get("statusHistory") or []
        if isinstance(h, dict)
    }
    arrived, seen = history.get("arrived"), history.get("in-progress")
    wait = (seen - arrived).total_seconds() / 60 if arrived and seen and seen >= arrived else None
    return {"resource_pk": pk, "day": day, "hour": hour, "booked": bool(enc.get("appointment")), "wait_minutes": wait}


def _encounters(conn: sa.Connection) -> Iterator[list[tuple[int, str]]]:
    resource = sa.table("resource", sa.column("pk"), sa.column("res_type"), sa.column("deleted"), sa.column("content"))
    after = 0
    while True:
        rows = conn.execute(
            sa.select(resource.c.pk, resource.c.content)
            .where(resource.c.res_type == "Encounter", resource.c.deleted.is_(False), resource.c.pk > after)
            .order_by(resource.c.pk)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        yield [(int(pk), str(content)) for pk, content in rows if content]
        after = int(rows[-1][0])


def upgrade() -> None:
    table = op.create_table(
        "outpatient_visit",
        sa.Column("resource_pk", BigKey, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("hour", sa.SmallInteger, nullable=True),
        sa.Column("booked", sa.Boolean, nullable=False),
        sa.Column("wait_minutes", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("resource_pk", name="pk_outpatient_visit"),
    )
    conn = op.get_bind()
    for batch in _encounters(conn):
        rows = [row for pk, content in batch if (row := _row(pk, json.loads(content))) is not None]
        if rows:
            conn.execute(sa.insert(table), rows)
    op.create_index("ix_outpatient_visit_day_wait_minutes", "outpatient_visit", ["day", "wait_minutes"])


def downgrade() -> None:
    op.drop_table("outpatient_visit")
