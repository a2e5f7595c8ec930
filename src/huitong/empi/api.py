"""Service functions for the FHIR API: ``Patient/$match``, and the Patient ids of a person.

:func:`match_bundle` takes the ``resource`` parameter of ``$match`` and returns the searchset Bundle the
specification describes: one entry per candidate person (its golden Patient), ordered by score, each with
``search.mode = match``, ``search.score`` (the match probability) and the ``match-grade`` extension —
``certain`` at or above the auto-link threshold, ``probable`` at or above the review threshold,
``possible`` below it, ``certainly-not`` for a pair the household rule forbids linking. Golden Patients the
actor may not see are left out, as a search leaves them out.

With ``onlyCertainMatches`` the Bundle holds only ``certain`` matches, and — as the R4 operation definition
asks — none at all when more than one person is a certain match; an OperationOutcome entry then says why.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from huitong.db.schema import resource
from huitong.empi.errors import NotFoundError
from huitong.empi.link import Candidate
from huitong.empi.patient import record_from_patient
from huitong.empi.service import Empi
from huitong.fhir import jsonio
from huitong.fhir.stored import StoredResource, utc
from huitong.security.actor import Actor

MATCH_GRADE_URL = "http://hl7.org/fhir/StructureDefinition/match-grade"


def match_grade(candidate: Candidate, empi: Empi) -> str:
    """The FHIR match grade of a candidate."""
    if candidate.excluded:
        return "certainly-not"
    if candidate.probability >= empi.settings.auto_link_threshold:
        return "certain"
    if candidate.probability >= empi.settings.review_threshold:
        return "probable"
    return "possible"


def _visible_goldens(empi: Empi, actor: Actor, person_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The current golden Patients of ``person_ids`` that ``actor`` may see, by id."""
    if not person_ids:
        return {}
    with empi.db.read() as conn:
        rows = conn.execute(
            sa.select(resource.c.res_id, resource.c.version_id, resource.c.last_updated, resource.c.content).where(
                resource.c.res_type == "Patient",
                resource.c.res_id.in_(person_ids),
                resource.c.deleted.is_(False),
            )
        ).all()
        stored = [
            StoredResource(
                "Patient", str(r.res_id), int(r.version_id), utc(r.last_updated), False, str(r.content).encode()
            )
            for r in rows
        ]
        visible = empi.store.filter_visible(actor, conn, stored)
    out: dict[str, dict[str, Any]] = {}
    for s in visible:
        body = jsonio.loads(s.content or b"{}")
        if isinstance(body, dict):
            out[s.res_id] = body
    return out


def match_bundle(
    empi: Empi,
    actor: Actor,
    patient: dict[str, Any],
    *,
    count: int | None = None,
    only_certain_matches: bool = False,
    min_score: float = 0.01,
) -> dict[str, Any]:
    """The ``$match`` result Bundle for ``patient`` (see the module docstring)."""
    result = empi.match(record_from_patient(patient, "$match", record_id="$match"))
    graded: list[tuple[Candidate, str, str]] = []
    seen: set[str] = set()
    for candidate in result.candidates:
        grade = match_grade(candidate, empi)
        if candidate.probability < min_score or (only_certain_matches and grade != "certain"):
            continue
        person = empi.resolve(candidate.person_id)
        if person in seen:
            continue
        seen.add(person)
        graded.append((candidate, grade, person))
    goldens = _visible_goldens(empi, actor, [person for _c, _g, person in graded])
    entries: list[dict[str, Any]] = []
    for candidate, grade, person in graded:
        golden = goldens.get(person)
        if golden is None:
            continue
        entries.append(
            {
                "fullUrl": f"Patient/{person}",
                "resource": golden,
                "search": {
                    "mode": "match",
                    "score": round(candidate.probability, 6),
                    "extension": [{"url": MATCH_GRADE_URL, "valueCode": grade}],
                },
            }
        )
    if only_certain_matches and len(entries) > 1:
        note = (
            f"{len(entries)} persons are certain matches, so none is returned (onlyCertainMatches); "
            "ask again without onlyCertainMatches to see them, and merge the duplicates in the EMPI review queue"
        )
        entries = [_outcome_entry("warning", "multiple-matches", note)]
    elif count is not None:
        entries = entries[:count]
    matches = sum(1 for e in entries if e["search"]["mode"] == "match")
    return {"resourceType": "Bundle", "type": "searchset", "total": matches, "entry": entries}


def _outcome_entry(severity: str, code: str, diagnostics: str) -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
        },
        "search": {"mode": "outcome"},
    }


def person_patient_ids(empi: Empi, patient_id: str) -> list[str] | None:
    """For a golden Patient (a person's id): the source Patient ids of the person; ``None`` for any other id."""
    try:
        return empi.patient_ids_of_person(patient_id)
    except NotFoundError:
        return None
