"""EMPI: the queue of Patients written through the FHIR API, waiting to be linked.

Revision ID: empi_0003
Revises: empi_0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "empi_0003"
down_revision: str | None = "empi_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "empi_pending",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_empi_pending"),
    )
    op.create_index("ix_empi_pending_patient_id", "empi_pending", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_empi_pending_patient_id", "empi_pending")
    op.drop_table("empi_pending")
