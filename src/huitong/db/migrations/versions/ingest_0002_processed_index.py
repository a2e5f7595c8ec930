"""Message store: index on processed_at, for the dashboard's processing rates.

Revision ID: ingest_0002
Revises: ingest_0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "ingest_0002"
down_revision: str | None = "ingest_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ingest_message_processed_at", "ingest_message", ["processed_at"])


def downgrade() -> None:
    op.drop_index("ix_ingest_message_processed_at", table_name="ingest_message")
