"""The web domain's table: registrations of the patient portal waiting for their one-time code.

Created by the migration ``portal_0001`` (branch ``portal``). A row lives from the moment a code is sent until it
expires (rows older than a day are removed when the next one is added): it is how the portal counts the codes
sent for one hospital record and the wrong codes tried for one registration, across worker processes.
"""

from __future__ import annotations

import sqlalchemy as sa

from huitong.db.schema import metadata

When = sa.DateTime(timezone=True)

portal_registration = sa.Table(
    "portal_registration",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True, comment="SHA-256 of the token the browser holds"),
    sa.Column("patient_id", sa.String(64), nullable=False, comment="the hospital's Patient the account will bind to"),
    sa.Column("user_id", sa.String(64), nullable=False, comment="login name of the account (the mobile number)"),
    sa.Column("display_name", sa.String(128), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False, comment="argon2id, made when the form was sent"),
    sa.Column("code_hash", sa.String(64), nullable=False, comment="HMAC-SHA256 of the one-time code"),
    sa.Column("phone_hint", sa.String(16), nullable=False, comment="the masked number the code went to"),
    sa.Column("created", When, nullable=False),
    sa.Column("expires", When, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("status", sa.String(16), nullable=False, comment="pending, done or failed"),
    sa.Index(None, "patient_id", "created"),
)
