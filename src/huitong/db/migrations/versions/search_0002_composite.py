"""FHIR search: the index table of composite parameters (token plus a second component).

Revision ID: search_0002
Revises: search_0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "search_0002"
down_revision: str | None = "search_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "search_composite",
        sa.Column("resource_pk", BigKey, nullable=False),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("param", sa.String(64), nullable=False),
        sa.Column("system", sa.String(255)),
        sa.Column("code", sa.String(255)),
        sa.Column("value", sa.Float),
        sa.Column("low", sa.BigInteger),
        sa.Column("high", sa.BigInteger),
        sa.Column("vsystem", sa.String(255)),
        sa.Column("vcode", sa.String(255)),
    )
    op.create_index("ix_search_composite_resource_pk", "search_composite", ["resource_pk"])
    op.create_index("ix_search_composite_lookup", "search_composite", ["res_type", "param", "code", "vcode"])


def downgrade() -> None:
    op.drop_table("search_composite")
