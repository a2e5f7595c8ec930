"""Security: accounts, memberships, sessions, OAuth clients and tokens, break-the-glass, patient links and
the audit hash chain (two columns on ``audit_event`` and a one-row chain head).

Revision ID: security_0001
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "security_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("security",)
depends_on: str | Sequence[str] | None = None

_TABLES = (
    "sec_user",
    "sec_password_history",
    "sec_care_team",
    "sec_patient_department",
    "sec_resource_patient",
    "sec_break_glass",
    "sec_session",
    "sec_client",
    "sec_token",
    "audit_chain_head",
)


def upgrade() -> None:
    from huitong.security.schema import GENESIS, audit_chain_head, security_metadata

    bind = op.get_bind()
    security_metadata.create_all(bind, tables=[security_metadata.tables[name] for name in _TABLES])
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    bind.execute(audit_chain_head.insert().values(chain_id=1, last_seq=None, last_hash=GENESIS, length=0))


def downgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
    for name in reversed(_TABLES):
        op.drop_table(name)
