"""The integration engine's message store (see huitong.ingest.schema).

Revision ID: ingest_0001
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ingest_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("ingest",)
depends_on: str | Sequence[str] | None = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ingest_message",
        sa.Column("id", BigKey, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("sender_app", sa.String(227), nullable=False),
        sa.Column("sender_facility", sa.String(227), nullable=False),
        sa.Column("control_id", sa.String(199), nullable=True),
        sa.Column("dedup_key", sa.String(199), nullable=True),
        sa.Column("message_type", sa.String(32), nullable=False),
        sa.Column("version", sa.String(16), nullable=False),
        sa.Column("charset", sa.String(32), nullable=False),
        sa.Column("patient_ids", sa.Text, nullable=True),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("ack_code", sa.String(2), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("resources", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ingest_message"),
        sa.UniqueConstraint(
            "sender_app", "sender_facility", "dedup_key", name="uq_ingest_message_sender_app_sender_facility_dedup_key"
        ),
    )
    op.create_index("ix_ingest_message_status_id", "ingest_message", ["status", "id"])
    op.create_index("ix_ingest_message_channel_received_at", "ingest_message", ["channel", "received_at"])
    op.create_index("ix_ingest_message_control_id", "ingest_message", ["control_id"])
    op.create_index("ix_ingest_message_received_at", "ingest_message", ["received_at"])


def downgrade() -> None:
    op.drop_table("ingest_message")
