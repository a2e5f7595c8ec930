"""``$everything`` with ``_type`` (what the doctor's one-patient view reads) finds the members without their JSON
and reads only the wanted ones: the result must be the full record filtered, in the same order."""

from __future__ import annotations

from datetime import UTC, datetime

from huitong.fhir.operations.everything import patient_everything
from huitong.fhir.store import ResourceStore
from huitong.security.actor import Actor
from huitong.services import Services


def _write(store: ResourceStore, actor: Actor) -> None:
    bodies: list[dict[str, object]] = [
        {"resourceType": "Patient", "id": "p1", "name": [{"text": "王五"}]},
        {"resourceType": "Practitioner", "id": "dr1"},
        {"resourceType": "Practitioner", "id": "nurse1"},
        {"resourceType": "Encounter", "id": "e1", "status": "in-progress", "subject": {"reference": "Patient/p1"}},
    ]
    for i in range(12):
        bodies.append(
            {
                "resourceType": "Observation",
                "id": f"o{i}",
                "status": "final",
                "code": {"text": "Hb"},
                "subject": {"reference": "Patient/p1"},
                "performer": [{"reference": "Practitioner/dr1"}],
                "valueQuantity": {"value": 120 + i},
            }
        )
        bodies.append(
            {
                "resourceType": "MedicationAdministration",
                "id": f"m{i}",
                "status": "completed",
                "medicationCodeableConcept": {"text": "NS"},
                "subject": {"reference": "Patient/p1"},
                "performer": [{"actor": {"reference": "Practitioner/nurse1"}}],
                "effectiveDateTime": "2024-01-01T08:00:00+08:00",
            }
        )
    store.transaction(actor, lambda tx: tx.put_many(bodies))


def test_typed_record_is_the_full_record_filtered(services: Services, store: ResourceStore, actor: Actor) -> None:
    _write(store, actor)
    with services.db.read() as conn:
        full = patient_everything(conn, "p1")
        for types in (["Observation"], ["Observation", "Practitioner"], ["MedicationAdministration", "Encounter"]):
            typed = patient_everything(conn, "p1", types=types)
            expected = [s for s in full if s.res_type in types or (s.res_type, s.res_id) == ("Patient", "p1")]
            assert [(s.res_type, s.res_id, s.version_id, s.content) for s in typed] == [
                (s.res_type, s.res_id, s.version_id, s.content) for s in expected
            ], types
        # a Practitioner referenced only by an administration still counts as referenced by the record
        assert {s.res_id for s in patient_everything(conn, "p1", types=["Practitioner"])} == {"p1", "dr1", "nurse1"}
        assert len(patient_everything(conn, "p1", types=["Observation"], limit=5)) == 5
        later = patient_everything(conn, "p1", types=["Observation"], since=datetime(2999, 1, 1, tzinfo=UTC))
        assert [s.res_id for s in later] == ["p1"]
