"""``Patient/$everything`` reads the cold tier: archive a patient's old data, then ask for the whole record.

Runs through the real app on SQLite and PostgreSQL; the archive is the real one (Parquet files).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.ops.archive import archive_old, read_archived
from huitong.services import Services, open_services
from huitong.settings import Settings
from tests.conftest import AUTH, make_settings


@pytest.fixture
def archive_settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, archive={"directory": str(tmp_path / "archive")})


@pytest.fixture
def opened(archive_settings: Settings) -> Iterator[tuple[TestClient, Services]]:
    services = open_services(archive_settings)
    try:
        with TestClient(create_app(archive_settings, services=services), headers=AUTH) as client:
            yield client, services
    finally:
        services.close()


def _create(client: TestClient, body: dict[str, Any]) -> str:
    response = client.post(f"/fhir/{body['resourceType']}", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _everything(client: TestClient, pid: str, **params: str) -> set[tuple[str, str]]:
    response = client.get(f"/fhir/Patient/{pid}/$everything", params=params)
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["total"] == len(bundle.get("entry", []))
    return {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle.get("entry", [])}


def _observation(pid: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": text},
        "subject": {"reference": f"Patient/{pid}"},
        **extra,
    }


def test_everything_returns_archived_resources(opened: tuple[TestClient, Services], archive_settings: Settings) -> None:
    client, services = opened
    practitioner = _create(client, {"resourceType": "Practitioner", "name": [{"family": "王"}]})
    pid = _create(client, {"resourceType": "Patient", "name": [{"family": "李"}]})
    old_enc = _create(
        client,
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"code": "IMP"},
            "subject": {"reference": f"Patient/{pid}"},
        },
    )
    old_obs = _create(
        client,
        _observation(
            pid,
            "体温",
            encounter={"reference": f"Encounter/{old_enc}"},
            performer=[{"reference": f"Practitioner/{practitioner}"}],
        ),
    )
    other = _create(client, {"resourceType": "Patient", "name": [{"family": "赵"}]})
    _create(client, _observation(other, "体温"))
    time.sleep(0.02)
    cutoff = datetime.now(UTC)
    time.sleep(0.02)
    new_obs = _create(client, _observation(pid, "脉搏"))
    # The patient is touched after the cut-off: it stays live, its old encounter and observation go cold.
    patient = client.get(f"/fhir/Patient/{pid}").json()
    assert client.put(f"/fhir/Patient/{pid}", json={**patient, "active": True}).status_code == 200
    client.put(f"/fhir/Practitioner/{practitioner}", json={"resourceType": "Practitioner", "id": practitioner})

    run = archive_old(services.store, Path(archive_settings.archive.directory), cutoff)
    assert run.resources >= 3  # the old encounter, the old observation, the other patient and theirs
    assert client.get(f"/fhir/Observation/{old_obs}").status_code == 404
    assert client.get("/fhir/Observation", params={"subject": pid}).json()["total"] == 1  # search: live only

    found = _everything(client, pid)
    assert found == {
        ("Patient", pid),
        ("Observation", new_obs),
        ("Observation", old_obs),  # from the archive
        ("Encounter", old_enc),  # from the archive
        ("Practitioner", practitioner),  # live, referenced only by the archived observation
    }
    assert _everything(client, pid, _type="Encounter") == {("Patient", pid), ("Encounter", old_enc)}
    assert ("Observation", old_obs) not in _everything(client, pid, _since=cutoff.isoformat().replace("+00:00", "Z"))

    # A patient archived whole: its record comes from the archive alone.
    assert read_archived(Path(archive_settings.archive.directory), "Patient", other)
    assert {t for t, _ in _everything(client, other)} == {"Patient", "Observation"}
    assert client.get("/fhir/Patient/nobody/$everything").status_code == 404


def test_deleted_live_patient_is_not_revived_by_the_archive(
    opened: tuple[TestClient, Services], archive_settings: Settings
) -> None:
    client, services = opened
    pid = _create(client, {"resourceType": "Patient"})
    _create(client, _observation(pid, "体温"))
    time.sleep(0.02)
    cutoff = datetime.now(UTC)
    archive_old(services.store, Path(archive_settings.archive.directory), cutoff)
    assert client.get(f"/fhir/Patient/{pid}/$everything").status_code == 200
    # Re-created, then deleted in the live database: the live state wins.
    assert client.put(f"/fhir/Patient/{pid}", json={"resourceType": "Patient", "id": pid}).status_code in (200, 201)
    assert client.delete(f"/fhir/Patient/{pid}").status_code in (200, 204)
    assert client.get(f"/fhir/Patient/{pid}/$everything").status_code == 404


def test_the_doctors_one_patient_view_reads_the_archive_too(
    opened: tuple[TestClient, Services], archive_settings: Settings
) -> None:
    from huitong.security.actor import Actor
    from huitong.web.pages.doctor import patient_record

    client, services = opened
    pid = _create(client, {"resourceType": "Patient", "name": [{"family": "孙"}]})
    old_obs = _create(client, _observation(pid, "血红蛋白", valueQuantity={"value": 130, "unit": "g/L"}))
    time.sleep(0.02)
    cutoff = datetime.now(UTC)
    time.sleep(0.02)
    patient = client.get(f"/fhir/Patient/{pid}").json()
    assert client.put(f"/fhir/Patient/{pid}", json={**patient, "active": True}).status_code == 200
    archive_old(services.store, Path(archive_settings.archive.directory), cutoff)
    assert client.get(f"/fhir/Observation/{old_obs}").status_code == 404  # gone from the live database
    view = patient_record(services, Actor.system("workbench-test"), pid)
    assert [o["id"] for o in view["groups"]["Observation"]] == [old_obs]  # … but the workbench still shows it
