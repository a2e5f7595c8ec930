"""The message store's tables, declared once with SQLAlchemy Core; migrations ``ingest_0001`` … ``ingest_0005``.

One row per message received, whatever became of it: the raw bytes exactly as framed, what the MSH says
(sender, type, control id, version, character set), the receive-time ACK, and the pipeline's outcome
(status, errors, the FHIR resources it produced). ``dedup_key`` is the control id (MSH-10) of an
*accepted* message; with the sender it is unique, so a repeated control id is acknowledged but never
stored or processed twice. Rejected messages keep ``dedup_key`` NULL, so a sender may fix and resend one.
Beside it: ``ingest_tally`` (the counts per channel and status, kept by triggers) and ``ingest_message_patient``
(each message's patient identifiers, for search).
"""

from __future__ import annotations

import sqlalchemy as sa

from huitong.db.schema import BigKey, metadata

#: Pipeline states of a message. ``received``: stored and ACKed, waiting for (or in) the pipeline.
RECEIVED = "received"
PROCESSED = "processed"
ERROR = "error"
FILTERED = "filtered"
UNSUPPORTED = "unsupported"
STATUSES = (RECEIVED, PROCESSED, ERROR, FILTERED, UNSUPPORTED)

ingest_message = sa.Table(
    "ingest_message",
    metadata,
    sa.Column("id", BigKey, primary_key=True, autoincrement=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("sender_app", sa.String(227), nullable=False, comment="MSH-3 as sent (HD)"),
    sa.Column("sender_facility", sa.String(227), nullable=False, comment="MSH-4 as sent (HD)"),
    sa.Column("control_id", sa.String(199), nullable=True, comment="MSH-10"),
    sa.Column("dedup_key", sa.String(199), nullable=True, comment="MSH-10 of an accepted message, else NULL"),
    sa.Column("message_type", sa.String(32), nullable=False, comment="MSH-9 as CODE^EVENT"),
    sa.Column("version", sa.String(16), nullable=False, comment="MSH-12"),
    sa.Column("charset", sa.String(32), nullable=False, comment="MSH-18"),
    sa.Column("patient_ids", sa.Text, nullable=True, comment="PID-3 IDs, space separated, for search"),
    sa.Column("raw", sa.LargeBinary, nullable=False, comment="the payload exactly as framed"),
    sa.Column("ack_code", sa.String(2), nullable=False, comment="MSA-1 of the ACK sent on receipt"),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("error", sa.Text, nullable=True, comment="why the message was refused or failed"),
    sa.Column("resources", sa.Text, nullable=True, comment="JSON list of Type/id the message produced"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("sender_app", "sender_facility", "dedup_key"),
    # Each index is written for every message received, before its ACK: only those a query needs (ingest_0003).
    sa.Index(None, "status", "id"),  # the pipeline's pending rows; searches by status, newest first
    sa.Index(None, "control_id"),  # search by control id
    sa.Index(None, "received_at", "channel"),  # time windows: searches, retention, the dashboard's counts (index only)
    sa.Index(  # the dashboard's processing rates, from the index alone (ingest_0004); a received message has no entry
        None,
        "processed_at",
        "channel",
        "status",
        sqlite_where=sa.text("processed_at IS NOT NULL"),
        postgresql_where=sa.text("processed_at IS NOT NULL"),
    ),
)

#: Changes in the number of messages per channel and status, written by triggers (migration ``ingest_0004``) when a
#: message is stored, changes status or is deleted; the totals are their sums (:func:`huitong.ingest.tally.counts`),
#: and :func:`huitong.ingest.tally.fold_tally` now and then replaces them with one row per channel and status.
ingest_tally = sa.Table(
    "ingest_tally",
    metadata,
    sa.Column("id", BigKey, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("n", sa.BigInteger, nullable=False, comment="+k or -k messages"),
)

#: One row per PID-3 identifier of a stored message: the search by patient identifier (written with the message).
ingest_message_patient = sa.Table(
    "ingest_message_patient",
    metadata,
    sa.Column("patient_id", sa.String(255), primary_key=True, comment="PID-3.1, spaces as underscores"),
    sa.Column("message_id", BigKey, primary_key=True),
    sqlite_with_rowid=False,
)

#: Who processes the message store now (``name`` ``pipeline``): :class:`huitong.ingest.lease.ProcessingLease`.
ingest_lease = sa.Table(
    "ingest_lease",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(255), nullable=False, comment="host:pid:token of the engine holding it"),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)
