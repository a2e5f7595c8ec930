"""$everything, $validate, $meta and the capability statement, through the real app on both backends."""

from __future__ import annotations

from starlette.testclient import TestClient


def _create(client: TestClient, body: dict[str, object]) -> str:
    response = client.post(f"/fhir/{body['resourceType']}", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_everything_returns_the_compartment_and_what_it_references(client: TestClient) -> None:
    org = _create(client, {"resourceType": "Organization", "name": "Ward 3"})
    pid = _create(client, {"resourceType": "Patient", "managingOrganization": {"reference": f"Organization/{org}"}})
    other = _create(client, {"resourceType": "Patient"})
    enc = _create(
        client,
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"code": "IMP"},
            "subject": {"reference": f"Patient/{pid}"},
        },
    )
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "体温"},
        "subject": {"reference": f"Patient/{pid}"},
        "encounter": {"reference": f"Encounter/{enc}"},
    }
    obs_id = _create(client, obs)
    _create(client, {**obs, "subject": {"reference": f"Patient/{other}"}})
    bundle = client.get(f"/fhir/Patient/{pid}/$everything").json()
    found = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]}
    assert found == {("Patient", pid), ("Organization", org), ("Encounter", enc), ("Observation", obs_id)}
    assert bundle["entry"][0]["resource"]["id"] == pid and bundle["total"] == 4
    only = client.get(f"/fhir/Patient/{pid}/$everything", params={"_type": "Observation"}).json()
    assert {e["resource"]["resourceType"] for e in only["entry"]} == {"Patient", "Observation"}
    assert client.get("/fhir/Patient/nobody/$everything").status_code == 404


def test_validate_reports_without_storing(client: TestClient) -> None:
    good = client.post("/fhir/Patient/$validate", json={"resourceType": "Patient", "gender": "female"}).json()
    assert good["resourceType"] == "OperationOutcome"
    assert all(i["severity"] in ("information", "warning") for i in good["issue"])
    bad = client.post("/fhir/Patient/$validate", json={"resourceType": "Patient", "gender": 7}).json()
    assert any(i["severity"] == "error" for i in bad["issue"])
    params = {
        "resourceType": "Parameters",
        "parameter": [{"name": "resource", "resource": {"resourceType": "Patient"}}],
    }
    assert client.post("/fhir/Patient/$validate", json=params).status_code == 200
    assert client.get("/fhir/Patient", params={"_summary": "count"}).json()["total"] == 0
    pid = _create(client, {"resourceType": "Patient"})
    assert client.get(f"/fhir/Patient/{pid}/$validate").json()["issue"][-1]["severity"] == "information"


def test_meta_lists_tags_and_profiles_in_use(client: TestClient) -> None:
    meta = {"tag": [{"system": "urn:t", "code": "a"}], "profile": ["http://example.org/p"]}
    pid = _create(client, {"resourceType": "Patient", "meta": meta})
    _create(
        client,
        {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "meta": {"tag": [{"code": "b"}]}},
    )
    patient_meta = client.get(f"/fhir/Patient/{pid}/$meta").json()["parameter"][0]["valueMeta"]
    assert patient_meta == {"profile": ["http://example.org/p"], "tag": [{"system": "urn:t", "code": "a"}]}
    system = client.get("/fhir/$meta").json()["parameter"][0]["valueMeta"]
    assert {t["code"] for t in system["tag"]} == {"a", "b"}
    assert client.get("/fhir/Observation/$meta").json()["parameter"][0]["valueMeta"] == {"tag": [{"code": "b"}]}


def test_capability_statement_lists_search_parameters_and_operations(client: TestClient) -> None:
    cap = client.get("/fhir/metadata").json()
    rest = cap["rest"][0]
    assert {i["code"] for i in rest["interaction"]} >= {"transaction", "batch"}
    observation = next(r for r in rest["resource"] if r["type"] == "Observation")
    params = {p["name"]: p["type"] for p in observation["searchParam"]}
    assert params["code"] == "token" and params["subject"] == "reference" and params["value-quantity"] == "quantity"
    assert params["_lastUpdated"] == "date" and params["code-value-quantity"] == "composite"
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    assert {"everything", "validate", "meta"} <= {o["name"] for o in patient["operation"]}
