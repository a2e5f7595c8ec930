"""FHIR search: lookup indexes end with resource_pk, so a criterion checked per candidate is one index seek.

Revision ID: search_0003
Revises: search_0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence
from typing import Any

from alembic import op

revision: str = "search_0003"
down_revision: str | None = "search_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW = {
    "ix_search_token_lookup": ("search_token", ["res_type", "param", "code", "system", "resource_pk"]),
    "ix_search_string_lookup": ("search_string", ["res_type", "param", "norm", "resource_pk"]),
    "ix_search_reference_lookup": ("search_reference", ["res_type", "param", "target_id", "resource_pk"]),
    "ix_search_composite_lookup": ("search_composite", ["res_type", "param", "code", "vcode", "resource_pk"]),
}
_OLD = {
    "ix_search_token_lookup": ["res_type", "param", "code", "system"],
    "ix_search_string_lookup": ["res_type", "param", "norm"],
    "ix_search_reference_lookup": ["res_type", "param", "target_id"],
    "ix_search_composite_lookup": ["res_type", "param", "code", "vcode"],
}


def _ops(name: str) -> dict[str, Any]:
    return {"postgresql_ops": {"norm": "text_pattern_ops"}} if name == "ix_search_string_lookup" else {}


def upgrade() -> None:
    for name, (table, columns) in _NEW.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, **_ops(name))


def downgrade() -> None:
    for name, (table, _columns) in _NEW.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, _OLD[name], **_ops(name))
