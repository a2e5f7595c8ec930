"""The 15 Synthea patients load through transaction bundles; $everything returns each whole record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from huitong.app import create_app
from tests.conftest import AUTH, make_settings
from tests.shared_data import require_shared


@pytest.fixture
def structural_client(db_url: str) -> Iterator[TestClient]:
    """The app with structural validation (the trusted-import path), so 7,000 resources load quickly."""
    settings = make_settings(db_url, fhir={"validation": "structural"})
    with TestClient(create_app(settings), headers=AUTH) as client:
        yield client


@pytest.mark.slow
def test_synthea_patients_load_and_everything_returns_each_record(structural_client: TestClient) -> None:
    folder: Path = require_shared("testdata", "synthea")
    files = sorted(folder.glob("*.json"))  # hospital and practitioner information first ("0-…")
    assert len(files) == 17
    records: dict[str, set[tuple[str, str]]] = {}
    for path in files:
        bundle = json.loads(path.read_bytes())
        response = structural_client.post(
            "/fhir", content=path.read_bytes(), headers={"Content-Type": "application/fhir+json"}
        )
        assert response.status_code == 200, response.text[:500]
        entries = response.json()["entry"]
        assert len(entries) == len(bundle["entry"])
        assert all(e["response"]["status"] in ("200 OK", "201 Created") for e in entries)
        if bundle["type"] == "transaction":
            created = {tuple(e["response"]["location"].split("/")[:2]) for e in entries}
            patient = next(e for e in entries if e["response"]["location"].startswith("Patient/"))
            records[patient["response"]["location"].split("/")[1]] = created  # type: ignore[assignment]
    assert len(records) == 15
    for patient_id, created in records.items():
        everything = structural_client.get(f"/fhir/Patient/{patient_id}/$everything").json()
        found = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in everything["entry"]}
        missing = created - found
        assert not missing, (
            f"Patient/{patient_id}: {len(missing)} of {len(created)} missing, e.g. {sorted(missing)[:3]}"
        )
        assert not any(t == "Patient" and i != patient_id for t, i in found)
