"""The authorisation matrix: every role (and anonymous) × what it may do, in the store and over HTTP.

Two patients: one of the cardiology department (where the doctor and the nurse work) and one of oncology.
No role may see a record it should not — not by read, vread, history, search or ``_include``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.testclient import TestClient
from typer.testing import CliRunner

from huitong.cli import app as cli_app
from huitong.fhir.errors import FhirError
from huitong.fhir.store import ResourceStore
from huitong.security.actor import Actor
from huitong.security.runtime import SecurityServices
from huitong.security.schema import sec_resource_patient
from huitong.security.sessions import COOKIE
from huitong.services import Services
from huitong.settings import Settings
from tests.security.conftest import DEPARTMENT, OTHER_DEPARTMENT, Clock, make_user

SYSTEM = Actor.system("tests")


@dataclass
class Ward:
    inside: str  # patient of cardiology
    outside: str  # patient of oncology
    obs_in: str
    obs_out: str


def _ward(store: ResourceStore) -> Ward:
    store.update(SYSTEM, "Organization", DEPARTMENT, {"resourceType": "Organization", "id": DEPARTMENT})
    store.update(SYSTEM, "Organization", OTHER_DEPARTMENT, {"resourceType": "Organization", "id": OTHER_DEPARTMENT})
    ids = []
    for dept in (DEPARTMENT, OTHER_DEPARTMENT):
        patient = store.create(SYSTEM, {"resourceType": "Patient", "name": [{"family": dept}]}).res_id
        store.create(
            SYSTEM,
            {
                "resourceType": "Encounter",
                "status": "in-progress",
                "class": {"code": "IMP"},
                "subject": {"reference": f"Patient/{patient}"},
                "serviceProvider": {"reference": f"Organization/{dept}"},
            },
        )
        obs = store.create(SYSTEM, _observation(patient)).res_id
        ids += [patient, obs]
    return Ward(ids[0], ids[2], ids[1], ids[3])


def _observation(patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "heart rate"},
        "subject": {"reference": f"Patient/{patient}"},
        "valueQuantity": {"value": 72},
    }


#: role → (reads the inside patient's Observation, reads the outside one's, writes an Observation inside,
#:          reads reference data)
MATRIX: dict[str, tuple[bool, bool, bool, bool]] = {
    "doctor": (True, False, True, True),
    "nurse": (True, False, True, True),
    "pharmacist": (True, True, False, True),
    "lab_technician": (True, True, True, True),
    "manager": (False, False, False, True),
    "operations": (False, False, False, True),
    "quality_officer": (True, True, False, True),
    "auditor": (False, False, False, False),
    "administrator": (False, False, False, True),
    "patient": (True, False, False, True),
}


def _actor(sec: SecurityServices, role: str, ward: Ward) -> Actor:
    make_user(sec, f"u.{role}", role, patient_id=ward.inside if role == "patient" else None)
    account = sec.accounts.get(f"u.{role}")
    assert account is not None
    return account.actor()


def _allowed(call: Any) -> bool:
    try:
        call()
    except FhirError as exc:
        assert exc.status in (403, 404), exc
        return False
    return True


def test_store_matrix(services: Services, sec: SecurityServices) -> None:
    store = services.store
    ward = _ward(store)
    for role in sorted(MATRIX):
        _check_role(store, _actor(sec, role, ward), ward, MATRIX[role])


def _check_role(store: ResourceStore, actor: Actor, ward: Ward, expected: tuple[bool, bool, bool, bool]) -> None:
    role = actor.role
    reads_in, reads_out, writes_in, reads_reference = expected
    assert _allowed(lambda: store.read(actor, "Observation", ward.obs_in)) is reads_in, role
    assert _allowed(lambda: store.vread(actor, "Observation", ward.obs_in, 1)) is reads_in, role
    assert _allowed(lambda: store.read(actor, "Observation", ward.obs_out)) is reads_out, role
    assert _allowed(lambda: store.vread(actor, "Observation", ward.obs_out, 1)) is reads_out, role
    assert _allowed(lambda: store.history(actor, "Observation", ward.obs_out)) is reads_out, role
    assert _allowed(lambda: store.create(actor, _observation(ward.inside))) is writes_in, role
    assert _allowed(lambda: store.read(actor, "Organization", DEPARTMENT)) is reads_reference, role
    # nobody but hospital-wide roles writes into the other department
    if not reads_out:
        assert not _allowed(lambda: store.create(actor, _observation(ward.outside))), role
        assert not _allowed(lambda: store.delete(actor, "Observation", ward.obs_out)), role
    # type and system history never leak the other department's records
    for kwargs in ({"rtype": "Observation"}, {}):
        try:
            page = store.history(actor, **kwargs)  # type: ignore[arg-type]
        except FhirError as exc:
            assert exc.status == 403, role
            continue
        seen = {e.reference for e in page.entries}
        assert (f"Observation/{ward.obs_out}" in seen) is reads_out, role
        assert f"Observation/{ward.obs_in}" in seen or not reads_in, role


def test_search_and_include_do_not_leak(services: Services, sec: SecurityServices) -> None:
    ward = _ward(services.store)
    doctor = _actor(sec, "doctor", ward)
    result = services.search.search(doctor, "Observation", [("_include", "Observation:subject")])
    assert {m.res_id for m in result.matches} == {ward.obs_in}
    assert {i.res_id for i in result.included} <= {ward.inside}
    result = services.search.search(doctor, "Patient", [("_revinclude", "Observation:subject")])
    assert {m.res_id for m in result.matches} == {ward.inside}
    assert ward.obs_out not in {i.res_id for i in result.included}
    auditor = _actor(sec, "auditor", ward)
    with pytest.raises(FhirError) as caught:
        services.search.search(auditor, "Observation", [])
    assert caught.value.status == 403


def test_reads_inside_a_transaction_obey_the_rules(services: Services, sec: SecurityServices) -> None:
    ward = _ward(services.store)
    doctor = _actor(sec, "doctor", ward)
    seen = services.store.transaction(doctor, lambda tx: tx.read("Observation", ward.obs_in))
    assert seen is not None and seen.res_id == ward.obs_in
    with pytest.raises(FhirError) as caught:
        services.store.transaction(doctor, lambda tx: tx.read("Observation", ward.obs_out))
    assert caught.value.status == 404
    admin = _actor(sec, "administrator", ward)
    with pytest.raises(FhirError) as caught:
        services.store.transaction(admin, lambda tx: tx.read("Observation", ward.obs_in))
    assert caught.value.status == 403


def test_a_record_naming_another_patient_anywhere_is_protected(services: Services, sec: SecurityServices) -> None:
    ward = _ward(services.store)
    mixed = {**_observation(ward.inside), "performer": [{"reference": f"Patient/{ward.outside}"}]}
    obs = services.store.create(SYSTEM, mixed).res_id
    doctor = _actor(sec, "doctor", ward)
    assert not _allowed(lambda: services.store.read(doctor, "Observation", obs))
    assert not _allowed(lambda: services.store.create(doctor, mixed))


def test_records_loaded_around_the_store_stay_hidden_until_relinked(
    services: Services, sec: SecurityServices, settings: Settings
) -> None:
    ward = _ward(services.store)
    doctor = _actor(sec, "doctor", ward)
    obs = services.store.create(SYSTEM, _observation(ward.inside)).res_id
    services.db.write(lambda conn: conn.execute(sa.delete(sec_resource_patient)))  # as after a raw bulk load
    assert not _allowed(lambda: services.store.read(doctor, "Observation", obs))
    assert _allowed(lambda: services.store.read(doctor, "Organization", DEPARTMENT))  # reference data stays
    env = {"HUITONG_DATABASE__URL": settings.database.url, "HUITONG_ENV": "development"}
    result = CliRunner().invoke(cli_app, ["security", "relink"], env=env)
    assert result.exit_code == 0 and "linked" in result.output, result.output
    assert _allowed(lambda: services.store.read(doctor, "Observation", obs))
    assert not _allowed(lambda: services.store.read(doctor, "Observation", ward.obs_out))


def test_break_the_glass(services: Services, sec: SecurityServices, clock: Clock) -> None:
    ward = _ward(services.store)
    make_user(sec, "dr.onc", "doctor", department=OTHER_DEPARTMENT)
    account = sec.accounts.get("dr.onc")
    assert account is not None
    doctor = account.actor()
    assert not _allowed(lambda: services.store.read(doctor, "Observation", ward.obs_in))
    grant = sec.break_glass.open(doctor, ward.inside, "patient collapsed in the corridor")
    assert _allowed(lambda: services.store.read(doctor, "Observation", ward.obs_in))
    assert [g.grant_id for g in sec.break_glass.grants(unreviewed_only=True)] == [grant.grant_id]
    clock.advance(minutes=sec.settings.security.break_glass_minutes + 1)
    assert not _allowed(lambda: services.store.read(doctor, "Observation", ward.obs_in))
    make_user(sec, "qo", "quality_officer")
    reviewer = sec.accounts.get("qo")
    assert reviewer is not None
    sec.break_glass.review(reviewer.actor(), grant.grant_id, "justified")
    assert sec.break_glass.grants(unreviewed_only=True) == []


def test_care_team_membership_grants_access(services: Services, sec: SecurityServices) -> None:
    ward = _ward(services.store)
    make_user(sec, "dr.consult", "doctor", department="neurology")
    account = sec.accounts.get("dr.consult")
    assert account is not None
    doctor = account.actor()
    assert not _allowed(lambda: services.store.read(doctor, "Observation", ward.obs_out))
    assert not sec.accounts.requires_mfa(account)
    sec.accounts.add_to_care_team(SYSTEM, "dr.consult", ward.outside)
    assert _allowed(lambda: services.store.read(doctor, "Observation", ward.obs_out))
    assert sec.accounts.requires_mfa(account)  # access beyond the home department needs the second factor


def test_scopes_narrow_a_system_client(services: Services, sec: SecurityServices) -> None:
    ward = _ward(services.store)
    sec.tokens.register_client(SYSTEM, "lis", "s" * 32, "system/Observation.rs")
    issued = sec.tokens.client_credentials("lis", "s" * 32, "system/Observation.rs system/Patient.cruds")
    assert issued.scope == "system/Observation.rs"
    actor = sec.tokens.resolve(issued.access_token, sec.accounts.get)
    assert actor is not None
    assert _allowed(lambda: services.store.read(actor, "Observation", ward.obs_out))
    assert not _allowed(lambda: services.store.read(actor, "Patient", ward.outside))
    assert not _allowed(lambda: services.store.create(actor, _observation(ward.inside)))


def test_patient_scoped_token_sees_one_compartment(services: Services, sec: SecurityServices) -> None:
    ward = _ward(services.store)
    make_user(sec, "dr.app", "doctor")
    account = sec.accounts.get("dr.app")
    assert account is not None
    issued = sec.tokens.issue_for_user(account, "patient/*.rs", patient_id=ward.inside)
    actor = sec.tokens.resolve(issued.access_token, sec.accounts.get)
    assert actor is not None
    assert _allowed(lambda: services.store.read(actor, "Observation", ward.obs_in))
    assert not _allowed(lambda: services.store.create(actor, _observation(ward.inside)))


# -- over HTTP -------------------------------------------------------------------------------------

PUBLIC = {
    "/fhir/metadata",
    "/login",
    "/healthz",
    "/readyz",
    "/livez",
    "/api/openapi.json",
    "/api/docs",
    "/auth/revoke",
    "/metrics",  # Prometheus scraping, restricted to the monitoring network (docs/operations.md)
    "/portal/register",  # patient self-registration: the only portal page anonymous visitors may open
}


def _routes(client: TestClient) -> list[tuple[str, set[str]]]:
    """Every API route of the app as (path, methods), through included routers too.

    FastAPI 0.163 keeps included routers as ``_IncludedRouter`` entries of ``app.routes``: a plain walk over
    ``app.routes`` sees only the few routes defined on the app itself, so the effective routes are listed here.
    """
    app: Any = client.app
    return [
        (str(context.path), set(context.original_route.methods))
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    ]


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: "Patient" if m.group(1) == "rtype" else "x1", path)


def test_every_route_refuses_anonymous_callers(app_client: tuple[TestClient, SecurityServices]) -> None:
    client, _ = app_client
    routes = _routes(client)
    assert len(routes) > 50 and any(path == "/portal/consent/{key}" for path, _ in routes)  # included routers seen
    for route_path, methods in routes:
        if route_path in PUBLIC or route_path.startswith("/login"):
            continue
        path = _concrete(route_path)
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            response = client.request(
                method,
                path,
                headers={"Content-Type": "application/fhir+json"},
                content=b"{}",
                follow_redirects=False,
            )
            if response.status_code in (302, 303, 307):  # a web page sending the browser to the login
                target = response.headers["location"]
                if "/login" not in target:  # or to another page (``/empi`` → its review queue), which does
                    target = client.get(target, follow_redirects=False).headers.get("location", "")
                assert "/login" in target, (method, path)
                continue
            assert response.status_code in (400, 401, 403, 404, 405, 415, 422, 429), (method, path, response.text)


def test_anonymous_may_open_the_registration_and_no_other_portal_page(
    app_client: tuple[TestClient, SecurityServices],
) -> None:
    client, _ = app_client
    form = client.get("/portal/register")
    assert form.status_code == 200 and 'name="resident_id"' in form.text
    portal = [(path, methods) for path, methods in _routes(client) if path.startswith("/portal")]
    assert {path for path, _ in portal if path in PUBLIC} == {"/portal/register"}
    for route_path, methods in portal:
        if route_path in PUBLIC:
            continue
        path = _concrete(route_path)
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            response = client.request(method, path, data={"csrf": "x", "code": "1"}, follow_redirects=False)
            if method == "GET":  # a portal page: the browser is sent to sign in
                assert response.status_code == 303 and "/login" in response.headers["location"], (method, path)
            else:  # no session: refused (the registration's code form without its CSRF cookie too)
                assert response.status_code in (303, 401, 403), (method, path, response.status_code)
    # the registration form itself takes nothing without its CSRF cookie and token
    assert client.post("/portal/register", data={"csrf": "forged", "name": "x"}).status_code == 403


def _session(client: TestClient, sec: SecurityServices, role: str, ward: Ward) -> None:
    make_user(sec, f"h.{role}", role, patient_id=ward.inside if role == "patient" else None)
    client.cookies.set(COOKIE, sec.sessions.start(f"h.{role}", mfa_passed=True))


def test_http_matrix(app_client: tuple[TestClient, SecurityServices], services: Services) -> None:
    client, sec = app_client
    ward = _ward(services.store)
    for role in sorted(MATRIX):
        client.cookies.clear()
        _session(client, sec, role, ward)
        _check_http(client, role, ward)


def _check_http(client: TestClient, role: str, ward: Ward) -> None:
    reads_in, reads_out, _, _ = MATRIX[role]
    assert (client.get(f"/fhir/Observation/{ward.obs_in}").status_code == 200) is reads_in, role
    assert (client.get(f"/fhir/Observation/{ward.obs_out}").status_code == 200) is reads_out, role
    assert (client.get(f"/fhir/Observation/{ward.obs_out}/_history").status_code == 200) is reads_out, role
    search = client.get("/fhir/Observation")
    if search.status_code == 200:
        found = {e["resource"]["id"] for e in search.json().get("entry", [])}
        assert (ward.obs_out in found) is reads_out and (ward.obs_in in found) is reads_in, role
    else:
        assert search.status_code == 403 and not reads_in, role
    history = client.get("/fhir/_history")
    if history.status_code == 200:
        found = {e["resource"]["id"] for e in history.json().get("entry", []) if "resource" in e}
        assert (ward.obs_out in found) is reads_out, role
    # cookie-authenticated writes need the CSRF header
    assert client.post("/fhir/Observation", json=_observation(ward.inside)).status_code == 403, role
    assert (client.get("/audit").status_code == 200) is (role == "auditor"), role
    assert (client.get("/audit/anomalies").status_code == 200) is (role == "auditor"), role
