"""Stored indicator values (``indicator_value``): one row per indicator, period and department, with the
numerator, denominator and the SHA-256 of the definition that produced it. Saving replaces earlier values of the
same keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from huitong.db import Database
from huitong.indicators.engine import IndicatorValue

VALUE = sa.table(
    "indicator_value",
    sa.column("indicator_id", sa.String),
    sa.column("period", sa.String),
    sa.column("department", sa.String),
    sa.column("numerator", sa.Float),
    sa.column("denominator", sa.Float),
    sa.column("value", sa.Float),
    sa.column("unit", sa.String),
    sa.column("definition_sha256", sa.String),
    sa.column("computed_at", sa.DateTime(timezone=True)),
)


@dataclass(frozen=True, slots=True)
class StoredValue:
    """One row of ``indicator_value``."""

    indicator_id: str
    period: str
    department: str
    numerator: float | None
    denominator: float | None
    value: float | None
    unit: str
    definition_sha256: str
    computed_at: datetime


def save(db: Database, values: Sequence[IndicatorValue], *, now: datetime | None = None) -> int:
    """Store ``values`` (whole-range values labelled ``FROM..TO`` are not stored); returns rows written."""
    moment = now or datetime.now(UTC)
    rows = [
        {
            "indicator_id": v.id,
            "period": v.period,
            "department": v.department,
            "numerator": v.numerator,
            "denominator": v.denominator,
            "value": v.value,
            "unit": v.unit,
            "definition_sha256": v.sha256,
            "computed_at": moment,
        }
        for v in values
        if ".." not in v.period
    ]
    if not rows:
        return 0
    keys = sa.tuple_(VALUE.c.indicator_id, VALUE.c.period, VALUE.c.department)

    def job(conn: sa.Connection) -> int:
        ids = sorted({str(r["indicator_id"]) for r in rows})
        periods = sorted({str(r["period"]) for r in rows})
        wanted = {(r["indicator_id"], r["period"], r["department"]) for r in rows}
        existing = conn.execute(
            sa.select(VALUE.c.indicator_id, VALUE.c.period, VALUE.c.department).where(
                VALUE.c.indicator_id.in_(ids), VALUE.c.period.in_(periods)
            )
        ).all()
        stale = [tuple(e) for e in existing if tuple(e) in wanted]
        for chunk in range(0, len(stale), 500):
            conn.execute(sa.delete(VALUE).where(keys.in_(stale[chunk : chunk + 500])))
        conn.execute(sa.insert(VALUE), rows)
        return len(rows)

    return db.write(job)


def load(
    db: Database,
    *,
    indicator_id: str | None = None,
    period_prefix: str | None = None,
    department: str | None = None,
) -> list[StoredValue]:
    """Stored values, filtered by indicator, period prefix (``2024`` gives the year, its quarters and months)
    and department, in indicator, department and period order."""
    query = sa.select(
        VALUE.c.indicator_id,
        VALUE.c.period,
        VALUE.c.department,
        VALUE.c.numerator,
        VALUE.c.denominator,
        VALUE.c.value,
        VALUE.c.unit,
        VALUE.c.definition_sha256,
        VALUE.c.computed_at,
    )
    if indicator_id is not None:
        query = query.where(VALUE.c.indicator_id == indicator_id)
    if period_prefix is not None:
        query = query.where(VALUE.c.period.startswith(period_prefix, autoescape=True))
    if department is not None:
        query = query.where(VALUE.c.department == department)
    query = query.order_by(VALUE.c.indicator_id, VALUE.c.department, VALUE.c.period)
    with db.read() as conn:
        return [StoredValue(*row) for row in conn.execute(query).all()]


def latest_year(db: Database, department: str) -> int | None:
    """The latest year with a stored value of ``department`` (one seek on ``(department, period)``)."""
    query = sa.select(sa.func.max(VALUE.c.period)).where(VALUE.c.department == department)
    with db.read() as conn:
        newest = conn.execute(query).scalar()
    head = str(newest or "")[:4]
    return int(head) if head.isdigit() and len(head) == 4 else None
