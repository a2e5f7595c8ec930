"""``fhir.client_sources``: a system client's writes through the FHIR API name it in ``meta.source`` (where they name
no source themselves), so the data-quality scorecard counts them per source system, as it does the HL7 feeds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from huitong.app import create_app
from tests.conftest import API_TOKEN, make_settings

EMR_TOKEN = "emr-token-0123456789abcdef"


@pytest.fixture
def app(db_url: str) -> Iterator[TestClient]:
    settings = make_settings(
        db_url,
        security={"secret_key": "x" * 48, "api_tokens": {"tests": API_TOKEN, "emr": EMR_TOKEN}},
        fhir={"client_sources": {"system:emr": "EMR"}},
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _source(client: TestClient, path: str) -> str | None:
    meta = client.get(f"/fhir/{path}", headers={"Authorization": f"Bearer {API_TOKEN}"}).json().get("meta", {})
    return meta.get("source")


def test_the_emrs_writes_name_it_and_other_clients_are_left_alone(app: TestClient) -> None:
    emr = {"Authorization": f"Bearer {EMR_TOKEN}", "Content-Type": "application/fhir+json"}
    created = app.post("/fhir/Patient", json={"resourceType": "Patient", "gender": "female"}, headers=emr)
    assert created.status_code == 201
    assert _source(app, created.headers["Location"].split("/fhir/")[1].split("/_history")[0]) == "EMR"

    own = {"resourceType": "Patient", "id": "own-source", "meta": {"source": "http://emr.example/ward-7"}}
    assert app.put("/fhir/Patient/own-source", json=own, headers=emr).status_code == 201
    assert _source(app, "Patient/own-source") == "http://emr.example/ward-7"  # a source of its own is kept

    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "id": "tx-1"},
                "request": {"method": "PUT", "url": "Patient/tx-1"},
            },
            {
                "resource": {"resourceType": "Practitioner", "id": "dr-1"},  # shared directory: never stamped
                "request": {"method": "PUT", "url": "Practitioner/dr-1"},
            },
        ],
    }
    assert app.post("/fhir", json=bundle, headers=emr).status_code == 200
    assert _source(app, "Patient/tx-1") == "EMR"
    assert _source(app, "Practitioner/dr-1") is None

    other = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/fhir+json"}
    assert app.put("/fhir/Patient/other", json={"resourceType": "Patient", "id": "other"}, headers=other).is_success
    assert _source(app, "Patient/other") is None  # a client the setting does not name
