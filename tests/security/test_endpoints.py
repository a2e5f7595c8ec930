"""The token endpoint, the auditor's pages, the anomaly report and the MLPS self-check."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

from starlette.testclient import TestClient
from typer.testing import CliRunner

from huitong.cli import app as cli_app
from huitong.security.actor import Actor
from huitong.security.ratelimit import RateLimiter
from huitong.security.runtime import SecurityServices
from huitong.security.sessions import COOKIE
from huitong.services import Services
from tests.security.conftest import DEPARTMENT, Clock, make_user

SYSTEM = Actor.system("tests")
SECRET = "lis-secret-0123456789abcdef"


def test_client_credentials_token(app_client: tuple[TestClient, SecurityServices], services: Services) -> None:
    client, sec = app_client
    sec.tokens.register_client(SYSTEM, "lis", SECRET, "system/Observation.rs system/Patient.r")
    patient = services.store.create(SYSTEM, {"resourceType": "Patient"}).res_id
    denied = client.post(
        "/auth/token", data={"grant_type": "client_credentials", "client_id": "lis", "client_secret": "x"}
    )
    assert denied.status_code == 401 and denied.json()["error"] == "invalid_client"
    basic = base64.b64encode(f"lis:{SECRET}".encode()).decode()
    response = client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "scope": "system/Patient.rs system/Observation.rs"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "system/Observation.rs"
    assert response.headers["cache-control"] == "no-store"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get(f"/fhir/Patient/{patient}", headers=bearer).status_code == 403  # scope narrowed it away
    assert client.get("/fhir/Observation", headers=bearer).status_code == 200
    assert client.post("/fhir/Observation", headers=bearer, json={}).status_code in (400, 403, 422)
    assert client.get("/fhir/Observation", headers={"Authorization": "Bearer forged"}).status_code == 401
    assert client.post("/auth/revoke", data={"token": body["access_token"]}).status_code == 200
    assert client.get("/fhir/Observation", headers=bearer).status_code == 401  # revoked
    wrong_grant = client.post("/auth/token", data={"grant_type": "password"})
    assert wrong_grant.status_code == 400 and wrong_grant.json()["error"] == "unsupported_grant_type"


def test_auditor_searches_exports_and_sees_anomalies(
    app_client: tuple[TestClient, SecurityServices], services: Services, clock: Clock
) -> None:
    client, sec = app_client
    clock.now = datetime.now(UTC)  # audit rows carry the real time; the report's window ends at the clock's
    vip = services.store.create(
        SYSTEM, {"resourceType": "Patient", "meta": {"security": [{"code": "VIP"}]}, "name": [{"family": "要"}]}
    ).res_id
    services.store.create(
        SYSTEM,
        {
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {"code": "IMP"},
            "subject": {"reference": f"Patient/{vip}"},
            "serviceProvider": {"reference": f"Organization/{DEPARTMENT}"},
        },
    )
    make_user(sec, "dr.curious", "doctor")
    make_user(sec, "nurse.colleague", "nurse", patient_id=vip)  # a colleague who is also this patient
    account = sec.accounts.get("dr.curious")
    assert account is not None
    services.store.read(account.actor(), "Patient", vip)
    make_user(sec, "auditor.li", "auditor")
    client.cookies.set(COOKIE, sec.sessions.start("auditor.li", mfa_passed=True))
    page = client.get("/audit", params={"actor": "user:dr.curious"})
    assert page.status_code == 200 and f"Patient/{vip}" in page.text
    export = client.get("/audit", params={"actor": "user:dr.curious", "format": "csv"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.text.startswith("\ufeffseq,recorded") and "user:dr.curious" in export.text
    # The report's window ends at the clock's time: catch up with the real time the rows carry (on a loaded
    # machine the password hashing above takes more than a second).
    clock.now = datetime.now(UTC)
    clock.advance(seconds=1)
    report = client.get("/audit/anomalies", params={"lang": "en"})
    assert report.status_code == 200
    assert "Reads of VIP patients" in report.text and "user:dr.curious" in report.text
    assert "nurse.colleague" in report.text  # a colleague's record was read
    # searching and exporting the audit trail are audited too
    assert "audit-export" in client.get("/audit", params={"actor": "user:auditor.li"}).text
    # auditors change nothing and read no clinical data
    assert client.get(f"/fhir/Patient/{vip}").status_code == 403


def test_security_check_lists_controls(tmp_path: Path) -> None:
    env = {"HUITONG_DATABASE__URL": f"sqlite:///{tmp_path}/unused.db", "HUITONG_ENV": "development"}
    result = CliRunner().invoke(cli_app, ["security", "check"], env=env)
    assert result.exit_code == 0, result.output
    for clause in ("8.1.4.1", "8.1.4.2", "8.1.4.3", "8.1.4.7", "8.1.4.8", "8.1.4.11", "8.1.5"):
        assert clause in result.output
    assert "PLACEHOLDER" in result.output  # the development secret key is reported


def test_hsts_over_tls_and_api_rate_limit(app_client: tuple[TestClient, SecurityServices], clock: Clock) -> None:
    client, sec = app_client
    response = client.get("/fhir/metadata")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    sec.tokens.register_client(SYSTEM, "his", SECRET, "system/*.rs")
    token = sec.tokens.client_credentials("his", SECRET, "system/*.rs").access_token
    sec.api_limiter = RateLimiter(2, clock)
    bearer = {"Authorization": f"Bearer {token}"}
    assert [client.get("/fhir/Patient/x", headers=bearer).status_code for _ in range(3)] == [404, 404, 429]
    clock.advance(minutes=1)
    assert client.get("/fhir/Patient/x", headers=bearer).status_code == 404
