"""Patients written through the FHIR API (create, update, transaction Bundles) are linked by the EMPI like those
of HL7 ingest: queued in the write's transaction, linked moments later, and never left unlinked by a crash — on
SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.db.schema import resource
from huitong.empi import pending
from huitong.empi.schema import empi_pending, empi_record
from huitong.security.actor import Actor
from huitong.services import Services, open_services
from huitong.settings import Settings
from tests.conftest import AUTH, make_settings

RESIDENT = "urn:oid:2.16.156.10011.1.3"
ID_NUMBER = "110101198001020032"


def _patient(pid: str, name: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {
        "resourceType": "Patient",
        "id": pid,
        "name": [name],
        "gender": "male",
        "birthDate": "1980-01-02",
        "identifier": [{"system": RESIDENT, "value": ID_NUMBER}],
        "telecom": [{"system": "phone", "value": "13800138000", "use": "mobile"}],
        **extra,
    }
    return body


def _observation(oid: str, pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"text": "glucose"},
        "subject": {"reference": f"Patient/{pid}"},
    }


@pytest.fixture
def empi_settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, empi={"model_path": str(tmp_path / "absent-model.json"), "link_api_patients": True})


@pytest.fixture
def api(empi_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(empi_settings), headers=AUTH) as client:
        yield client


def _services(api: TestClient) -> Services:
    services: Services = api.app.state.services  # type: ignore[attr-defined]
    return services


def _drain(api: TestClient) -> None:
    """Link what is queued now (the server's linker would, within a second; done here so the test is exact)."""
    services = _services(api)
    while services.empi.process_pending():
        pass
    assert services.empi.pending_count() == 0


def _person_of(api: TestClient, pid: str) -> str:
    found = api.get("/fhir/Patient", params={"link": f"Patient/{pid}"}).json()
    ids = [e["resource"]["id"] for e in found.get("entry", [])]
    assert len(ids) == 1, (pid, found)
    return str(ids[0])


def test_two_api_patients_of_one_person_become_one_person(api: TestClient) -> None:
    new = _patient("x", {"family": "张", "given": ["伟华"]})
    del new["id"]
    created = api.post("/fhir/Patient", json=new)
    assert created.status_code == 201, created.text
    first = created.json()["id"]
    # the same person registered again elsewhere: traditional characters, by PUT
    second = api.put("/fhir/Patient/api-2", json=_patient("api-2", {"text": "張偉華"}))
    assert second.status_code == 201, second.text
    other = _patient("api-3", {"text": "李娜"}, birthDate="1990-05-06", gender="female")
    del other["identifier"], other["telecom"]
    stranger = api.put("/fhir/Patient/api-3", json=other)
    assert stranger.status_code == 201, stranger.text
    for oid, pid in (("obs-1", first), ("obs-2", "api-2"), ("obs-3", "api-3")):
        assert api.put(f"/fhir/Observation/{oid}", json=_observation(oid, pid)).status_code == 201
    _drain(api)

    person = _person_of(api, first)
    assert _person_of(api, "api-2") == person != _person_of(api, "api-3")
    found = api.get("/fhir/Patient", params={"_id": person, "_include": "Patient:link"}).json()
    assert {e["resource"]["id"]: e["search"]["mode"] for e in found["entry"]} == {
        person: "match",
        first: "include",
        "api-2": "include",
    }
    everything = api.get(f"/fhir/Patient/{person}/$everything")
    assert everything.status_code == 200, everything.text
    ids = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in everything.json()["entry"]}
    assert {f"Patient/{first}", "Patient/api-2", "Observation/obs-1", "Observation/obs-2"} <= ids
    assert "Observation/obs-3" not in ids

    # an update of a linked Patient updates its record in place: same person, still one record
    moved = _patient("api-2", {"text": "張偉華"}, telecom=[{"system": "phone", "value": "13900139000"}])
    assert api.put("/fhir/Patient/api-2", json=moved).status_code == 200
    _drain(api)
    assert _person_of(api, "api-2") == person
    with _services(api).db.read() as conn:
        rows = conn.execute(sa.select(empi_record.c.record_key).where(empi_record.c.patient_id == "api-2")).all()
    assert [r.record_key for r in rows] == ["FHIR|api-2"]
    # the queue of Patients to link is watched: empty now that every one is linked
    assert 'huitong_queue_depth{queue="empi_pending"} 0.0' in api.get("/metrics").text
    assert api.get("/readyz").json()["checks"]["queue:empi_pending"] == {"ok": True, "depth": 0, "limit": None}


