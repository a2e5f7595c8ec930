"""The audit hash chain: every ``audit_event`` row carries the hash of the row before it.

``hash = SHA-256(prev_hash ‖ canonical JSON of the row)``, rows in ``seq`` order. A one-row chain head
(``audit_chain_head``) holds the last hash and the chain's length; appending locks it (``SELECT … FOR UPDATE``
on PostgreSQL; on SQLite the single writer already serialises every write) in the transaction that writes
the rows, so concurrent writers append one after the other and a rolled-back write leaves no gap.

:func:`verify_chain` re-computes the chain and reports rows that were altered, removed, inserted or re-ordered,
and rows missing at the end (the head disagrees). Rows written before the chain existed (``hash`` NULL)
may only form a prefix. A chain kept in the same database cannot stop someone who can rewrite the whole
table and the head; print the head (``huitong audit verify``) into an external log or ticket regularly to
anchor it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
import sqlalchemy as sa

from huitong.db import bulk
from huitong.security.schema import GENESIS, audit_chain_head, audit_log

#: The columns a row's hash covers (everything but ``seq`` and the chain columns themselves).
HASHED = (
    "recorded",
    "action",
    "interaction",
    "outcome",
    "outcome_desc",
    "actor_id",
    "actor_role",
    "actor_name",
    "on_behalf_of",
    "source_address",
    "purpose_of_use",
    "request_id",
    "entity_type",
    "entity_id",
    "entity_version",
    "query",
)


# The chain's statements, built once (every audited read's batch runs them).
_HEAD_FOR_UPDATE = (
    sa.select(audit_chain_head.c.last_hash, audit_chain_head.c.length)
    .where(audit_chain_head.c.chain_id == 1)
    .with_for_update()
)
_LAST_SEQ = sa.select(sa.func.max(audit_log.c.seq))
_MOVE_HEAD = audit_chain_head.update().where(audit_chain_head.c.chain_id == 1)


@lru_cache(maxsize=1024)  # the rows of one transaction share their time: formatted once
def _instant(value: datetime) -> str:
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """The chain hash of ``row`` following ``prev_hash``."""
    values = {k: (_instant(row[k]) if k == "recorded" else row.get(k)) for k in HASHED}
    payload = prev_hash.encode() + orjson.dumps(values, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).hexdigest()


def append(conn: sa.Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Append ``rows`` to ``audit_event``, chained, in the caller's transaction."""
    rows = list(rows)
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        _append_sqlite(conn, rows)
        return
    current = conn.execute(_HEAD_FOR_UPDATE).first()
    if current is None:
        raise RuntimeError(_NO_HEAD)
    prev, length, chained = _chained(current.last_hash, int(current.length), rows)
    # One executemany (or COPY) for all rows. The head is locked, so the highest sequence number is the last row
    # just written.
    bulk.insert_rows(conn, audit_log, chained)
    seq = conn.execute(_LAST_SEQ).scalar_one()
    conn.execute(_MOVE_HEAD, {"last_hash": prev, "last_seq": seq, "length": length})


_NO_HEAD = "the audit chain head is missing; run `huitong audit verify`"  # the migration creates it


def _chained(prev: str, length: int, rows: list[dict[str, Any]]) -> tuple[str, int, list[dict[str, Any]]]:
    """``rows`` with their chain columns after ``prev``; the new last hash and chain length."""
    chained = []
    for row in rows:
        digest = row_hash(prev, row)
        chained.append({**row, "prev_hash": prev, "hash": digest})
        prev, length = digest, length + 1
    return prev, length, chained


def _append_sqlite(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """:func:`append` on SQLite, on the driver's connection: every audited read's batch runs it, and the three
    statements around the insert cost more through SQLAlchemy's execution than in SQLite. The one writer holds the
    database, so the head needs no lock and the row just written has the highest sequence number."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        current = cursor.execute("SELECT last_hash, length FROM audit_chain_head WHERE chain_id = 1").fetchone()
        if current is None:
            raise RuntimeError(_NO_HEAD)
        prev, length, chained = _chained(current[0], int(current[1]), rows)
        bulk.insert_rows(conn, audit_log, chained)
        cursor.execute(
            "UPDATE audit_chain_head SET last_hash = ?, length = ?, last_seq = (SELECT max(seq) FROM audit_event) "
            "WHERE chain_id = 1",
            (prev, length),
        )
    finally:
        cursor.close()


@dataclass
class ChainReport:
    """What :func:`verify_chain` found."""

    rows: int = 0
    unchained: int = 0
    problems: list[str] = field(default_factory=list)
    head_hash: str = GENESIS

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(conn: sa.Connection, *, batch: int = 5000, max_problems: int = 50) -> ChainReport:
    """Walk the whole chain in ``seq`` order and report every break (up to ``max_problems``)."""
    report = ChainReport()
    prev = GENESIS
    chained = 0
    last_seq: int | None = None
    after = -1
    while True:
        rows = conn.execute(
            sa.select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(batch)
        ).all()
        if not rows:
            break
        for r in rows:
            m = dict(r._mapping)
            report.rows += 1
            after = m["seq"]
            if m["hash"] is None:
                if chained:
                    report.problems.append(f"row {m['seq']}: hash removed after the chain began")
                else:
                    report.unchained += 1
                continue
            if m["prev_hash"] != prev:
                report.problems.append(
                    f"row {m['seq']}: does not follow row {last_seq} (a row was removed, inserted or re-ordered)"
                )
            if row_hash(m["prev_hash"], m) != m["hash"]:
                report.problems.append(f"row {m['seq']}: content altered (hash mismatch)")
            prev, last_seq, chained = m["hash"], m["seq"], chained + 1
            if len(report.problems) >= max_problems:
                return report
    head = conn.execute(sa.select(audit_chain_head).where(audit_chain_head.c.chain_id == 1)).first()
    if head is None:
        report.problems.append("the chain head is missing")
    else:
        report.head_hash = head.last_hash
        if head.last_hash != prev or int(head.length) != chained:
            report.problems.append(
                f"the chain head records {head.length} rows ending in {head.last_hash[:12]}…, the table holds "
                f"{chained} ending in {prev[:12]}… (rows removed from the end, or the head was altered)"
            )
    return report
