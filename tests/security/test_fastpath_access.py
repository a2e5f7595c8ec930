"""The read-by-id fast path (``fhir/fastpath.py``) obeys the store's access rules and audits like the route:
patient reach (404, not confirming the record), SMART scopes (403), revoked tokens (401 at once)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from huitong.fhir.fastpath import match_read
from huitong.security.actor import Actor
from huitong.security.runtime import SecurityServices
from huitong.security.schema import audit_log
from huitong.services import Services
from tests.security.conftest import DEPARTMENT, OTHER_DEPARTMENT, make_user

SYSTEM = Actor.system("tests")
SECRET = "s" * 32


def _patient_in(services: Services, department: str) -> str:
    store = services.store
    store.update(SYSTEM, "Organization", department, {"resourceType": "Organization", "id": department})
    patient = store.create(SYSTEM, {"resourceType": "Patient", "name": [{"family": department}]}).res_id
    encounter = {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"code": "IMP"},
        "subject": {"reference": f"Patient/{patient}"},
        "serviceProvider": {"reference": f"Organization/{department}"},
    }
    store.create(SYSTEM, encounter)
    return patient


def _audited(services: Services, request_id: str) -> list[tuple[Any, ...]]:
    with services.db.read() as conn:
        rows = conn.execute(sa.select(audit_log).where(audit_log.c.request_id == request_id).order_by(audit_log.c.seq))
        return [(r.actor_id, r.interaction, r.outcome, r.entity_type, r.entity_id) for r in rows]


def _get(client: TestClient, path: str, token: str, request_id: str) -> Any:
    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}
    scope["headers"] = [(b"authorization", f"Bearer {token}".encode())]
    assert match_read(scope) is not None  # these requests take the fast path
    return client.get(path, headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id})


def test_patient_reach_hides_records_outside_it(
    app_client: tuple[TestClient, SecurityServices], services: Services
) -> None:
    client, sec = app_client
    inside, outside = _patient_in(services, DEPARTMENT), _patient_in(services, OTHER_DEPARTMENT)
    make_user(sec, "dr.li", "doctor")
    account = sec.accounts.get("dr.li")
    assert account is not None
    token = sec.tokens.issue_for_user(account, "user/*.rs").access_token

    seen = _get(client, f"/fhir/Patient/{inside}", token, "reach-in")
    assert seen.status_code == 200 and seen.json()["id"] == inside
    assert _audited(services, "reach-in") == [("user:dr.li", "read", "0", "Patient", inside)]

    hidden = _get(client, f"/fhir/Patient/{outside}", token, "reach-out")
    assert hidden.status_code == 404  # not 403: the record's existence is not confirmed
    assert hidden.json()["resourceType"] == "OperationOutcome"
    assert _audited(services, "reach-out") == [("user:dr.li", "read", "4", "Patient", outside)]


def test_scopes_refuse_a_type_with_403(app_client: tuple[TestClient, SecurityServices], services: Services) -> None:
    client, sec = app_client
    patient = _patient_in(services, DEPARTMENT)
    sec.tokens.register_client(SYSTEM, "lis", SECRET, "system/Observation.rs")
    token = sec.tokens.client_credentials("lis", SECRET, "system/Observation.rs").access_token
    refused = _get(client, f"/fhir/Patient/{patient}", token, "scope-refused")
    assert refused.status_code == 403
    assert refused.json()["issue"][0]["code"] == "forbidden"
    assert _audited(services, "scope-refused") == [("client:lis", "read", "4", "Patient", patient)]


def test_a_revoked_token_is_refused_at_once(
    app_client: tuple[TestClient, SecurityServices], services: Services
) -> None:
    client, sec = app_client
    patient = _patient_in(services, DEPARTMENT)
    sec.tokens.register_client(SYSTEM, "his", SECRET, "system/*.rs")
    token = sec.tokens.client_credentials("his", SECRET, "system/*.rs").access_token
    assert _get(client, f"/fhir/Patient/{patient}", token, "before-revoke").status_code == 200
    sec.tokens.revoke(token)
    refused = _get(client, f"/fhir/Patient/{patient}", token, "after-revoke")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="huitong"'
    assert _audited(services, "after-revoke") == []  # nothing was read


def test_a_deactivated_account_loses_its_token_at_once(
    app_client: tuple[TestClient, SecurityServices], services: Services
) -> None:
    client, sec = app_client
    patient = _patient_in(services, DEPARTMENT)
    make_user(sec, "nurse.wu", "nurse")
    account = sec.accounts.get("nurse.wu")
    assert account is not None
    token = sec.tokens.issue_for_user(account, "user/*.rs").access_token
    assert _get(client, f"/fhir/Patient/{patient}", token, "active").status_code == 200
    sec.accounts.deactivate(SYSTEM, "nurse.wu")
    assert _get(client, f"/fhir/Patient/{patient}", token, "deactivated").status_code == 401
