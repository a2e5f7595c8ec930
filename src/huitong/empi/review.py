"""The review queue: pairs the model is unsure about, waiting for a person to decide.

An item holds the record being linked, the closest record of the candidate person, the probability and the
field-by-field evidence (which field agreed at which level, with what weight). :func:`list_items` returns
both records side by side in a JSON-friendly shape for the review page. :func:`accept` merges the record's
person into the candidate person; :func:`reject` records that they are different people. Both are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from huitong.empi import index
from huitong.empi.errors import ConflictError, NotFoundError
from huitong.empi.protect import PLAIN, Sealer
from huitong.empi.schema import empi_record, empi_review
from huitong.fhir.transaction import Transaction
from huitong.security.actor import Actor, ActorKind
from huitong.settings import EmpiSettings

if TYPE_CHECKING:
    from huitong.empi.link import Candidate


@dataclass(frozen=True)
class ReviewItem:
    """One pair in the queue, with both records and the evidence."""

    review_id: int
    status: str
    match_probability: float
    match_weight: float
    record: dict[str, Any]
    candidate: dict[str, Any]
    evidence: list[dict[str, Any]]
    created_at: str
    decided_by: str | None
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "review_id": self.review_id,
            "status": self.status,
            "match_probability": self.match_probability,
            "match_weight": self.match_weight,
            "record": self.record,
            "candidate": self.candidate,
            "evidence": self.evidence,
            "created_at": self.created_at,
            "decided_by": self.decided_by,
            "reason": self.reason,
        }


def steward_actor(user: Actor) -> Actor:
    """The actor the EMPI writes golden Patients as when ``user`` decides a review item.

    Golden Patients are the EMPI's own records: people decide, the EMPI writes (as HAPI MDM does), so a role
    that may read every patient but write none (the quality officer) can run the queue. The store's audit rows
    name ``system:empi`` on behalf of the user; the EMPI's event and the item name the user.
    """
    return Actor(
        id="system:empi",
        kind=ActorKind.SYSTEM,
        role="system",
        name="empi",
        on_behalf_of=user.id,
        source_address=user.source_address,
        purpose_of_use=user.purpose_of_use,
        request_id=user.request_id,
    )


def enqueue(conn: sa.Connection, record_key: str, candidate: Candidate, sealer: Sealer = PLAIN) -> int:
    """Queue ``record_key`` against ``candidate``; returns the item's id."""
    result = conn.execute(
        empi_review.insert().returning(empi_review.c.review_id),
        {
            "record_key": record_key,
            "candidate_key": candidate.record_key,
            "candidate_person_id": candidate.person_id,
            "match_probability": candidate.score.match_probability,
            "match_weight": candidate.score.match_weight,
            "evidence": orjson.dumps(sealer.seal_evidence([e.as_dict() for e in candidate.score.evidence])).decode(),
            "status": "open",
            "created_at": datetime.now(UTC),
        },
    )
    return int(result.scalar_one())


def _side(conn: sa.Connection, record_key: str, sealer: Sealer) -> dict[str, Any]:
    row = conn.execute(
        sa.select(
            empi_record.c.record_key, empi_record.c.person_id, empi_record.c.patient_id, empi_record.c.source
        ).where(empi_record.c.record_key == record_key)
    ).first()
    if row is None:
        return {"record_key": record_key, "missing": True}
    return {
        "record_key": row.record_key,
        "person_id": row.person_id,
        "patient_id": row.patient_id,
        **index.source_dict(row.source, sealer),
    }


def _item(conn: sa.Connection, row: sa.Row[Any], sealer: Sealer) -> ReviewItem:
    return ReviewItem(
        review_id=row.review_id,
        status=row.status,
        match_probability=row.match_probability,
        match_weight=row.match_weight,
        record=_side(conn, row.record_key, sealer),
        candidate=_side(conn, row.candidate_key, sealer),
        evidence=sealer.open_evidence(orjson.loads(row.evidence)),
        created_at=row.created_at.isoformat(),
        decided_by=row.decided_by,
        reason=row.reason,
    )


def list_items(
    conn: sa.Connection, *, status: str | None = "open", limit: int = 50, offset: int = 0, sealer: Sealer = PLAIN
) -> list[ReviewItem]:
    """Items oldest first (``status=None`` lists every item)."""
    query = sa.select(empi_review)
    if status is not None:
        query = query.where(empi_review.c.status == status)
    rows = conn.execute(query.order_by(empi_review.c.review_id).limit(limit).offset(offset)).all()
    return [_item(conn, row, sealer) for row in rows]


def get_item(conn: sa.Connection, review_id: int, sealer: Sealer = PLAIN) -> ReviewItem:
    row = conn.execute(sa.select(empi_review).where(empi_review.c.review_id == review_id)).first()
    if row is None:
        raise NotFoundError(f"review item {review_id} does not exist")
    return _item(conn, row, sealer)


def count_items(conn: sa.Connection, status: str | None = "open") -> int:
    """How many items have ``status`` (every item with ``None``)."""
    query = sa.select(sa.func.count()).select_from(empi_review)
    if status is not None:
        query = query.where(empi_review.c.status == status)
    return int(conn.execute(query).scalar_one())


def count_open(conn: sa.Connection) -> int:
    return count_items(conn, "open")


def _decide(tx: Transaction, review_id: int, status: str, reason: str) -> sa.Row[Any]:
    row = tx.conn.execute(sa.select(empi_review).where(empi_review.c.review_id == review_id)).first()
    if row is None:
        raise NotFoundError(f"review item {review_id} does not exist")
    if row.status != "open":
        raise ConflictError(f"review item {review_id} was already decided ({row.status})")
    tx.conn.execute(
        empi_review.update()
        .where(empi_review.c.review_id == review_id)
        .values(status=status, decided_at=datetime.now(UTC), decided_by=index.acting_person(tx.actor), reason=reason)
    )
    return row


def accept(tx: Transaction, settings: EmpiSettings, review_id: int, reason: str) -> str:
    """They are one person: the record's person is merged into the candidate's; returns the surviving person."""
    from huitong.empi import merge

    row = _decide(tx, review_id, "accepted", reason)
    record = index.require_record(tx.conn, row.record_key)
    candidate = index.require_record(tx.conn, row.candidate_key)
    if record.person_id != candidate.person_id:
        merge.merge(tx, settings, candidate.person_id, record.person_id, reason, action="review-accept")
    return str(candidate.person_id)


def reject(tx: Transaction, review_id: int, reason: str) -> None:
    """They are different people: the item is closed and the decision recorded."""
    row = _decide(tx, review_id, "rejected", reason)
    index.record_event(
        tx.conn, tx.actor, "review-reject", reason=reason, record_key=row.record_key,
        person_id=row.candidate_person_id, before={"review_id": review_id},
    )  # fmt: skip
