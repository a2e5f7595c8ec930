"""The FHIR resource store and the audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "resource",
        sa.Column("pk", BigKey, primary_key=True, autoincrement=True),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("pk", name="pk_resource"),
        sa.UniqueConstraint("res_type", "res_id", name="uq_resource_res_type_res_id"),
    )
    op.create_index("ix_resource_res_type_last_updated", "resource", ["res_type", "last_updated"])
    op.create_table(
        "resource_version",
        sa.Column("resource_pk", BigKey, nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("resource_pk", "version_id", name="pk_resource_version"),
        sa.ForeignKeyConstraint(["resource_pk"], ["resource.pk"], name="fk_resource_version_resource_pk_resource"),
    )
    op.create_index("ix_resource_version_res_type_last_updated", "resource_version", ["res_type", "last_updated"])
    op.create_index("ix_resource_version_last_updated", "resource_version", ["last_updated"])
    op.create_table(
        "audit_event",
        sa.Column("seq", BigKey, primary_key=True, autoincrement=True),
        sa.Column("recorded", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(1), nullable=False),
        sa.Column("interaction", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(2), nullable=False),
        sa.Column("outcome_desc", sa.Text, nullable=True),
        sa.Column("actor_id", sa.String(128), nullable=False),
        sa.Column("actor_role", sa.String(64), nullable=False),
        sa.Column("actor_name", sa.String(128), nullable=True),
        sa.Column("on_behalf_of", sa.String(128), nullable=True),
        sa.Column("source_address", sa.String(64), nullable=True),
        sa.Column("purpose_of_use", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("entity_type", sa.String(64), nullable=True),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("entity_version", sa.Integer, nullable=True),
        sa.Column("query", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_event"),
    )
    op.create_index("ix_audit_event_recorded", "audit_event", ["recorded"])
    op.create_index("ix_audit_event_actor_id_recorded", "audit_event", ["actor_id", "recorded"])
    op.create_index("ix_audit_event_entity_type_entity_id", "audit_event", ["entity_type", "entity_id"])


def downgrade() -> None:
    op.drop_table("audit_event")
    op.drop_table("resource_version")
    op.drop_table("resource")
