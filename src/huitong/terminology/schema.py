"""Lookup tables kept in step with CodeSystem and ConceptMap resources (by a write hook, same transaction).

The resources are the truth; these rows exist so that ``$lookup``, ``$validate-code``, ``$translate`` and
``$expand`` answer from an index instead of parsing whole code systems (an ICD-10 clinical edition has
~30,000 codes) on every request.
"""

from __future__ import annotations

import sqlalchemy as sa

from huitong.db.schema import BigKey, metadata

concept = sa.Table(
    "terminology_concept",
    metadata,
    sa.Column("resource_pk", BigKey, sa.ForeignKey("resource.pk"), nullable=False),
    sa.Column("system", sa.String(255), nullable=False),
    sa.Column("version", sa.String(64), nullable=False, comment="'' when the code system has no version"),
    sa.Column("code", sa.String(128), nullable=False),
    sa.Column("display", sa.Text, nullable=True),
    sa.Column("parent", sa.String(128), nullable=True),
    sa.Column("properties", sa.Text, nullable=True, comment="JSON object of the concept's properties"),
    sa.Column("search_text", sa.Text, nullable=True, comment="lower-case code, display, pinyin and initials"),
    sa.PrimaryKeyConstraint("resource_pk", "code"),
    sa.Index(None, "system", "code"),
)

mapping = sa.Table(
    "terminology_mapping",
    metadata,
    sa.Column("resource_pk", BigKey, sa.ForeignKey("resource.pk"), nullable=False),
    sa.Column("map_url", sa.String(255), nullable=True),
    sa.Column("source_system", sa.String(255), nullable=False),
    sa.Column("source_code", sa.String(128), nullable=False),
    sa.Column("target_system", sa.String(255), nullable=False),
    sa.Column("target_code", sa.String(128), nullable=True),
    sa.Column("target_display", sa.Text, nullable=True),
    sa.Column("equivalence", sa.String(32), nullable=False),
    sa.Index(None, "source_system", "source_code"),
    sa.Index(None, "resource_pk"),
)

canonical = sa.Table(
    "terminology_canonical",
    metadata,
    sa.Column("resource_pk", BigKey, sa.ForeignKey("resource.pk"), primary_key=True),
    sa.Column("res_type", sa.String(64), nullable=False, comment="CodeSystem, ValueSet or ConceptMap"),
    sa.Column("url", sa.String(255), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("name", sa.Text, nullable=True),
    sa.Index(None, "res_type", "url"),
)
