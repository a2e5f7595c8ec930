"""Security: request counts per minute shared by every process (rate limits across workers and hosts).

Revision ID: security_0002
Revises: security_0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "security_0002"
down_revision: str | None = "security_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sec_rate_count",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("key", sa.String(255), nullable=False, comment="client address or credential id"),
        sa.Column("minute", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hits", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", "minute", name="pk_sec_rate_count"),
    )


def downgrade() -> None:
    op.drop_table("sec_rate_count")
