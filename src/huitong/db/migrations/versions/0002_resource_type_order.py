"""Resource store: an index on (res_type, pk), so a search over a whole type reads its first page in key order
instead of sorting every resource of the type (page 1 of all Observations).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_resource_res_type_pk", "resource", ["res_type", "pk"])


def downgrade() -> None:
    op.drop_index("ix_resource_res_type_pk", table_name="resource")
