"""The cold tier: archive old data to Parquet, read it on demand, restore it — on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from huitong.fhir.errors import FhirError
from huitong.ops.archive import archive_old, list_runs, patient_archive, read_archived, restore_run
from huitong.security.actor import Actor
from huitong.services import Services


def test_archive_round_trip(services: Services, actor: Actor, tmp_path: Path) -> None:
    store = services.store
    old_patient = store.create(actor, {"resourceType": "Patient", "name": [{"family": "李"}]})
    ref = {"reference": f"Patient/{old_patient.res_id}"}
    observation = {"resourceType": "Observation", "status": "preliminary", "code": {"text": "体温"}, "subject": ref}
    obs1 = store.create(actor, observation)
    obs2, _ = store.update(actor, "Observation", obs1.res_id, {**observation, "id": obs1.res_id, "status": "final"})
    hot = store.create(actor, {"resourceType": "Patient", "name": [{"family": "赵"}]})
    time.sleep(0.01)
    cutoff = datetime.now(UTC)
    time.sleep(0.01)
    hot2, _ = store.update(actor, "Patient", hot.res_id, {"resourceType": "Patient", "id": hot.res_id, "active": True})
    archive = tmp_path / "archive"

    run = archive_old(store, archive, cutoff)

    assert (run.resources, run.versions) == (2, 4)  # the old patient and observation (3 versions) + hot's v1
    for rtype, rid in (("Patient", old_patient.res_id), ("Observation", obs1.res_id)):
        with pytest.raises(FhirError):
            store.read(actor, rtype, rid)
    assert store.read(actor, "Patient", hot.res_id).content == hot2.content
    with pytest.raises(FhirError):
        store.vread(actor, "Patient", hot.res_id, 1)

    versions = read_archived(archive, "Observation", obs1.res_id)
    assert [(v.version_id, v.current) for v in versions] == [(1, False), (2, True)]
    assert versions[1].content == obs2.content.decode()
    record = patient_archive(archive, old_patient.res_id)
    assert sorted((v.res_type, v.content) for v in record) == sorted(
        [("Patient", old_patient.content.decode()), ("Observation", obs2.content.decode())]
    )
    assert [r.run_id for r in list_runs(archive)] == [run.run_id]

    assert restore_run(store, archive, run.run_id) == (2, 4)
    assert store.read(actor, "Observation", obs1.res_id).content == obs2.content
    assert store.vread(actor, "Observation", obs1.res_id, 1).content == obs1.content
    assert store.vread(actor, "Patient", hot.res_id, 1).content == hot.content
    assert store.read(actor, "Patient", old_patient.res_id).version_id == 1
    assert not list(archive.iterdir())
    with services.db.read() as conn:
        indexed = conn.execute(
            sa.text("SELECT count(*) FROM search_reference WHERE target_id = :pid"), {"pid": old_patient.res_id}
        ).scalar_one()
        moves = conn.execute(
            sa.text(
                "SELECT interaction, count(*) FROM audit_event WHERE actor_id = 'system:archive' GROUP BY interaction"
            )
        ).all()
    assert indexed > 0  # the search index was rebuilt by the store's write hooks
    assert dict(moves) == {"archive": 3, "archive-restore": 3}  # each resource moved is in the audit trail
