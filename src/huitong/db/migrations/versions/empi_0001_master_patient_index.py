"""The master patient index: records with blocking keys, persons, the review queue and link events.

Revision ID: empi_0001
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "empi_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("empi",)
depends_on: str | Sequence[str] | None = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEYS = ("k_id", "k_phone", "k_dob_surname", "k_name_year", "k_given_dob")


def upgrade() -> None:
    op.create_table(
        "empi_record",
        sa.Column("pk", BigKey, primary_key=True, autoincrement=True),
        sa.Column("record_key", sa.String(200), nullable=False),
        sa.Column("source_system", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=True),
        sa.Column("link_kind", sa.String(16), nullable=False),
        sa.Column("match_probability", sa.Float, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        *[sa.Column(key, sa.String(200), nullable=True) for key in KEYS],
        sa.PrimaryKeyConstraint("pk", name="pk_empi_record"),
        sa.UniqueConstraint("record_key", name="uq_empi_record_record_key"),
    )
    op.create_index("ix_empi_record_person_id", "empi_record", ["person_id"])
    for key in KEYS:
        op.create_index(f"ix_empi_record_{key}", "empi_record", [key])
    op.create_table(
        "empi_person",
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("golden_patient_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("merged_into", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name="pk_empi_person"),
    )
    op.create_index("ix_empi_person_merged_into", "empi_person", ["merged_into"])
    op.create_table(
        "empi_review",
        sa.Column("review_id", BigKey, primary_key=True, autoincrement=True),
        sa.Column("record_key", sa.String(200), nullable=False),
        sa.Column("candidate_key", sa.String(200), nullable=False),
        sa.Column("candidate_person_id", sa.String(64), nullable=False),
        sa.Column("match_probability", sa.Float, nullable=False),
        sa.Column("match_weight", sa.Float, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("review_id", name="pk_empi_review"),
    )
    op.create_index("ix_empi_review_status_created_at", "empi_review", ["status", "created_at"])
    op.create_index("ix_empi_review_record_key", "empi_review", ["record_key"])
    op.create_table(
        "empi_event",
        sa.Column("seq", BigKey, primary_key=True, autoincrement=True),
        sa.Column("recorded", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("record_key", sa.String(200), nullable=True),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("other_person_id", sa.String(64), nullable=True),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_empi_event"),
    )
    op.create_index("ix_empi_event_person_id_recorded", "empi_event", ["person_id", "recorded"])
    op.create_index("ix_empi_event_record_key", "empi_event", ["record_key"])


def downgrade() -> None:
    op.drop_table("empi_event")
    op.drop_table("empi_review")
    op.drop_table("empi_person")
    op.drop_table("empi_record")
