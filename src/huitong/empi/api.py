"""Service functions for the FHIR API: ``Patient/$match``.

:func:`match_bundle` takes the ``resource`` parameter of ``$match`` and returns the searchset Bundle the
specification describes: one entry per candidate person (its golden Patient), ordered by score, each with
``search.mode = match``, ``search.score`` (the match probability) and the ``match-grade`` extension —
``certain`` at or above the auto-link threshold, ``probable`` at or above the review threshold,
``possible`` below it, ``certainly-not`` for a pair the household rule forbids linking.
"""

from __future__ import annotations

from typing import Any

from huitong.empi.link import Candidate
from huitong.empi.patient import record_from_patient
from huitong.empi.service import Empi
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
    entries = []
    for candidate in result.candidates:
        grade = match_grade(candidate, empi)
        if candidate.probability < min_score or (only_certain_matches and grade != "certain"):
            continue
        golden = empi.store.read(actor, "Patient", empi.resolve(candidate.person_id)).resource()
        entries.append(
            {
                "fullUrl": f"Patient/{golden['id']}",
                "resource": golden,
                "search": {
                    "mode": "match",
                    "score": round(candidate.probability, 6),
                    "extension": [{"url": MATCH_GRADE_URL, "valueCode": grade}],
                },
            }
        )
        if count is not None and len(entries) >= count:
            break
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
