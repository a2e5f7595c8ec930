"""Indicator values by department and period: the cockpit reads the hospital-wide values of one year (``department
= '*'``, ``period`` starting with the year) without scanning every department's values.

Revision ID: indicators_0002
Revises: indicators_0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "indicators_0002"
down_revision: str | None = "indicators_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_indicator_value_department_period", "indicator_value", ["department", "period"])


def downgrade() -> None:
    op.drop_index("ix_indicator_value_department_period", table_name="indicator_value")
