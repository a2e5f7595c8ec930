"""The tables, declared once with SQLAlchemy Core. Alembic migrations create them.

Clinical data lives only in ``resource`` (the current version of each FHIR resource, as the JSON bytes
served to clients) and ``resource_version`` (a row for every version, including deletions as tombstones). The JSON
of a version is stored once: the current version's in ``resource.content`` only, an earlier version's in its
``resource_version.content`` (moved there when the next version is written) — :func:`version_content` reads
either. Search index tables, the inbox of the integration engine and the EMPI add their own tables in their
migrations.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

#: 64-bit keys on PostgreSQL; on SQLite an INTEGER PRIMARY KEY is the 64-bit rowid itself.
BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

resource = sa.Table(
    "resource",
    metadata,
    sa.Column("pk", BigKey, primary_key=True, autoincrement=True),
    sa.Column("res_type", sa.String(64), nullable=False),
    sa.Column("res_id", sa.String(64), nullable=False),
    sa.Column("version_id", sa.Integer, nullable=False),
    sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("content", sa.Text, nullable=True, comment="JSON of the current version; NULL once deleted"),
    sa.UniqueConstraint("res_type", "res_id"),
    sa.Index(None, "res_type", "last_updated"),
    sa.Index("ix_resource_res_type_pk", "res_type", "pk"),  # a whole type in key order (migration 0002)
)

resource_version = sa.Table(
    "resource_version",
    metadata,
    sa.Column("resource_pk", BigKey, sa.ForeignKey("resource.pk"), primary_key=True),
    sa.Column("version_id", sa.Integer, primary_key=True),
    sa.Column("res_type", sa.String(64), nullable=False),
    sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
    sa.Column("method", sa.String(8), nullable=False, comment="POST, PUT or DELETE"),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column(
        "content",
        sa.Text,
        nullable=True,
        comment="JSON of this version once a newer one exists; NULL for the current version and for a deletion",
    ),
    sa.Index(None, "res_type", "last_updated"),
    sa.Index(None, "last_updated"),
)


def version_content() -> sa.ColumnElement[str | None]:
    """The JSON of a ``resource_version`` row joined with its ``resource`` row: the current version's is in
    ``resource.content`` (NULL once deleted), an earlier version's in ``resource_version.content``."""
    return sa.case(
        (resource_version.c.version_id == resource.c.version_id, resource.c.content),
        else_=resource_version.c.content,
    ).label("content")


audit_event = sa.Table(
    "audit_event",
    metadata,
    sa.Column("seq", BigKey, primary_key=True, autoincrement=True),
    sa.Column("recorded", sa.DateTime(timezone=True), nullable=False),
    sa.Column("action", sa.String(1), nullable=False, comment="FHIR AuditEvent.action: C R U D E"),
    sa.Column("interaction", sa.String(32), nullable=False, comment="create, read, vread, update, …"),
    sa.Column("outcome", sa.String(2), nullable=False, comment="FHIR AuditEvent.outcome: 0, 4, 8 or 12"),
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
    sa.Column("query", sa.Text, nullable=True, comment="search or history query, when the call had one"),
    sa.Index(None, "recorded"),
    sa.Index(None, "actor_id", "recorded"),
    sa.Index(None, "entity_type", "entity_id"),
)
