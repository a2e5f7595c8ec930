"""Tables kept in step with the record by write hooks: critical-value alerts (Observations and acknowledgement
Tasks) and one row per outpatient visit for the operations board's day figures (Encounters)."""

from __future__ import annotations

import sqlalchemy as sa

from huitong.db.schema import BigKey, metadata

critical_alert = sa.Table(
    "critical_alert",
    metadata,
    sa.Column("observation_pk", BigKey, sa.ForeignKey("resource.pk"), primary_key=True),
    sa.Column("observation_id", sa.String(64), nullable=False),
    sa.Column("patient_id", sa.String(64), nullable=True),
    sa.Column("encounter_id", sa.String(64), nullable=True),
    sa.Column("code_text", sa.Text, nullable=True),
    sa.Column("value_text", sa.Text, nullable=True),
    sa.Column("interpretation", sa.String(16), nullable=False),
    sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False, comment="when the result was reported"),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("acknowledged_by", sa.String(128), nullable=True),
    sa.Column("task_id", sa.String(64), nullable=True),
    sa.Index(None, "acknowledged_at", "raised_at"),
    sa.Index(None, "patient_id"),
)

outpatient_visit = sa.Table(
    "outpatient_visit",
    metadata,
    sa.Column(
        "resource_pk",
        BigKey,
        primary_key=True,
        comment="the outpatient Encounter (no foreign key: archived with it, rebuilt by the hook on restore)",
    ),
    sa.Column("day", sa.String(10), nullable=False, comment="China date the visit started (YYYY-MM-DD)"),
    sa.Column("hour", sa.SmallInteger, nullable=True, comment="China hour it started; NULL for a date without time"),
    sa.Column("booked", sa.Boolean, nullable=False, comment="came from an appointment (Encounter.appointment)"),
    sa.Column("wait_minutes", sa.Float, nullable=True, comment="arrived → in-progress in statusHistory, minutes"),
    sa.Index(None, "day", "wait_minutes"),
)
