"""Search, batch and transaction bundles through the real app (in-process), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


def _transaction(*entries: dict[str, Any], kind: str = "transaction") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


PATIENT_ENTRY = {
    "fullUrl": "urn:uuid:0d1f6a52-5d0e-4c4a-9d57-000000000001",
    "resource": {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:mrn", "value": "MRN-1"}],
        "name": [{"family": "陈", "given": ["静"]}],
        "birthDate": "2015-09-09",
    },
    "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:mrn|MRN-1"},
}
OBS_ENTRY = {
    "fullUrl": "urn:uuid:0d1f6a52-5d0e-4c4a-9d57-000000000002",
    "resource": {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
        "subject": {"reference": "urn:uuid:0d1f6a52-5d0e-4c4a-9d57-000000000001"},
        "valueQuantity": {"value": 120.5, "unit": "cm", "system": "http://unitsofmeasure.org", "code": "cm"},
        "effectiveDateTime": "2024-01-02",
    },
    "request": {"method": "POST", "url": "Observation"},
}


def test_transaction_rewrites_urn_uuid_references_and_search_finds_them(client: TestClient) -> None:
    response = client.post("/fhir", json=_transaction(PATIENT_ENTRY, OBS_ENTRY))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "transaction-response"
    assert [e["response"]["status"] for e in body["entry"]] == ["201 Created", "201 Created"]
    patient_id = body["entry"][0]["resource"]["id"]
    assert body["entry"][1]["resource"]["subject"]["reference"] == f"Patient/{patient_id}"

    found = client.get("/fhir/Observation", params={"subject:Patient.identifier": "urn:mrn|MRN-1"}).json()
    assert found["type"] == "searchset" and found["total"] == 1
    assert found["entry"][0]["search"]["mode"] == "match"
    again = client.post("/fhir", json=_transaction(PATIENT_ENTRY)).json()
    assert again["entry"][0]["response"]["status"] == "200 OK"  # conditional create found the patient
    assert again["entry"][0]["resource"]["id"] == patient_id
    posted = client.post(
        "/fhir/Patient/_search",
        content="name=chen&_revinclude=Observation:subject",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ).json()
    assert [e["search"]["mode"] for e in posted["entry"]] == ["match", "include"]


def test_transaction_is_all_or_nothing(client: TestClient) -> None:
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    bad = {"request": {"method": "PUT", "url": "Patient/x1"}, "resource": observation}
    response = client.post("/fhir", json=_transaction(PATIENT_ENTRY, bad))
    assert response.status_code in (400, 422)
    assert "entry 1" in response.json()["issue"][0]["diagnostics"]
    assert client.get("/fhir/Patient", params={"identifier": "urn:mrn|MRN-1"}).json()["total"] == 0


def test_plain_writes_of_a_transaction_go_in_together_with_the_outcome_of_one_by_one(client: TestClient) -> None:
    def obs(n: int) -> dict[str, Any]:
        return {
            "fullUrl": f"urn:uuid:0d1f6a52-5d0e-4c4a-9d57-1000000000{n:02d}",
            "resource": {**OBS_ENTRY["resource"], "valueQuantity": {"value": n, "unit": "cm"}},  # type: ignore[dict-item]
            "request": {"method": "POST", "url": "Observation"},
        }

    plain_patient = {**PATIENT_ENTRY, "request": {"method": "POST", "url": "Patient"}}
    put = {"resource": {"resourceType": "Patient", "id": "tx-put", "gender": "female"}}
    put_again = {"resource": {"resourceType": "Patient", "id": "tx-put", "gender": "male"}}
    entries = [
        {**put, "request": {"method": "PUT", "url": "Patient/tx-put"}},
        plain_patient,
        *[obs(n) for n in range(5)],
        {**put_again, "request": {"method": "PUT", "url": "Patient/tx-put"}},  # the same resource twice: in turn
    ]
    response = client.post("/fhir", json=_transaction(*entries))
    assert response.status_code == 200, response.text
    body = response.json()["entry"]
    assert [e["response"]["status"] for e in body] == ["201 Created"] * 7 + ["200 OK"]
    patient_id = body[1]["resource"]["id"]
    assert all(e["resource"]["subject"]["reference"] == f"Patient/{patient_id}" for e in body[2:7])
    assert [e["resource"]["valueQuantity"]["value"] for e in body[2:7]] == [0, 1, 2, 3, 4]
    assert body[0]["resource"]["meta"]["versionId"] == "1" and body[7]["resource"]["meta"]["versionId"] == "2"
    assert client.get("/fhir/Patient/tx-put").json()["gender"] == "male"
    found = client.get("/fhir/Observation", params={"subject": f"Patient/{patient_id}", "_total": "accurate"})
    assert found.json()["total"] == 5


def test_a_refused_write_among_plain_ones_rolls_back_the_transaction_and_names_its_entry(
    client: TestClient,
) -> None:
    bad_id = {
        "resource": {"resourceType": "Patient", "id": "bad id!"},
        "request": {"method": "PUT", "url": "Patient/bad id!"},
    }
    good = {"resource": {"resourceType": "Patient", "id": "good"}, "request": {"method": "PUT", "url": "Patient/good"}}
    response = client.post("/fhir", json=_transaction(good, bad_id))
    assert response.status_code == 422, response.text
    assert response.json()["issue"][0]["diagnostics"].startswith("entry 1: id must be")
    assert client.get("/fhir/Patient/good").status_code == 404


def test_conditional_update_and_delete_in_a_batch(client: TestClient) -> None:
    client.post("/fhir", json=_transaction(PATIENT_ENTRY))
    update = {
        "request": {"method": "PUT", "url": "Patient?identifier=urn:mrn|MRN-1"},
        "resource": {**PATIENT_ENTRY["resource"], "gender": "female"},  # type: ignore[dict-item]
    }
    missing = {"request": {"method": "GET", "url": "Patient/nope"}}
    body = client.post("/fhir", json=_transaction(update, missing, kind="batch")).json()
    assert body["type"] == "batch-response"
    assert body["entry"][0]["response"]["status"] == "200 OK"
    assert body["entry"][0]["resource"]["meta"]["versionId"] == "2"
    assert body["entry"][1]["response"]["status"].startswith("404")
    assert client.get("/fhir/Patient", params={"gender": "female"}).json()["total"] == 1
    delete = {"request": {"method": "DELETE", "url": "Patient?identifier=urn:mrn|MRN-1"}}
    assert client.post("/fhir", json=_transaction(delete)).status_code == 200
    assert client.get("/fhir/Patient", params={"gender": "female"}).json()["total"] == 0


def test_unknown_parameters_are_errors_unless_lenient(client: TestClient) -> None:
    strict = client.get("/fhir/Patient", params={"shoe-size": "42"})
    assert strict.status_code == 400 and strict.json()["resourceType"] == "OperationOutcome"
    lenient = client.get("/fhir/Patient", params={"shoe-size": "42"}, headers={"Prefer": "handling=lenient"})
    assert lenient.status_code == 200
    assert "shoe-size" not in lenient.json()["link"][0]["url"]
    assert client.get("/fhir/NoSuchType").status_code == 404
    assert client.get("/fhir/metadata").json()["resourceType"] == "CapabilityStatement"


def test_paging_links_summary_and_elements(client: TestClient) -> None:
    for i in range(5):
        client.post(
            "/fhir/Patient", json={"resourceType": "Patient", "name": [{"family": f"Page{i}"}], "gender": "male"}
        )
    first = client.get("/fhir/Patient", params={"_count": "2", "_sort": "family", "_total": "accurate"}).json()
    assert first["total"] == 5 and len(first["entry"]) == 2
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "next" in links and "previous" not in links
    second = client.get(links["next"]).json()
    assert [e["resource"]["name"][0]["family"] for e in second["entry"]] == ["Page2", "Page3"]
    assert "previous" in {link["relation"] for link in second["link"]}
    summary = client.get("/fhir/Patient", params={"_summary": "count"}).json()
    assert summary["total"] == 5 and "entry" not in summary
    elements = client.get("/fhir/Patient", params={"_elements": "gender", "_count": "1"}).json()
    resource = elements["entry"][0]["resource"]
    assert set(resource) == {"resourceType", "id", "meta", "gender"}
    assert any(t["code"] == "SUBSETTED" for t in resource["meta"]["tag"])
