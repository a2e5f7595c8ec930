"""Every web page × every role (and anonymous): who may open it, written down here independently of the code.

The expected table is the acceptance's authorisation matrix for pages: clinical pages for the clinical role they
serve, management pages for managers, operations and quality officers, the EMPI review for quality officers, the
audit pages for auditors, account administration for administrators, the portal for patients. Separation of duties
follows from it: administrators and auditors open no clinical page, patients no staff page. A page the table does
not name fails the test, so a new page must be added here with its roles.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.testclient import TestClient

from huitong.security.roles import Role
from huitong.security.runtime import SecurityServices
from huitong.security.sessions import COOKIE
from huitong.services import Services
from tests.security.conftest import ADMIN, make_user

MANAGEMENT = frozenset({"manager", "operations", "quality_officer"})
EVERYONE = frozenset(r.value for r in Role if r is not Role.SYSTEM)

#: Page path (as routed) → the roles that may open it.
EXPECTED: dict[str, frozenset[str]] = {
    "/": EVERYONE,
    "/login/password": EVERYONE,  # change one's own password
    "/doctor": frozenset({"doctor"}),
    "/doctor/patient/{patient_id}": frozenset({"doctor"}),
    "/nurse": frozenset({"nurse"}),
    "/nurse/tasks": frozenset({"nurse"}),
    "/nurse/patient/{patient_id}": frozenset({"nurse"}),
    "/operations": MANAGEMENT,
    "/ingest": MANAGEMENT,
    "/ingest/messages": MANAGEMENT,
    "/ingest/messages/{message_id}": MANAGEMENT,
    "/cockpit": MANAGEMENT,
    "/cockpit/indicator/{indicator_id}": MANAGEMENT,
    "/cockpit/indicator/{indicator_id}/cases": MANAGEMENT,
    "/cockpit/export.xlsx": MANAGEMENT,
    "/cockpit/export.pdf": MANAGEMENT,
    "/quality": MANAGEMENT,
    "/quality/findings": MANAGEMENT,
    "/quality/export.csv": MANAGEMENT,
    "/quality/export.xlsx": MANAGEMENT,
    "/quality/findings.csv": MANAGEMENT,
    "/quality/findings.xlsx": MANAGEMENT,
    "/empi": frozenset({"quality_officer"}),
    "/empi/review": frozenset({"quality_officer"}),
    "/portal": frozenset({"patient"}),
    "/portal/visits": frozenset({"patient"}),
    "/portal/bills": frozenset({"patient"}),
    "/portal/consent": frozenset({"patient"}),
    "/audit": frozenset({"auditor"}),
    "/audit/anomalies": frozenset({"auditor"}),
    "/admin/users": frozenset({"administrator"}),
}
#: Pages anyone may open (signing in, registration, health checks) and API paths (the API matrix covers them).
NOT_PAGES = ("/login", "/login/mfa", "/login/oidc", "/login/oidc/callback", "/portal/register")
API_PREFIXES = ("/fhir", "/api", "/auth", "/healthz", "/readyz", "/livez", "/metrics", "/static", "/terminology")


def _pages(client: TestClient) -> list[str]:
    app: Any = client.app
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = str(context.path)
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        if path in NOT_PAGES or path.startswith(API_PREFIXES) or path.startswith("/ingest/api"):
            continue
        found.append(path)
    return found


def _concrete(path: str, patient: str) -> str:
    values = {"patient_id": patient, "indicator_id": "1"}
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "x1"), path)


def _opens(client: TestClient, path: str) -> bool:
    """Whether the signed-in user gets the page (a 404 for a missing record or a 400 for a missing parameter
    counts as opened: not refused)."""
    response = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
    if response.status_code in (302, 303, 307):
        target = response.headers["location"]
        assert "/login" not in target, (path, target)  # signed in: never sent back to the login
        return _opens(client, target)  # a page that forwards to another (``/empi`` → its queue) is that page
    assert response.status_code in (200, 400, 404, 403), (path, response.status_code, response.text[:300])
    return response.status_code != 403


def test_every_page_opens_for_its_roles_only(
    app_client: tuple[TestClient, SecurityServices], services: Services
) -> None:
    client, sec = app_client
    patient = services.store.create(ADMIN, {"resourceType": "Patient", "name": [{"family": "矩阵"}]}).res_id
    pages = _pages(client)
    assert set(pages) == set(EXPECTED), "pages missing from (or extra in) the expected table"
    outcome: dict[tuple[str, str], bool] = {}
    for role in sorted(EVERYONE):
        client.cookies.clear()
        make_user(sec, f"m.{role}", role, patient_id=patient if role == "patient" else None)
        client.cookies.set(COOKIE, sec.sessions.start(f"m.{role}", mfa_passed=True))
        for page in pages:
            outcome[page, role] = _opens(client, _concrete(page, patient))
    wrong = sorted(
        (page, role, opened) for (page, role), opened in outcome.items() if opened != (role in EXPECTED[page])
    )
    assert not wrong, wrong


def test_anonymous_callers_open_no_page(app_client: tuple[TestClient, SecurityServices], services: Services) -> None:
    client, _ = app_client
    for page in _pages(client):
        response = client.get(_concrete(page, "x1"), headers={"Accept": "text/html"}, follow_redirects=False)
        if response.status_code in (401, 403):
            continue  # refused outright
        assert response.status_code in (302, 303, 307), (page, response.status_code)
        target = response.headers["location"]
        if "/login" not in target:
            target = client.get(target, follow_redirects=False).headers.get("location", "")
        assert "/login" in target, page
