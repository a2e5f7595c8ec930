"""The FHIR REST API through the real app (in-process), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.settings import Settings
from tests.conftest import make_settings

PATIENT = {
    "resourceType": "Patient",
    "name": [{"family": "陈", "given": ["静"]}],
    "gender": "female",
    "birthDate": "2015-09-09",
}


def outcome(response: Any) -> dict[str, Any]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    assert response.headers["content-type"].startswith("application/fhir+json")
    return body  # type: ignore[no-any-return]


def test_metadata_states_what_is_supported(client: TestClient) -> None:
    response = client.get("/fhir/metadata", headers={"Authorization": ""})
    assert response.status_code == 200
    cap = response.json()
    assert cap["resourceType"] == "CapabilityStatement" and cap["fhirVersion"] == "4.0.1"
    patient = next(r for r in cap["rest"][0]["resource"] if r["type"] == "Patient")
    assert {i["code"] for i in patient["interaction"]} == {
        "read",
        "vread",
        "update",
        "delete",
        "history-instance",
        "history-type",
        "create",
        "search-type",
    }


def test_create_read_vread_update_history(client: TestClient) -> None:
    created = client.post("/fhir/Patient", json=PATIENT, headers={"Content-Type": "application/fhir+json"})
    assert created.status_code == 201
    body = created.json()
    rid = body["id"]
    assert created.headers["etag"] == 'W/"1"'
    assert created.headers["location"].endswith(f"/fhir/Patient/{rid}/_history/1")
    assert created.headers["x-request-id"] and created.headers["x-content-type-options"] == "nosniff"
    read = client.get(f"/fhir/Patient/{rid}")
    assert read.status_code == 200 and read.json() == body and read.headers["etag"] == 'W/"1"'
    assert client.get(f"/fhir/Patient/{rid}", headers={"If-None-Match": 'W/"1"'}).status_code == 304
    updated = client.put(
        f"/fhir/Patient/{rid}", json={**PATIENT, "id": rid, "gender": "other"}, headers={"If-Match": 'W/"1"'}
    )
    assert updated.status_code == 200 and updated.json()["meta"]["versionId"] == "2"
    stale = client.put(f"/fhir/Patient/{rid}", json={**PATIENT, "id": rid}, headers={"If-Match": 'W/"1"'})
    assert stale.status_code == 412 and outcome(stale)["issue"][0]["code"] == "conflict"
    assert client.get(f"/fhir/Patient/{rid}/_history/1").json()["gender"] == "female"
    history = client.get(f"/fhir/Patient/{rid}/_history").json()
    assert history["type"] == "history" and history["total"] == 2
    assert [e["response"]["etag"] for e in history["entry"]] == ['W/"2"', 'W/"1"']
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "POST"]
    type_history = client.get("/fhir/Patient/_history").json()
    assert type_history["entry"][0]["resource"]["id"] == rid


def test_history_paging_links(client: TestClient) -> None:
    for i in range(5):
        client.put(f"/fhir/Patient/page{i}", json={**PATIENT, "id": f"page{i}"})
    first = client.get("/fhir/Patient/_history", params={"_count": 2}).json()
    assert len(first["entry"]) == 2
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "next" in links and "previous" not in links
    second = client.get(links["next"]).json()
    assert len(second["entry"]) == 2
    assert {e["resource"]["id"] for e in first["entry"]}.isdisjoint({e["resource"]["id"] for e in second["entry"]})
    assert client.get("/fhir/Patient/_history", params={"_count": "x"}).status_code == 400
    assert client.get("/fhir/Patient/_history", params={"_since": "yesterday"}).status_code == 400
    assert client.get("/fhir/Patient/_history", params={"foo": "1"}).status_code == 400
    assert client.get("/fhir/_history").json()["type"] == "history"


def test_put_creates_with_client_id_and_prefer_minimal(client: TestClient) -> None:
    response = client.put("/fhir/Patient/abc", json={**PATIENT, "id": "abc"}, headers={"Prefer": "return=minimal"})
    assert response.status_code == 201 and response.content == b"" and response.headers["etag"] == 'W/"1"'
    missing_id = client.put("/fhir/Patient/abc", json=PATIENT)
    assert missing_id.status_code == 400 and "id" in outcome(missing_id)["issue"][0]["diagnostics"]


def test_delete_then_read_is_gone(client: TestClient) -> None:
    rid = client.post("/fhir/Patient", json=PATIENT).json()["id"]
    deleted = client.delete(f"/fhir/Patient/{rid}")
    assert deleted.status_code == 200 and deleted.headers["etag"] == 'W/"2"'
    gone = client.get(f"/fhir/Patient/{rid}")
    assert gone.status_code == 410 and outcome(gone)["issue"][0]["code"] == "deleted"
    assert client.delete("/fhir/Patient/never-was").status_code == 200


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/fhir/Patient/does-not-exist", 404, "not-found"),
        ("/fhir/Unicorn/1", 404, "not-found"),
        ("/fhir/Patient/x/_history/abc", 404, "not-found"),
        ("/fhir/Patient/x/_history/9", 404, "not-found"),
        ("/fhir/Patient/x/y/z/w", 404, "not-found"),
    ],
)
def test_errors_are_operation_outcomes(client: TestClient, path: str, status: int, code: str) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert outcome(response)["issue"][0]["code"] == code


def test_bad_bodies_get_clear_errors(client: TestClient) -> None:
    bad_json = client.post(
        "/fhir/Patient", content=b'{"resourceType": "Patient",', headers={"Content-Type": "application/fhir+json"}
    )
    assert bad_json.status_code == 400 and "not valid JSON" in outcome(bad_json)["issue"][0]["diagnostics"]
    wrong_type = client.post("/fhir/Patient", json={"resourceType": "Observation"})
    assert wrong_type.status_code == 422
    invalid = client.post("/fhir/Patient", json={**PATIENT, "birthDate": "2015-13-45", "colour": "blue"})
    assert invalid.status_code == 422
    issues = outcome(invalid)["issue"]
    assert {i["expression"][0] for i in issues} == {"Patient.birthDate", "Patient.colour"}
    xml = client.post("/fhir/Patient", content=b"<Patient/>", headers={"Content-Type": "application/fhir+xml"})
    assert xml.status_code == 415
    assert client.get("/fhir/metadata", params={"_format": "xml"}).status_code == 406
    empty = client.post("/fhir/Patient", content=b"", headers={"Content-Type": "application/fhir+json"})
    assert empty.status_code == 400
    array = client.post("/fhir/Patient", json=[PATIENT])
    assert array.status_code == 400
    assert client.get("/fhir/Patient/_history").json().get("entry") == []


def test_decimal_precision_survives_http(client: TestClient) -> None:
    raw = b'{"resourceType":"Observation","status":"final","code":{"text":"K"},"valueQuantity":{"value":4.50}}'
    created = client.post("/fhir/Observation", content=raw, headers={"Content-Type": "application/fhir+json"})
    assert created.status_code == 201
    assert b'"value":4.50' in client.get(f"/fhir/Observation/{created.json()['id']}").content


def test_credentials_are_required(settings: Settings) -> None:
    with TestClient(create_app(settings)) as anonymous:
        response = anonymous.get("/fhir/Patient/x")
        assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
        assert anonymous.get("/fhir/Patient/x", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert anonymous.get("/fhir/metadata").status_code == 200
        assert anonymous.get("/healthz").status_code == 200


def test_anonymous_development_access(db_url: str) -> None:
    settings = make_settings(db_url, env="development", security={"allow_anonymous": True})
    with TestClient(create_app(settings)) as anonymous:
        created = anonymous.post("/fhir/Patient", json=PATIENT)
        assert created.status_code == 201


def test_oversized_bodies_are_refused(db_url: str) -> None:
    settings = make_settings(db_url, http={"max_body_bytes": 2048})
    with TestClient(create_app(settings), headers={"Authorization": "Bearer test-token-0123456789abcdef"}) as c:
        big = {**PATIENT, "text": {"status": "generated", "div": "<div>" + "x" * 5000 + "</div>"}}
        response = c.post("/fhir/Patient", content=orjson.dumps(big), headers={"Content-Type": "application/json"})
        assert response.status_code == 413 and outcome(response)["issue"][0]["code"] == "too-costly"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert set(ready.json()["checks"]) == {"database", "schema", "writer"}


def test_home_page_in_both_languages(client: TestClient) -> None:
    client.post("/fhir/Patient", json=PATIENT)
    zh = client.get("/")
    assert zh.status_code == 200 and "汇通" in zh.text and "Patient" in zh.text
    assert "What is stored" in client.get("/?lang=en").text
