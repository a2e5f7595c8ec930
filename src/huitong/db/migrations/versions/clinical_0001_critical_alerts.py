"""Critical-value alerts.

Revision ID: clinical_0001
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "clinical_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("clinical",)
depends_on: str | Sequence[str] | None = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "critical_alert",
        sa.Column("observation_pk", BigKey, nullable=False),
        sa.Column("observation_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=True),
        sa.Column("encounter_id", sa.String(64), nullable=True),
        sa.Column("code_text", sa.Text, nullable=True),
        sa.Column("value_text", sa.Text, nullable=True),
        sa.Column("interpretation", sa.String(16), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(128), nullable=True),
        sa.Column("task_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("observation_pk", name="pk_critical_alert"),
        sa.ForeignKeyConstraint(["observation_pk"], ["resource.pk"], name="fk_critical_alert_observation_pk_resource"),
    )
    op.create_index("ix_critical_alert_acknowledged_at_raised_at", "critical_alert", ["acknowledged_at", "raised_at"])
    op.create_index("ix_critical_alert_patient_id", "critical_alert", ["patient_id"])


def downgrade() -> None:
    op.drop_table("critical_alert")
