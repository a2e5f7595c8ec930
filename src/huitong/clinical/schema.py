"""Critical-value alerts, kept in step with Observations and acknowledgement Tasks by a write hook."""

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
