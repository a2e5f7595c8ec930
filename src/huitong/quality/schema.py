"""Quality runs and their findings (one row per rule failing on one resource)."""

from __future__ import annotations

import sqlalchemy as sa

from huitong.db.schema import BigKey, metadata

quality_run = sa.Table(
    "quality_run",
    metadata,
    sa.Column("id", BigKey, primary_key=True, autoincrement=True),
    sa.Column("started", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
    sa.Column("actor_id", sa.String(128), nullable=False),
    sa.Column("scorecard", sa.Text, nullable=True, comment="JSON scorecard of the run"),
)

quality_finding = sa.Table(
    "quality_finding",
    metadata,
    sa.Column("id", BigKey, primary_key=True, autoincrement=True),
    sa.Column("run_id", BigKey, sa.ForeignKey("quality_run.id"), nullable=False),
    sa.Column("rule_id", sa.String(64), nullable=False),
    sa.Column("dimension", sa.String(16), nullable=False),
    sa.Column("severity", sa.String(8), nullable=False),
    sa.Column("source", sa.String(255), nullable=False),
    sa.Column("res_type", sa.String(64), nullable=False),
    sa.Column("res_id", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index(None, "run_id", "rule_id"),
    sa.Index(None, "res_type", "res_id"),
)
