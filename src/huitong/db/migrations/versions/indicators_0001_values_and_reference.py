"""National performance indicators: computed values and imported reference data (master data, finance report).

Revision ID: indicators_0001
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "indicators_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("indicators",)
depends_on: str | Sequence[str] | None = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "indicator_value",
        sa.Column("id", BigKey, primary_key=True, autoincrement=True),
        sa.Column("indicator_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("numerator", sa.Float, nullable=True),
        sa.Column("denominator", sa.Float, nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("definition_sha256", sa.String(64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_indicator_value"),
        sa.UniqueConstraint("indicator_id", "period", "department", name="uq_indicator_value_indicator_period_dept"),
    )
    op.create_table(
        "indicator_reference",
        sa.Column("id", BigKey, primary_key=True, autoincrement=True),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_indicator_reference"),
    )
    op.create_index("ix_indicator_reference_table_name", "indicator_reference", ["table_name", "position"])


def downgrade() -> None:
    op.drop_table("indicator_reference")
    op.drop_table("indicator_value")
