"""EMPI: two more blocking keys (name + district, birth date + district).

Revision ID: empi_0002
Revises: empi_0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "empi_0002"
down_revision: str | None = "empi_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = ("k_name_district", "k_dob_district")


def upgrade() -> None:
    with op.batch_alter_table("empi_record") as batch:
        for key in KEYS:
            batch.add_column(sa.Column(key, sa.String(200), nullable=True))
    for key in KEYS:
        op.create_index(f"ix_empi_record_{key}", "empi_record", [key])


def downgrade() -> None:
    for key in KEYS:
        op.drop_index(f"ix_empi_record_{key}", "empi_record")
    with op.batch_alter_table("empi_record") as batch:
        for key in KEYS:
            batch.drop_column(key)
