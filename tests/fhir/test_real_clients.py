"""Real FHIR clients — fhirpy and SMART's fhirclient — against a real uvicorn server on a loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from huitong.app import create_app
from huitong.settings import Settings
from tests.conftest import API_TOKEN, AUTH


@pytest.fixture
def live_url(settings: Settings) -> Iterator[str]:
    """The FHIR base URL of the app served by uvicorn on a free loopback port (torn down after the test)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/fhir"
    server.should_exit = True
    thread.join(timeout=15)
    sock.close()


def test_fhirpy_crud_and_search(live_url: str) -> None:
    from fhirpy import SyncFHIRClient

    client = SyncFHIRClient(live_url, authorization=f"Bearer {API_TOKEN}")
    patient = client.resource(
        "Patient", name=[{"family": "王", "given": ["小明"]}], gender="male", birthDate="1990-01-02"
    )
    patient.save()
    assert patient.id
    obs = client.resource(
        "Observation",
        status="final",
        code={"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        subject=patient.to_reference(),
        valueQuantity={"value": 72, "unit": "/min"},
    )
    obs.save()
    found = client.resources("Patient").search(name="wang").fetch()
    assert [p.id for p in found] == [patient.id]
    assert len(client.resources("Observation").search(subject=f"Patient/{patient.id}", code="8867-4").fetch()) == 1
    chained = client.resources("Observation").search(**{"subject:Patient.birthdate": "1990"}).fetch()
    assert [o.id for o in chained] == [obs.id]
    patient["gender"] = "other"
    patient.save()
    assert client.reference("Patient", patient.id).to_resource()["gender"] == "other"
    assert client.resources("Patient").search(gender="other").get().id == patient.id
    obs.delete()
    assert client.resources("Observation").fetch() == []


def test_fhirclient_reads_and_searches(live_url: str) -> None:
    from fhirclient import client
    from fhirclient.models.humanname import HumanName
    from fhirclient.models.patient import Patient

    smart = client.FHIRClient(settings={"app_id": "huitong-tests", "api_base": live_url + "/"})
    smart.server.session.headers.update(AUTH)
    patient = Patient()
    name = HumanName()
    name.family = "Zhao"
    name.given = ["Lei"]
    patient.name = [name]
    patient.gender = "female"
    created = patient.create(smart.server)
    assert created is not None and created["resourceType"] == "Patient"
    read = Patient.read(created["id"], smart.server)
    assert read.name[0].family == "Zhao"
    matches = list(Patient.where(struct={"family": "zhao"}).perform_resources_iter(smart.server))
    assert [p.id for p in matches] == [created["id"]]