def test_patients_of_a_transaction_bundle_are_linked(api: TestClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": body, "request": {"method": "PUT", "url": f"Patient/{body['id']}"}}
            for body in (
                _patient("tx-1", {"family": "欧阳", "given": ["修"]}),
                _patient("tx-2", {"family": "OUYANG", "given": ["XIU"]}),
            )
        ],
    }
    answer = api.post("/fhir", json=bundle)
    assert answer.status_code == 200, answer.text
    _drain(api)
    assert _person_of(api, "tx-1") == _person_of(api, "tx-2")


def test_a_patient_queued_before_a_crash_is_linked_when_the_server_starts(empi_settings: Settings) -> None:
    services = open_services(empi_settings)  # a CLI process (an import): writes, queues, exits without linking
    try:
        services.store.update(Actor.system("import"), "Patient", "imp-1", _patient("imp-1", {"text": "王芳"}))
        assert services.empi.pending_count() == 1
    finally:
        services.close()
    with TestClient(create_app(empi_settings), headers=AUTH) as api:
        deadline = time.monotonic() + 60  # the server's linker catches up at start-up on its own
        while _services(api).empi.pending_count() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _services(api).empi.pending_count() == 0
        person = _person_of(api, "imp-1")
        golden = api.get(f"/fhir/Patient/{person}").json()
        assert {"reference": "Patient/imp-1"} in [link["other"] for link in golden["link"]]


def test_a_patient_linked_in_its_write_transaction_is_not_queued(empi_settings: Settings) -> None:
    """The ingest pipeline's way: ``link_in`` in the write's transaction takes the Patient off the queue."""
    services = open_services(empi_settings)
    try:
        from huitong.empi import record_from_patient

        body = _patient("his-9", {"text": "赵敏"})

        def write(tx: Any) -> None:
            tx.update(body, "his-9")
            services.empi.link_in(tx, record_from_patient(body, "HIS", "his-9"), patient_id="his-9")

        services.store.transaction(Actor.system("mllp"), write)
        assert services.empi.pending_count() == 0
        with services.db.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(empi_pending)).scalar_one() == 0
            keys = conn.execute(sa.select(empi_record.c.record_key)).scalars().all()
        assert keys == ["HIS|his-9"]  # golden Patients are never queued, so nothing else was linked
    finally:
        services.close()


def _queue(services: Services) -> None:
    writer = Actor.system("import")
    services.store.update(writer, "Patient", "b-1", _patient("b-1", {"family": "欧阳", "given": ["修"]}))
    services.store.update(writer, "Patient", "b-2", _patient("b-2", {"family": "OUYANG", "given": ["XIU"]}))
    other = {"resourceType": "Patient", "id": "b-3", "name": [{"family": "李", "given": ["娜"]}], "gender": "female"}
    services.store.update(writer, "Patient", "b-3", {**other, "birthDate": "1990-07-08"})


def _persons(services: Services) -> dict[str, str]:
    with services.db.read() as conn:
        rows = conn.execute(sa.select(empi_record.c.patient_id, empi_record.c.person_id)).all()
    return {r.patient_id: r.person_id for r in rows}


def test_queued_patients_are_linked_in_batches_each_golden_written_once(empi_settings: Settings) -> None:
    services = open_services(empi_settings)  # no server: no linker thread racing the test
    try:
        _queue(services)
        assert pending.process_pending(services.empi, batch=100) == 3
        assert services.empi.pending_count() == 0
        persons = _persons(services)
        assert persons["b-1"] == persons["b-2"] != persons["b-3"]
        for person in set(persons.values()):  # written once, at the end of the one transaction
            assert services.store.read(Actor.system("tests"), "Patient", person).version_id == 1
    finally:
        services.close()


def test_a_batch_with_a_broken_patient_falls_back_to_one_by_one(empi_settings: Settings) -> None:
    services = open_services(empi_settings)
    try:
        _queue(services)

        def corrupt(conn: sa.Connection) -> None:  # a stored Patient that no longer parses (a damaged row)
            conn.execute(
                resource.insert().values(
                    res_type="Patient",
                    res_id="b-bad",
                    version_id=1,
                    last_updated=datetime.now(UTC),
                    deleted=False,
                    content="{not json",
                )
            )
            conn.execute(empi_pending.insert().values(patient_id="b-bad", queued_at=datetime.now(UTC), attempts=0))

        services.db.write(corrupt)
        assert pending.process_pending(services.empi, batch=100) == 3  # the three good ones, one by one
        persons = _persons(services)
        assert persons["b-1"] == persons["b-2"] != persons["b-3"] and "b-bad" not in persons
        with services.db.read() as conn:
            failed = conn.execute(sa.select(empi_pending)).all()
        assert [(r.patient_id, r.attempts) for r in failed] == [("b-bad", 1)]
        assert failed[0].last_error
    finally:
        services.close()
