"""The EMPI's tables (Alembic branch ``empi``; the migration is ``empi_0001_master_patient_index``).

* ``empi_record`` — every source record in the index: its standardised fields, its blocking keys (one
  indexed column per key, so real-time candidate search is a handful of index look-ups), the person it
  belongs to and how it got there.
* ``empi_person`` — one row per person (the golden record is the FHIR Patient ``golden_patient_id``).
* ``empi_review`` — uncertain pairs waiting for a person to decide, with the field-by-field evidence.
* ``empi_event`` — every link, unlink, merge and un-merge: who, when, why, and the state before and after.
* ``empi_pending`` — Patients written through the FHIR API (or an import) waiting to be linked; a row is
  written in the same transaction as the Patient and removed in the one that links it (``empi_0003``).
"""

from __future__ import annotations

import sqlalchemy as sa

from huitong.db.schema import BigKey, metadata
from huitong.empi.block import BLOCKING_KEYS

_KEY_COLUMNS = [sa.Column(key.column, sa.String(200), nullable=True) for key in BLOCKING_KEYS]

empi_record = sa.Table(
    "empi_record",
    metadata,
    sa.Column("pk", BigKey, primary_key=True, autoincrement=True),
    sa.Column("record_key", sa.String(200), nullable=False, comment="source_system|record_id"),
    sa.Column("source_system", sa.String(64), nullable=False),
    sa.Column("record_id", sa.String(128), nullable=False),
    sa.Column("person_id", sa.String(64), nullable=False),
    sa.Column("patient_id", sa.String(64), nullable=True, comment="the source FHIR Patient, when there is one"),
    sa.Column("link_kind", sa.String(16), nullable=False, comment="new, auto, manual, batch, merge"),
    sa.Column("match_probability", sa.Float, nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.Text, nullable=False, comment="JSON of the source record as received"),
    sa.Column("fields", sa.Text, nullable=False, comment="JSON of the standardised record"),
    *_KEY_COLUMNS,
    sa.UniqueConstraint("record_key"),
    sa.Index(None, "person_id"),
    *[sa.Index(None, key.column) for key in BLOCKING_KEYS],
)

empi_person = sa.Table(
    "empi_person",
    metadata,
    sa.Column("person_id", sa.String(64), primary_key=True),
    sa.Column("golden_patient_id", sa.String(64), nullable=True),
    sa.Column("status", sa.String(16), nullable=False, comment="active or merged"),
    sa.Column("merged_into", sa.String(64), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "merged_into"),
)

empi_review = sa.Table(
    "empi_review",
    metadata,
    sa.Column("review_id", BigKey, primary_key=True, autoincrement=True),
    sa.Column("record_key", sa.String(200), nullable=False, comment="the record that was being linked"),
    sa.Column("candidate_key", sa.String(200), nullable=False, comment="the closest record of the candidate"),
    sa.Column("candidate_person_id", sa.String(64), nullable=False),
    sa.Column("match_probability", sa.Float, nullable=False),
    sa.Column("match_weight", sa.Float, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False, comment="JSON: field-by-field levels and weights"),
    sa.Column("status", sa.String(16), nullable=False, comment="open, accepted, rejected, stale"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("decided_by", sa.String(128), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Index(None, "status", "created_at"),
    sa.Index(None, "record_key"),
)

empi_event = sa.Table(
    "empi_event",
    metadata,
    sa.Column("seq", BigKey, primary_key=True, autoincrement=True),
    sa.Column("recorded", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor_id", sa.String(128), nullable=False),
    sa.Column("action", sa.String(32), nullable=False, comment="link, unlink, merge, unmerge, a40, review-…"),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("record_key", sa.String(200), nullable=True),
    sa.Column("person_id", sa.String(64), nullable=True),
    sa.Column("other_person_id", sa.String(64), nullable=True),
    sa.Column("before", sa.Text, nullable=True, comment="JSON of the state before"),
    sa.Column("after", sa.Text, nullable=True, comment="JSON of the state after"),
    sa.Index(None, "person_id", "recorded"),
    sa.Index(None, "record_key"),
)

empi_pending = sa.Table(
    "empi_pending",
    metadata,
    sa.Column("seq", BigKey, primary_key=True, autoincrement=True),
    sa.Column("patient_id", sa.String(64), nullable=False, comment="a Patient written outside the ingest pipeline"),
    sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Index(None, "patient_id"),
)
