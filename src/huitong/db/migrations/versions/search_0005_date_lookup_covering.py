"""FHIR search: the date lookup index ends with resource_pk too (as the others since search_0003), so a date
range that drives a search (``date=sa…&date=lt…``: one day of a hospital-year) is answered from the index.

Revision ID: search_0005
Revises: search_0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "search_0005"
down_revision: str | None = "search_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_search_date_lookup", table_name="search_date")
    op.create_index("ix_search_date_lookup", "search_date", ["res_type", "param", "low", "high", "resource_pk"])


def downgrade() -> None:
    op.drop_index("ix_search_date_lookup", table_name="search_date")
    op.create_index("ix_search_date_lookup", "search_date", ["res_type", "param", "low", "high"])
