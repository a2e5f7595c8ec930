"""The security domain's tables: accounts, memberships, sessions, OAuth clients and tokens, break-the-glass
grants, the patient links the access policy filters on, and the audit hash chain.

Created by the migrations ``security_0001`` and ``security_0002`` (branch ``security``). They live in their
own ``MetaData`` so nothing here changes the shared :mod:`huitong.db.schema`; :data:`audit_log` is the shared
``audit_event`` table seen with the two chain columns the migration adds.

``security_0001`` creates these tables from this module. Before changing any of them, freeze the current
definitions inside ``security_0001`` (so it keeps creating what it always did) and add ``security_0002``.
"""

from __future__ import annotations

import sqlalchemy as sa

from huitong.db.schema import BigKey, audit_event

security_metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

When = sa.DateTime(timezone=True)

sec_user = sa.Table(
    "sec_user",
    security_metadata,
    sa.Column("user_id", sa.String(64), primary_key=True, comment="login name, unique, never reused"),
    sa.Column("display_name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("department", sa.String(64), nullable=True, comment="Organization id of the home department"),
    sa.Column("patient_id", sa.String(64), nullable=True, comment="Patient id of a patient account"),
    sa.Column("password_hash", sa.Text, nullable=True, comment="argon2id; NULL for SSO-only accounts"),
    sa.Column("password_changed", When, nullable=True),
    sa.Column("totp_secret", sa.Text, nullable=True, comment="encrypted with the field keys"),
    sa.Column("totp_last_step", sa.BigInteger, nullable=True, comment="last accepted TOTP step (no replay)"),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", When, nullable=True),
    sa.Column("is_active", sa.Boolean, nullable=False, default=True),
    sa.Column("expires", When, nullable=True, comment="account end date (temporary staff)"),
    sa.Column("created", When, nullable=False),
)

sec_password_history = sa.Table(
    "sec_password_history",
    security_metadata,
    sa.Column("seq", BigKey, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(64), sa.ForeignKey("sec_user.user_id"), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("changed", When, nullable=False),
    sa.Index(None, "user_id"),
)

sec_care_team = sa.Table(
    "sec_care_team",
    security_metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("patient_id", sa.String(64), primary_key=True),
    sa.Column("until", When, nullable=True),
    sa.Index(None, "patient_id"),
)

sec_patient_department = sa.Table(
    "sec_patient_department",
    security_metadata,
    sa.Column("patient_id", sa.String(64), primary_key=True),
    sa.Column("department", sa.String(64), primary_key=True),
    sa.Index(None, "department"),
)

sec_resource_patient = sa.Table(
    "sec_resource_patient",
    security_metadata,
    sa.Column("resource_pk", BigKey, primary_key=True),
    sa.Column("patient_id", sa.String(64), primary_key=True),
    sa.Index(None, "patient_id"),
)

#: The Patients one Patient resource names as the same person (FHIR ``Patient.link``: the EMPI's golden Patient
#: links every source record of a person; a merged record links its survivor): a row per Patient named, the resource
#: itself included, kept only for Patient resources that name another. Reach through one record of a person reaches
#: the others (docs/security.md, "Patient reach").
sec_patient_link = sa.Table(
    "sec_patient_link",
    security_metadata,
    sa.Column("resource_pk", BigKey, primary_key=True, comment="the Patient resource naming them"),
    sa.Column("patient_id", sa.String(64), primary_key=True),
    sa.Index(None, "patient_id"),
)

sec_break_glass = sa.Table(
    "sec_break_glass",
    security_metadata,
    sa.Column("grant_id", BigKey, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("patient_id", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("started", When, nullable=False),
    sa.Column("expires", When, nullable=False),
    sa.Column("reviewed_by", sa.String(64), nullable=True),
    sa.Column("reviewed_at", When, nullable=True),
    sa.Column("review_note", sa.Text, nullable=True),
    sa.Index(None, "user_id", "patient_id"),
)

sec_session = sa.Table(
    "sec_session",
    security_metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True, comment="SHA-256 of the cookie value"),
    sa.Column("user_id", sa.String(64), sa.ForeignKey("sec_user.user_id"), nullable=False),
    sa.Column("created", When, nullable=False),
    sa.Column("last_seen", When, nullable=False),
    sa.Column("mfa_passed", sa.Boolean, nullable=False, default=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("source_address", sa.String(64), nullable=True),
    sa.Column("ended", When, nullable=True),
)

sec_client = sa.Table(
    "sec_client",
    security_metadata,
    sa.Column("client_id", sa.String(64), primary_key=True),
    sa.Column("secret_hash", sa.Text, nullable=False, comment="argon2id"),
    sa.Column("scopes", sa.Text, nullable=False, comment="space-separated SMART v2 scopes it may be granted"),
    sa.Column("is_active", sa.Boolean, nullable=False, default=True),
    sa.Column("created", When, nullable=False),
)

sec_token = sa.Table(
    "sec_token",
    security_metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True, comment="SHA-256 of the bearer token"),
    sa.Column("client_id", sa.String(64), nullable=True),
    sa.Column("user_id", sa.String(64), nullable=True),
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("patient_id", sa.String(64), nullable=True, comment="launch context of patient/ scopes"),
    sa.Column("issued", When, nullable=False),
    sa.Column("expires", When, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
)

audit_chain_head = sa.Table(
    "audit_chain_head",
    security_metadata,
    sa.Column("chain_id", sa.Integer, primary_key=True, comment="always 1: one chain"),
    sa.Column("last_seq", BigKey, nullable=True),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.Column("length", BigKey, nullable=False),
)

#: Requests per scope (``login``, ``api``), key (address or credential) and minute, shared by every process
#: (:mod:`huitong.security.ratelimit`). Created by ``security_0002``; rows older than the last minute are deleted.
sec_rate_count = sa.Table(
    "sec_rate_count",
    security_metadata,
    sa.Column("scope", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True, comment="client address or credential id"),
    sa.Column("minute", BigKey, primary_key=True, comment="minutes since 1970-01-01 UTC"),
    sa.Column("hits", sa.Integer, nullable=False),
)

#: ``audit_event`` with the chain columns of ``security_0001``.
audit_log = sa.Table(
    "audit_event",
    security_metadata,
    *(
        sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable, autoincrement=c.autoincrement)
        for c in audit_event.columns
    ),
    sa.Column("prev_hash", sa.String(64), nullable=True),
    sa.Column("hash", sa.String(64), nullable=True),
)

#: The hash the chain starts from.
GENESIS = "0" * 64
