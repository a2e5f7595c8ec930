"""FHIR search: an index on the upper end of date ranges, so ``date=ge…``/``gt…`` (``high >``) is a seek.

Before, only ``low`` led an index: ``Encounter?date=ge<today>`` on a hospital-year read every encounter's date
row. With ``resource_pk`` last, the criterion is answered from the index alone.

Revision ID: search_0004
Revises: search_0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "search_0004"
down_revision: str | None = "search_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_search_date_high", "search_date", ["res_type", "param", "high", "resource_pk"])


def downgrade() -> None:
    op.drop_index("ix_search_date_high", table_name="search_date")
