"""No leaks through $everything, batch bundles or $export: every role, over HTTP with sessions."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from huitong.security.runtime import SecurityServices
from huitong.security.sessions import COOKIE
from huitong.services import Services
from tests.security.test_access_matrix import MATRIX, Ward, _session, _ward


def _ids(bundle: dict[str, Any]) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", []) if "resource" in e}


def _check(client: TestClient, sec: SecurityServices, role: str, ward: Ward) -> None:
    reads_in, reads_out, _, _ = MATRIX[role]
    session = sec.sessions.resolve(client.cookies[COOKIE])
    assert session is not None
    for patient, obs, allowed in ((ward.inside, ward.obs_in, reads_in), (ward.outside, ward.obs_out, reads_out)):
        everything = client.get(f"/fhir/Patient/{patient}/$everything")
        if everything.status_code == 200:
            found = _ids(everything.json())
            assert (obs in found) is allowed, role
            assert ward.obs_out not in found or reads_out, role
        else:
            assert everything.status_code in (403, 404), (role, everything.status_code)
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Observation"}},
            {"request": {"method": "GET", "url": f"Observation/{ward.obs_out}"}},
        ],
    }
    response = client.post("/fhir", json=batch, headers={"X-CSRF-Token": session.csrf_token})
    assert response.status_code == 200, (role, response.text[:300])
    search_entry, read_entry = response.json()["entry"]
    if search_entry["response"]["status"].startswith("200"):
        assert (ward.obs_out in _ids(search_entry["resource"])) is reads_out, role
    assert read_entry["response"]["status"].startswith("200") is reads_out, role


def test_operations_do_not_leak(app_client: tuple[TestClient, SecurityServices], services: Services) -> None:
    client, sec = app_client
    ward = _ward(services.store)
    for role in sorted(MATRIX):
        client.cookies.clear()
        _session(client, sec, role, ward)
        _check(client, sec, role, ward)


def test_export_files_belong_to_their_requester(
    app_client: tuple[TestClient, SecurityServices], services: Services
) -> None:
    client, sec = app_client
    ward = _ward(services.store)
    _session(client, sec, "quality_officer", ward)
    session = sec.sessions.resolve(client.cookies[COOKIE])
    assert session is not None
    kick = client.get("/fhir/$export", headers={"Prefer": "respond-async", "Accept": "application/fhir+json"})
    assert kick.status_code == 202, kick.text
    status_url = kick.headers["content-location"]
    client.cookies.clear()
    _session(client, sec, "doctor", ward)
    assert client.get(status_url).status_code == 404  # another user's job
    assert client.delete(status_url, headers={"X-CSRF-Token": "x"}).status_code in (403, 404)
