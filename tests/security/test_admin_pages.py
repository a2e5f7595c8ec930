"""The administrator's account page: every change audited, CSRF-protected, administrators only."""

from __future__ import annotations

import sqlalchemy as sa
from starlette.testclient import TestClient

from huitong.security.runtime import SecurityServices
from huitong.security.schema import audit_log
from huitong.security.sessions import COOKIE
from tests.security.conftest import make_user


def test_administrator_manages_accounts(app_client: tuple[TestClient, SecurityServices]) -> None:
    client, sec = app_client
    make_user(sec, "admin.wang", "administrator")
    client.cookies.set(COOKIE, sec.sessions.start("admin.wang", mfa_passed=True))
    session = sec.sessions.resolve(client.cookies[COOKIE])
    assert session is not None
    csrf = session.csrf_token
    assert client.get("/admin/users").status_code == 200
    form = {"csrf": csrf, "action": "create", "user_id": "dr.li", "display_name": "李医生", "role": "doctor"}
    assert client.post("/admin/users", data={**form, "password": "weak"}).status_code == 400
    for name in ("", "dr li", "dr\tli"):  # what the form's pattern keeps out, kept out by the server too
        unnamed = client.post("/admin/users", data={**form, "user_id": name, "password": "Strong-Pass-2026"})
        assert unnamed.status_code == 400 and "cannot be a login name" in unnamed.text, name
    created = client.post("/admin/users", data={**form, "password": "Strong-Pass-2026", "department": "cardiology"})
    assert created.status_code == 200 and "dr.li" in created.text
    first = sec.accounts.authenticate("dr.li", "Strong-Pass-2026")
    assert first.account is not None and first.password_expired  # the administrator's choice: replaced at login
    assert client.post("/admin/users", data={**form, "csrf": "forged"}).status_code == 403
    role = {"csrf": csrf, "action": "role", "user_id": "dr.li", "role": "nurse", "department": "oncology"}
    assert client.post("/admin/users", data=role).status_code == 200
    account = sec.accounts.get("dr.li")
    assert account is not None and account.role == "nurse" and account.department == "oncology"
    own = {"csrf": csrf, "action": "role", "user_id": "admin.wang", "role": "doctor", "department": ""}
    assert client.post("/admin/users", data=own).status_code == 400  # not their own role
    team = {"csrf": csrf, "action": "care_team", "user_id": "dr.li", "patient_id": "p1"}
    assert client.post("/admin/users", data=team).status_code == 200
    reset = {"csrf": csrf, "action": "reset", "user_id": "dr.li", "password": "Temporary-Pass-99"}
    assert client.post("/admin/users", data=reset).status_code == 200
    result = sec.accounts.authenticate("dr.li", "Temporary-Pass-99")
    assert result.account is not None and result.password_expired  # must choose a new one at login
    assert (
        client.post("/admin/users", data={"csrf": csrf, "action": "deactivate", "user_id": "dr.li"}).status_code == 200
    )
    assert sec.accounts.get("dr.li") is None
    with sec.db.read() as conn:
        done = {
            r[0]
            for r in conn.execute(sa.select(audit_log.c.interaction).where(audit_log.c.actor_id == "user:admin.wang"))
        }
    assert {"user-create", "role-change", "care-team-add", "credentials-reset", "user-deactivate"} <= done
    client.cookies.clear()
    make_user(sec, "dr.zhang", "doctor")
    client.cookies.set(COOKIE, sec.sessions.start("dr.zhang", mfa_passed=True))
    assert client.get("/admin/users").status_code == 403
