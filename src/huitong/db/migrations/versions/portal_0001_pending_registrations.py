"""Patient portal: registrations waiting for their one-time code.

Revision ID: portal_0001
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "portal_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("portal",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_registration",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("phone_hint", sa.String(16), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_portal_registration"),
    )
    op.create_index("ix_portal_registration_patient_id_created", "portal_registration", ["patient_id", "created"])


def downgrade() -> None:
    op.drop_table("portal_registration")
