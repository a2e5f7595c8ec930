"""FHIR search index tables (token, string, date, reference, number/quantity, uri).

Revision ID: search_0001
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "search_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("search",)
depends_on: str | Sequence[str] | None = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _create(name: str, *columns: sa.Column[object]) -> None:
    op.create_table(
        name,
        sa.Column("resource_pk", BigKey, nullable=False),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("param", sa.String(64), nullable=False),
        *columns,
    )
    op.create_index(f"ix_{name}_resource_pk", name, ["resource_pk"])


def upgrade() -> None:
    _create("search_token", sa.Column("system", sa.String(255)), sa.Column("code", sa.String(255)))
    op.create_index("ix_search_token_lookup", "search_token", ["res_type", "param", "code", "system"])
    _create(
        "search_string",
        sa.Column("norm", sa.String(255), nullable=False),
        sa.Column("exact", sa.String(255), nullable=False),
    )
    op.create_index(
        "ix_search_string_lookup",
        "search_string",
        ["res_type", "param", "norm"],
        postgresql_ops={"norm": "text_pattern_ops"},
    )
    _create(
        "search_date", sa.Column("low", sa.BigInteger, nullable=False), sa.Column("high", sa.BigInteger, nullable=False)
    )
    op.create_index("ix_search_date_lookup", "search_date", ["res_type", "param", "low", "high"])
    _create(
        "search_reference",
        sa.Column("target_type", sa.String(64)),
        sa.Column("target_id", sa.String(64)),
        sa.Column("url", sa.String(512)),
    )
    op.create_index("ix_search_reference_target", "search_reference", ["target_id", "target_type", "param"])
    op.create_index("ix_search_reference_lookup", "search_reference", ["res_type", "param", "target_id"])
    _create(
        "search_number",
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("system", sa.String(255)),
        sa.Column("code", sa.String(64)),
    )
    op.create_index("ix_search_number_lookup", "search_number", ["res_type", "param", "value"])
    _create("search_uri", sa.Column("value", sa.String(512), nullable=False))
    op.create_index(
        "ix_search_uri_lookup",
        "search_uri",
        ["res_type", "param", "value"],
        postgresql_ops={"value": "text_pattern_ops"},
    )


def downgrade() -> None:
    for name in ("search_uri", "search_number", "search_reference", "search_date", "search_string", "search_token"):
        op.drop_table(name)
