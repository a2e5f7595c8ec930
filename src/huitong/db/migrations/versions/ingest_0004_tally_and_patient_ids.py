"""Message store at a hospital's volume: counts kept as they change, and an index of the patient identifiers.

Until now the dashboard's totals per channel and status read every message (half a second per million, and a
municipal hospital's feeds send millions a month), and a search by patient identifier matched a pattern against
every row. This revision adds:

* ``ingest_tally`` — rows of ``(channel, status, n)``, each a change in the count of messages with that channel
  and status. Triggers write them whenever a message is stored, changes status (or channel) or is deleted, so no
  path that writes messages can forget them; :func:`huitong.ingest.tally.fold_tally` sums them into one row per
  channel and status now and then. The totals are the sums. SQLite fires its trigger per row (one small insert
  each); PostgreSQL's fire once per statement and read the statement's transition tables. Only inserts are made,
  never an update of a shared counter row, so concurrent writers never wait on one another here.
* ``ingest_message_patient`` — one row per PID-3 identifier of a message, keyed ``(patient_id, message_id)``.
* The partial index of processed messages holds ``(processed_at, channel, status)``, so the dashboard counts what
  was processed in the last hour from the index alone (a backlog caught up after an outage is many rows). Its
  entries are written by the pipeline's marks, never on receipt.

Both are filled from the messages already stored; on a large store this revision reads every message once.

Revision ID: ingest_0004
Revises: ingest_0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ingest_0004"
down_revision: str | None = "ingest_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER ingest_tally_insert AFTER INSERT ON ingest_message
    BEGIN INSERT INTO ingest_tally (channel, status, n) VALUES (NEW.channel, NEW.status, 1); END""",
    """CREATE TRIGGER ingest_tally_update AFTER UPDATE OF status, channel ON ingest_message
    WHEN OLD.status IS NOT NEW.status OR OLD.channel IS NOT NEW.channel
    BEGIN INSERT INTO ingest_tally (channel, status, n)
    VALUES (OLD.channel, OLD.status, -1), (NEW.channel, NEW.status, 1); END""",
    """CREATE TRIGGER ingest_tally_delete AFTER DELETE ON ingest_message
    BEGIN INSERT INTO ingest_tally (channel, status, n) VALUES (OLD.channel, OLD.status, -1); END""",
)

_POSTGRES_FUNCTION = """CREATE FUNCTION ingest_tally_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ingest_tally (channel, status, n)
        SELECT channel, status, count(*) FROM tally_new GROUP BY channel, status;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO ingest_tally (channel, status, n)
        SELECT channel, status, -count(*) FROM tally_old GROUP BY channel, status;
    ELSE
        INSERT INTO ingest_tally (channel, status, n)
        SELECT channel, status, sum(n) FROM (
            SELECT channel, status, -1 AS n FROM tally_old
            UNION ALL SELECT channel, status, 1 AS n FROM tally_new
        ) AS changed GROUP BY channel, status HAVING sum(n) <> 0;
    END IF;
    RETURN NULL;
END $$"""

_POSTGRES_TRIGGERS = (
    _POSTGRES_FUNCTION,
    """CREATE TRIGGER ingest_tally_insert AFTER INSERT ON ingest_message
    REFERENCING NEW TABLE AS tally_new FOR EACH STATEMENT EXECUTE FUNCTION ingest_tally_count()""",
    """CREATE TRIGGER ingest_tally_update AFTER UPDATE ON ingest_message
    REFERENCING OLD TABLE AS tally_old NEW TABLE AS tally_new
    FOR EACH STATEMENT EXECUTE FUNCTION ingest_tally_count()""",
    """CREATE TRIGGER ingest_tally_delete AFTER DELETE ON ingest_message
    REFERENCING OLD TABLE AS tally_old FOR EACH STATEMENT EXECUTE FUNCTION ingest_tally_count()""",
)

_BACKFILL_CHUNK = 50_000
PROCESSED = sa.text("processed_at IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "ingest_tally",
        sa.Column("id", BigKey, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ingest_message_patient",
        sa.Column("patient_id", sa.String(255), primary_key=True),
        sa.Column("message_id", BigKey, primary_key=True),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "INSERT INTO ingest_tally (channel, status, n) "
            "SELECT channel, status, count(*) FROM ingest_message GROUP BY channel, status"
        )
    )
    _backfill_patient_ids(bind)
    op.drop_index("ix_ingest_message_processed_at", table_name="ingest_message")
    op.create_index(
        "ix_ingest_message_processed_at_channel_status",
        "ingest_message",
        ["processed_at", "channel", "status"],
        sqlite_where=PROCESSED,
        postgresql_where=PROCESSED,
    )
    for ddl in _SQLITE_TRIGGERS if bind.dialect.name == "sqlite" else _POSTGRES_TRIGGERS:
        bind.execute(sa.text(ddl))


def _backfill_patient_ids(bind: sa.Connection) -> None:
    """The identifiers of the messages already stored, a chunk of message ids at a time."""
    last = 0
    select = sa.text(
        "SELECT id, patient_ids FROM ingest_message WHERE id > :last AND patient_ids IS NOT NULL ORDER BY id LIMIT :n"
    )
    insert = sa.text("INSERT INTO ingest_message_patient (patient_id, message_id) VALUES (:p, :m)")
    while True:
        rows = bind.execute(select, {"last": last, "n": _BACKFILL_CHUNK}).all()
        if not rows:
            return
        pairs = {(token[:255], int(row.id)) for row in rows for token in str(row.patient_ids).split()}
        if pairs:
            bind.execute(insert, [{"p": p, "m": m} for p, m in sorted(pairs)])
        last = int(rows[-1].id)


def downgrade() -> None:
    bind = op.get_bind()
    on_table = "" if bind.dialect.name == "sqlite" else " ON ingest_message"
    for name in ("ingest_tally_insert", "ingest_tally_update", "ingest_tally_delete"):
        bind.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}{on_table}"))
    if bind.dialect.name != "sqlite":
        bind.execute(sa.text("DROP FUNCTION IF EXISTS ingest_tally_count()"))
    op.drop_index("ix_ingest_message_processed_at_channel_status", table_name="ingest_message")
    op.create_index(
        "ix_ingest_message_processed_at",
        "ingest_message",
        ["processed_at"],
        sqlite_where=PROCESSED,
        postgresql_where=PROCESSED,
    )
    op.drop_table("ingest_message_patient")
    op.drop_table("ingest_tally")
