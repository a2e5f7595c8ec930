"""Real-time matching and linking of one record against the index.

:func:`match_record` blocks (a handful of index look-ups), compares and scores every candidate record with
the same weights as the batch model, and ranks the candidate *persons* by their best record. Pairs that look
like two members of one household (see :mod:`~huitong.empi.score`) never count towards a link. The best
person's probability falls into one of three bands:

* ``link`` — at or above ``auto_link_threshold``: the record joins that person;
* ``review`` — at or above ``review_threshold``: the record gets a new person, and the pair goes to the
  review queue with its evidence;
* ``new`` — below: the record gets a new person.

:func:`link_record` does this inside a write transaction. On SQLite all writes run on one writer thread,
so two registrations of the same person are serialised by construction; on PostgreSQL they are serialised
by advisory locks on their blocking keys (:func:`~huitong.empi.index.lock_keys`). Either way the second
registration sees the first and links to it rather than creating a second person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa

from huitong.empi import index, review
from huitong.empi.model import Model
from huitong.empi.normalise import NormalisedRecord, SourceRecord, normalise_record
from huitong.empi.protect import PLAIN, Sealer, sealer_of
from huitong.empi.score import PairScore, score_pair
from huitong.fhir.transaction import Transaction
from huitong.settings import EmpiSettings

Decision = Literal["link", "review", "new", "update"]


@dataclass(frozen=True)
class Candidate:
    """A candidate person: its best-scoring record, that pair's score, and whether the person is excluded.

    ``excluded`` is true when the pair is a household conflict or when another record of the same person
    carries a different valid resident ID: a person never holds two people's ID numbers.
    """

    person_id: str
    record_key: str
    score: PairScore
    excluded: bool = False

    @property
    def probability(self) -> float:
        return self.score.match_probability

    def as_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "record_key": self.record_key,
            "excluded": self.excluded,
            **self.score.as_dict(),
        }


@dataclass(frozen=True)
class MatchResult:
    """The verdict on one record: decision, the persons considered (best first) and the record's fields."""

    decision: Decision
    record: NormalisedRecord
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "record": self.record.as_row(),
            "candidates": [c.as_dict() for c in self.candidates],
        }


@dataclass(frozen=True)
class LinkResult:
    """What :func:`link_record` did: the person the record now belongs to, and the match behind it."""

    person_id: str
    decision: Decision
    match: MatchResult
    review_ids: list[int] = field(default_factory=list)


def rank_candidates(model: Model, record: NormalisedRecord, rows: list[Any], sealer: Sealer = PLAIN) -> list[Candidate]:
    """Score ``record`` against candidate rows; one entry per person (its best record), best first.

    Persons that are excluded (see :class:`Candidate`) are kept for display and ranked last.
    """
    best: dict[str, PairScore] = {}
    best_key: dict[str, str] = {}
    other_ids: set[str] = set()
    for row in rows:
        other = index.fields_from_json(row.fields, sealer, record)
        scored = score_pair(model, record, other)
        if scored.different_valid_ids:
            other_ids.add(row.person_id)
        current = best.get(row.person_id)
        if current is None or _rank(scored) > _rank(current):
            best[row.person_id] = scored
            best_key[row.person_id] = row.record_key
    candidates = [
        Candidate(person, best_key[person], score, score.household_conflict or person in other_ids)
        for person, score in best.items()
    ]
    return sorted(candidates, key=lambda c: (not c.excluded, c.score.match_weight), reverse=True)


def _rank(score: PairScore) -> tuple[bool, float]:
    return (not score.household_conflict, score.match_weight)


def decide(candidates: list[Candidate], settings: EmpiSettings) -> Decision:
    """The band of the best candidate (excluded persons are never linked nor reviewed)."""
    best = next((c for c in candidates if not c.excluded), None)
    if best is None:
        return "new"
    if best.probability >= settings.auto_link_threshold:
        return "link"
    if best.probability >= settings.review_threshold:
        return "review"
    return "new"


def match_record(
    conn: sa.Connection, model: Model, settings: EmpiSettings, record: SourceRecord, sealer: Sealer = PLAIN
) -> MatchResult:
    """Score ``record`` against the index without changing anything (``Patient/$match`` and previews)."""
    fields = normalise_record(record)
    rows = index.find_candidates(conn, fields, settings.max_candidates_per_key, sealer)
    candidates = rank_candidates(model, fields, rows, sealer)
    return MatchResult(decide(candidates, settings), fields, candidates)


def link_record(
    tx: Transaction,
    model: Model,
    settings: EmpiSettings,
    record: SourceRecord,
    *,
    patient_id: str | None = None,
    golden_later: set[str] | None = None,
) -> LinkResult:
    """Match ``record`` and file it under a person, in the caller's write transaction (see module docstring).

    A record already in the index is updated in place and stays with its person (moving it is a manual
    ``link``/``unlink``); its golden record is refreshed — at once, or, with ``golden_later``, by the caller
    (the person is added to the set; :func:`~huitong.empi.index.refresh_goldens` writes them together).
    """
    conn = tx.conn
    fields = normalise_record(record)
    sealer = sealer_of(tx)
    index.lock_keys(conn, fields, sealer)
    existing = index.record_row(conn, fields.unique_id)
    if existing is not None:
        index.update_record(conn, record, fields, patient_id, sealer)
        _refresh(tx, existing.person_id, settings, golden_later)
        return LinkResult(existing.person_id, "update", MatchResult("update", fields))
    rows = index.find_candidates(conn, fields, settings.max_candidates_per_key, sealer)
    candidates = rank_candidates(model, fields, rows, sealer)
    decision = decide(candidates, settings)
    match = MatchResult(decision, fields, candidates)
    review_ids: list[int] = []
    if decision == "link":
        person_id = candidates[0].person_id
        probability: float | None = candidates[0].probability
    else:
        person_id = index.new_person(conn)
        probability = None
    index.insert_record(
        conn, record, fields, person_id, link_kind="auto" if decision == "link" else "new",
        probability=probability, patient_id=patient_id, sealer=sealer,
    )  # fmt: skip
    for candidate in candidates[1 if decision == "link" else 0 :]:
        if candidate.excluded or candidate.probability < settings.review_threshold:
            continue
        review_ids.append(review.enqueue(conn, fields.unique_id, candidate, sealer))
        if len(review_ids) >= 3:
            break
    _refresh(tx, person_id, settings, golden_later)
    return LinkResult(person_id, decision, match, review_ids)


def _refresh(tx: Transaction, person_id: str, settings: EmpiSettings, later: set[str] | None) -> None:
    if later is None:
        index.refresh_golden(tx, person_id, settings)
    else:
        later.add(person_id)
