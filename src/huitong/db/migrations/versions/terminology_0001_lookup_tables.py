"""Terminology lookup tables (concepts of CodeSystems, element mappings of ConceptMaps).

Revision ID: terminology_0001
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "terminology_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("terminology",)
depends_on: str | Sequence[str] | None = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "terminology_concept",
        sa.Column("resource_pk", BigKey, nullable=False),
        sa.Column("system", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("code", sa.String(128), nullable=False),
        sa.Column("display", sa.Text, nullable=True),
        sa.Column("parent", sa.String(128), nullable=True),
        sa.Column("properties", sa.Text, nullable=True),
        sa.Column("search_text", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("resource_pk", "code", name="pk_terminology_concept"),
        sa.ForeignKeyConstraint(["resource_pk"], ["resource.pk"], name="fk_terminology_concept_resource_pk_resource"),
    )
    op.create_index("ix_terminology_concept_system_code", "terminology_concept", ["system", "code"])
    op.create_table(
        "terminology_mapping",
        sa.Column("resource_pk", BigKey, nullable=False),
        sa.Column("map_url", sa.String(255), nullable=True),
        sa.Column("source_system", sa.String(255), nullable=False),
        sa.Column("source_code", sa.String(128), nullable=False),
        sa.Column("target_system", sa.String(255), nullable=False),
        sa.Column("target_code", sa.String(128), nullable=True),
        sa.Column("target_display", sa.Text, nullable=True),
        sa.Column("equivalence", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["resource_pk"], ["resource.pk"], name="fk_terminology_mapping_resource_pk_resource"),
    )
    op.create_index(
        "ix_terminology_mapping_source_system_source_code", "terminology_mapping", ["source_system", "source_code"]
    )
    op.create_index("ix_terminology_mapping_resource_pk", "terminology_mapping", ["resource_pk"])
    op.create_table(
        "terminology_canonical",
        sa.Column("resource_pk", BigKey, nullable=False),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("url", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("resource_pk", name="pk_terminology_canonical"),
        sa.ForeignKeyConstraint(["resource_pk"], ["resource.pk"], name="fk_terminology_canonical_resource_pk_resource"),
    )
    op.create_index("ix_terminology_canonical_res_type_url", "terminology_canonical", ["res_type", "url"])


def downgrade() -> None:
    op.drop_table("terminology_canonical")
    op.drop_table("terminology_mapping")
    op.drop_table("terminology_concept")
