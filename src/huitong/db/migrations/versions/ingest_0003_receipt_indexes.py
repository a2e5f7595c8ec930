"""Message store: fewer index writes on receipt.

``(channel, received_at)`` and ``received_at`` become one index, ``(received_at, channel)``: time windows, retention
and searches by time use its first column, and the dashboard's counts per channel in a window read the index
alone. ``processed_at`` becomes a partial index of the processed rows only, so a message's receipt writes no
entry there (every search of it is a ``>=`` comparison, which implies ``IS NOT NULL`` on both backends).

Revision ID: ingest_0003
Revises: ingest_0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ingest_0003"
down_revision: str | None = "ingest_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROCESSED = sa.text("processed_at IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_ingest_message_channel_received_at", table_name="ingest_message")
    op.drop_index("ix_ingest_message_received_at", table_name="ingest_message")
    op.create_index("ix_ingest_message_received_at_channel", "ingest_message", ["received_at", "channel"])
    op.drop_index("ix_ingest_message_processed_at", table_name="ingest_message")
    op.create_index(
        "ix_ingest_message_processed_at",
        "ingest_message",
        ["processed_at"],
        sqlite_where=PROCESSED,
        postgresql_where=PROCESSED,
    )


def downgrade() -> None:
    op.drop_index("ix_ingest_message_processed_at", table_name="ingest_message")
    op.create_index("ix_ingest_message_processed_at", "ingest_message", ["processed_at"])
    op.drop_index("ix_ingest_message_received_at_channel", table_name="ingest_message")
    op.create_index("ix_ingest_message_received_at", "ingest_message", ["received_at"])
    op.create_index("ix_ingest_message_channel_received_at", "ingest_message", ["channel", "received_at"])
