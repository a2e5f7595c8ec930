"""Data-quality runs and findings.

Revision ID: quality_0001
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "quality_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("quality",)
depends_on: str | Sequence[str] | None = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "quality_run",
        sa.Column("id", BigKey, primary_key=True, autoincrement=True),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor_id", sa.String(128), nullable=False),
        sa.Column("scorecard", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_quality_run"),
    )
    op.create_table(
        "quality_finding",
        sa.Column("id", BigKey, primary_key=True, autoincrement=True),
        sa.Column("run_id", BigKey, nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quality_finding"),
        sa.ForeignKeyConstraint(["run_id"], ["quality_run.id"], name="fk_quality_finding_run_id_quality_run"),
    )
    op.create_index("ix_quality_finding_run_id_rule_id", "quality_finding", ["run_id", "rule_id"])
    op.create_index("ix_quality_finding_res_type_res_id", "quality_finding", ["res_type", "res_id"])


def downgrade() -> None:
    op.drop_table("quality_finding")
    op.drop_table("quality_run")
