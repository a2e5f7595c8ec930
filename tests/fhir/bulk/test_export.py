"""$export (Bulk Data): kick-off, status, manifest, NDJSON files; system, Patient and Group level."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from huitong.app import create_app
from tests.conftest import AUTH, make_settings

ASYNC = {"Prefer": "respond-async"}


@pytest.fixture
def export_client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(db_url, fhir={"export_dir": str(tmp_path / "export")})
    with TestClient(create_app(settings), headers=AUTH) as client:
        yield client


def _create(client: TestClient, body: dict[str, object]) -> str:
    response = client.post(f"/fhir/{body['resourceType']}", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _wait(client: TestClient, status_url: str) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while True:
        response = client.get(status_url)
        if response.status_code != 202:
            assert response.status_code == 200, response.text
            return response.json()  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, "export did not finish"
        time.sleep(0.05)


def _download(client: TestClient, manifest: dict[str, object]) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for item in manifest["output"]:  # type: ignore[attr-defined]
        response = client.get(item["url"])
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/fhir+ndjson")
        out[item["type"]] = [orjson.loads(line) for line in response.content.splitlines()]
        assert len(out[item["type"]]) == item["count"]
    return out


def test_system_patient_and_group_export(export_client: TestClient) -> None:
    client = export_client
    p1 = _create(client, {"resourceType": "Patient", "gender": "male"})
    p2 = _create(client, {"resourceType": "Patient", "gender": "female"})
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    o1 = _create(client, {**obs, "subject": {"reference": f"Patient/{p1}"}})
    _create(client, {**obs, "subject": {"reference": f"Patient/{p2}"}})
    _create(client, {"resourceType": "Organization", "name": "Ward"})
    group = _create(
        client,
        {
            "resourceType": "Group",
            "type": "person",
            "actual": True,
            "member": [{"entity": {"reference": f"Patient/{p1}"}}],
        },
    )

    assert client.get("/fhir/$export").status_code == 400  # must be asynchronous
    kick = client.get("/fhir/$export", headers=ASYNC)
    assert kick.status_code == 202
    system = _download(client, _wait(client, kick.headers["content-location"]))
    assert {k: len(v) for k, v in system.items()} == {"Group": 1, "Observation": 2, "Organization": 1, "Patient": 2}

    kick = client.get("/fhir/Patient/$export", headers=ASYNC, params={"_type": "Patient,Observation"})
    patients = _download(client, _wait(client, kick.headers["content-location"]))
    assert set(patients) == {"Patient", "Observation"} and len(patients["Observation"]) == 2

    kick = client.get(f"/fhir/Group/{group}/$export", headers=ASYNC)
    status_url = kick.headers["content-location"]
    members = _download(client, _wait(client, status_url))
    assert [r["id"] for r in members["Patient"]] == [p1] and [r["id"] for r in members["Observation"]] == [o1]
    assert client.delete(status_url).status_code == 202
    assert client.get(status_url).status_code == 404
    assert client.get("/fhir/$export", headers=ASYNC, params={"_type": "Nonsense"}).status_code == 400
