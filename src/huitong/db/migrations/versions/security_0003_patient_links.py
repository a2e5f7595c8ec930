"""Security: the Patients a Patient resource names as the same person (``sec_patient_link``), so that reach
through one record of a person reaches the person's other records. Filled as Patient resources are written;
``huitong security relink`` fills it for the Patients already stored (docs/security.md).

Revision ID: security_0003
Revises: security_0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "security_0003"
down_revision: str | None = "security_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from huitong.security.schema import security_metadata

    security_metadata.create_all(op.get_bind(), tables=[security_metadata.tables["sec_patient_link"]])


def downgrade() -> None:
    op.drop_table("sec_patient_link")
