"""The EMPI through the FHIR HTTP API — ``Patient/$match``, search by person, ``$everything`` across a person —
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.empi import SourceRecord
from huitong.security.actor import Actor
from huitong.services import open_services
from huitong.settings import Settings
from tests.conftest import AUTH, make_settings

GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
ID_NUMBER = "110101198001020032"


def _patient(pid: str, name: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "name": [name], "gender": "male", "birthDate": "1980-01-02", **extra}


SOURCES = {
    "his-1": (
        "HIS",
        _patient(
            "his-1",
            {"family": "张", "given": ["伟华"]},
            identifier=[{"system": "urn:huitong:sid:cn-resident-id", "value": ID_NUMBER}],
            telecom=[{"system": "phone", "value": "13800138000", "use": "mobile"}],
        ),
    ),
    "lis-1": ("LIS", _patient("lis-1", {"text": "張偉華"}, telecom=[{"system": "phone", "value": "13800138000"}])),
    "other-1": ("HIS", _patient("other-1", {"family": "李", "given": ["娜"]}, birthDate="1990-05-06")),
}


@pytest.fixture
def empi_settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, empi={"model_path": str(tmp_path / "absent-model.json")})


@pytest.fixture
def linked(empi_settings: Settings) -> dict[str, str]:
    """Source Patients of two persons, each with an Observation, linked by the EMPI; returns patient → person."""
    services = open_services(empi_settings)
    actor = Actor.system("tests")
    persons: dict[str, str] = {}
    try:
        for pid, (system, body) in SOURCES.items():
            observation = {
                "resourceType": "Observation",
                "id": f"obs-{pid}",
                "status": "final",
                "code": {"text": "glucose"},
                "subject": {"reference": f"Patient/{pid}"},
            }
            services.store.transaction(
                actor, lambda tx, b=body, o=observation: [tx.update(b, b["id"]), tx.update(o, o["id"])]
            )  # type: ignore[misc]
            record = SourceRecord(
                pid,
                system,
                name=(body["name"][0].get("text") or body["name"][0]["family"] + "".join(body["name"][0]["given"])),
                gender="M",
                birth_date=body["birthDate"],
                id_number=body.get("identifier", [{}])[0].get("value"),
                phone=(body.get("telecom") or [{}])[0].get("value"),
            )
            persons[pid] = services.empi.link(actor, record, patient_id=pid).person_id
    finally:
        services.close()
    assert persons["his-1"] == persons["lis-1"] != persons["other-1"]
    return persons


@pytest.fixture
def api(empi_settings: Settings, linked: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(empi_settings), headers=AUTH) as client:
        yield client


def _match(api: TestClient, patient: dict[str, Any], **params: Any) -> Any:
    parameter: list[dict[str, Any]] = [{"name": "resource", "resource": patient}]
    if "only_certain" in params:
        parameter.append({"name": "onlyCertainMatches", "valueBoolean": params["only_certain"]})
    if "count" in params:
        parameter.append({"name": "count", "valueInteger": params["count"]})
    return api.post("/fhir/Patient/$match", json={"resourceType": "Parameters", "parameter": parameter})


def test_match_returns_graded_golden_patients(api: TestClient, linked: dict[str, str]) -> None:
    query = _patient(
        "q",
        {"family": "张", "given": ["伟华"]},
        identifier=[{"system": "urn:huitong:sid:cn-resident-id", "value": ID_NUMBER}],
    )
    del query["id"]
    answer = _match(api, query)
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    first = bundle["entry"][0]
    assert first["resource"]["id"] == linked["his-1"]
    assert first["search"]["mode"] == "match" and first["search"]["score"] > 0.99
    assert first["search"]["extension"] == [{"url": GRADE, "valueCode": "certain"}]
    assert {"his-1", "lis-1"} <= {link["other"]["reference"].split("/")[1] for link in first["resource"]["link"]}
    certain = _match(api, query, only_certain=True, count=1).json()
    assert [e["resource"]["id"] for e in certain["entry"]] == [linked["his-1"]]
    # a Patient that is nobody known: an empty searchset (or only weak, possible grades)
    nobody = _match(api, _patient("x", {"family": "欧阳", "given": ["修"]}, birthDate="1950-03-04")).json()
    assert all(
        e["search"]["extension"][0]["valueCode"] in ("possible", "certainly-not") for e in nobody.get("entry", [])
    )


def test_match_refuses_bad_input_with_an_operation_outcome(api: TestClient) -> None:
    cases = [
        {"resourceType": "Parameters", "parameter": []},
        {
            "resourceType": "Parameters",
            "parameter": [{"name": "resource", "resource": {"resourceType": "Observation"}}],
        },
        {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {"resourceType": "Patient"}}]},
        {"resourceType": "Parameters", "parameter": [{"name": "count", "valueInteger": 0}]},
        {"resourceType": "Parameters", "parameter": [{"name": "onlyCertainMatches", "valueString": "yes"}]},
        {"resourceType": "Parameters", "parameter": [{"name": "threshold", "valueDecimal": 0.5}]},
        {"resourceType": "Observation", "status": "final"},
        {"resourceType": "Parameters", "parameter": "resource"},
        {
            "resourceType": "Parameters",
            "parameter": [{"name": "resource", "resource": {"resourceType": "Patient", "name": "张三"}}],
        },
    ]
    for body in cases:
        answer = api.post("/fhir/Patient/$match", json=body)
        assert answer.status_code in (400, 422), (body, answer.text)
        outcome = answer.json()
        assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["diagnostics"], body
    assert (
        api.post(
            "/fhir/Patient/$match", content=b"{not json", headers={"content-type": "application/fhir+json"}
        ).status_code
        == 400
    )


def test_capability_statement_lists_match(api: TestClient) -> None:
    statement = api.get("/fhir/metadata").json()
    [patient] = [r for r in statement["rest"][0]["resource"] if r["type"] == "Patient"]
    assert {"name": "match", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-match"} in patient[
        "operation"
    ]


def test_search_by_person_returns_every_linked_record(api: TestClient, linked: dict[str, str]) -> None:
    person = linked["his-1"]
    # the person of a source record
    found = api.get("/fhir/Patient", params={"link": "Patient/lis-1"}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [person]
    # every source record of the person: the golden Patient with its links included
    found = api.get("/fhir/Patient", params={"_id": person, "_include": "Patient:link"}).json()
    modes = {e["resource"]["id"]: e["search"]["mode"] for e in found["entry"]}
    assert modes == {person: "match", "his-1": "include", "lis-1": "include"}


def test_everything_on_a_golden_patient_spans_the_person(api: TestClient, linked: dict[str, str]) -> None:
    person = linked["his-1"]
    answer = api.get(f"/fhir/Patient/{person}/$everything")
    assert answer.status_code == 200, answer.text
    ids = [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in answer.json()["entry"]]
    assert ids[0] == f"Patient/{person}"
    assert set(ids) == {
        f"Patient/{person}",
        "Patient/his-1",
        "Patient/lis-1",
        "Observation/obs-his-1",
        "Observation/obs-lis-1",
    }
    # a source record's $everything stays that record's (plus the golden Patient that links to it)
    single = api.get("/fhir/Patient/his-1/$everything").json()
    single_ids = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in single["entry"]}
    assert "Observation/obs-lis-1" not in single_ids and "Observation/obs-his-1" in single_ids
