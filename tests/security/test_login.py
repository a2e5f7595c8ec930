"""Login through the real app: password, lock-out, TOTP second factor, sessions and their time-outs, CSRF."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.testclient import TestClient

from huitong.security import totp
from huitong.security.access import AccessPolicy
from huitong.security.deps import csrf_token_of
from huitong.security.runtime import SecurityServices, open_security
from huitong.security.sessions import COOKIE
from huitong.services import Services
from huitong.settings import Settings
from tests.security.conftest import ADMIN, DEPARTMENT, PASSWORD, Clock, make_user


def _login_form(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200 and "登录" in page.text
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def _login(client: TestClient, user: str, password: str = PASSWORD) -> tuple[int, str]:
    csrf = _login_form(client)
    response = client.post("/login", data={"csrf": csrf, "user_id": user, "password": password}, follow_redirects=False)
    return response.status_code, response.headers.get("location", "")


def test_doctor_signs_in_and_out(app_client: tuple[TestClient, SecurityServices]) -> None:
    client, sec = app_client
    make_user(sec, "zhang.wei", "doctor")
    status, location = _login(client, "zhang.wei")
    assert status == 303 and location.startswith("/?")
    cookie = client.cookies.get(COOKIE)
    assert cookie
    # the session works for the API, and the cookie is Secure, HttpOnly and SameSite
    assert client.get("/fhir/Patient/nope").status_code == 404
    # logout needs the session's CSRF token
    assert client.post("/logout", data={"csrf": "wrong"}).status_code == 403
    session = sec.sessions.resolve(cookie)
    assert session is not None
    scope = {"type": "http", "app": client.app, "headers": [(b"cookie", f"{COOKIE}={cookie}".encode())]}
    assert csrf_token_of(Request(scope)) == session.csrf_token  # what pages put in their forms
    assert client.post("/logout", data={"csrf": session.csrf_token}, follow_redirects=False).status_code == 303
    assert sec.sessions.resolve(cookie) is None


def test_session_cookie_attributes(app_client: tuple[TestClient, SecurityServices]) -> None:
    client, sec = app_client
    make_user(sec, "li.na", "nurse")
    csrf = _login_form(client)
    response = client.post(
        "/login", data={"csrf": csrf, "user_id": "li.na", "password": PASSWORD}, follow_redirects=False
    )
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "secure" in header and "samesite=lax" in header


def test_login_without_csrf_is_refused(app_client: tuple[TestClient, SecurityServices]) -> None:
    client, sec = app_client
    make_user(sec, "zhang.wei", "doctor")
    response = client.post("/login", data={"csrf": "forged", "user_id": "zhang.wei", "password": PASSWORD})
    assert response.status_code == 403


def test_lockout_after_repeated_failures(app_client: tuple[TestClient, SecurityServices], clock: Clock) -> None:
    client, sec = app_client
    make_user(sec, "zhang.wei", "doctor")
    for _ in range(sec.settings.security.lockout_threshold):
        assert _login(client, "zhang.wei", "wrong-Password-1")[0] == 401
    status, _ = _login(client, "zhang.wei")  # the right password no longer helps
    assert status == 401
    clock.advance(minutes=sec.settings.security.lockout_minutes + 1)
    assert _login(client, "zhang.wei")[0] == 303


def test_unknown_user_gets_the_same_answer(app_client: tuple[TestClient, SecurityServices]) -> None:
    client, _ = app_client
    assert _login(client, "nobody")[0] == 401


def test_administrator_needs_totp(app_client: tuple[TestClient, SecurityServices], clock: Clock) -> None:
    client, sec = app_client
    make_user(sec, "admin.wang", "administrator")
    status, location = _login(client, "admin.wang")
    assert status == 303 and location.startswith("/login/mfa")
    # not signed in yet: the API refuses the half-open session
    assert client.get("/fhir/Organization").status_code == 401
    page = client.get("/login/mfa")
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", page.text)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert secret and csrf
    bad = client.post("/login/mfa", data={"csrf": csrf.group(1), "code": "000000"})
    assert bad.status_code == 401
    code = totp.code_at(secret.group(1), clock())
    ok = client.post("/login/mfa", data={"csrf": csrf.group(1), "code": code}, follow_redirects=False)
    assert ok.status_code == 303
    # the session got a new id when the second factor passed
    assert sec.sessions.resolve(client.cookies[COOKIE]) is not None
    # administrators read no clinical data, but may read reference data
    assert client.get("/fhir/Patient/x").status_code == 403
    # the same code cannot be used twice
    assert not sec.accounts.verify_totp("admin.wang", code)


def test_session_idle_and_absolute_timeouts(app_client: tuple[TestClient, SecurityServices], clock: Clock) -> None:
    _client, sec = app_client
    make_user(sec, "zhang.wei", "doctor")
    token = sec.sessions.start("zhang.wei", mfa_passed=True)
    idle = sec.settings.security.session_idle_minutes
    clock.advance(minutes=idle - 1)
    assert sec.sessions.resolve(token) is not None
    clock.advance(minutes=idle + 1)
    assert sec.sessions.resolve(token) is None
    token = sec.sessions.start("zhang.wei", mfa_passed=True)
    for _ in range(sec.settings.security.session_absolute_hours * 60 // (idle - 1) + 1):
        clock.advance(minutes=idle - 1)
        if sec.sessions.resolve(token) is None:
            break
    else:
        raise AssertionError("the absolute time-out never ended the session")


def test_expired_password_must_be_changed(app_client: tuple[TestClient, SecurityServices], clock: Clock) -> None:
    client, sec = app_client
    make_user(sec, "zhang.wei", "doctor")
    clock.advance(days=sec.settings.security.password_max_age_days + 1)
    _status, location = _login(client, "zhang.wei")
    assert location.startswith("/login/password")
    page = client.get("/login/password")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    assert "current_password" not in page.text  # the password was just checked
    reuse = client.post("/login/password", data={"csrf": csrf.group(1), "password": PASSWORD})
    assert reuse.status_code == 400
    done = client.post(
        "/login/password", data={"csrf": csrf.group(1), "password": "Brand-New-Pass-77"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert _login(client, "zhang.wei", "Brand-New-Pass-77")[0] == 303


def test_signed_in_pages_offer_sign_out_and_a_password_change_that_asks_for_the_current_one(
    app_client: tuple[TestClient, SecurityServices],
) -> None:
    client, sec = app_client
    make_user(sec, "zhang.wei", "doctor")
    assert _login(client, "zhang.wei")[0] == 303
    cookie = client.cookies.get(COOKIE)
    session = sec.sessions.resolve(cookie or "")
    assert session is not None
    home = client.get("/").text
    assert 'action="/logout"' in home and f'value="{session.csrf_token}"' in home and "退出登录" in home
    assert 'href="/login/password' in home
    form = client.get("/login/password").text
    assert 'name="current_password"' in form
    data = {"csrf": session.csrf_token, "current_password": "Not-The-Pass-1", "password": "Brand-New-Pass-77"}
    wrong = client.post("/login/password", data=data)
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.text
    assert _login(client, "zhang.wei", "Brand-New-Pass-77")[0] == 401  # unchanged
    assert _login(client, "zhang.wei")[0] == 303
    session = sec.sessions.resolve(client.cookies.get(COOKIE) or "")
    assert session is not None
    data = {"csrf": session.csrf_token, "current_password": PASSWORD, "password": "Brand-New-Pass-77"}
    done = client.post("/login/password", data=data, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/login")
    assert sec.sessions.resolve(client.cookies.get(COOKIE) or "") is None  # every session ended
    assert _login(client, "zhang.wei")[0] == 401
    assert _login(client, "zhang.wei", "Brand-New-Pass-77")[0] == 303


def test_a_password_somebody_else_chose_is_changed_at_the_first_login_even_without_a_maximum_age(
    services: Services, settings: Settings, clock: Clock
) -> None:
    """An administrator's initial or reset password is the user's to replace — also where the hospital turned the
    periodic change off (``password_max_age_days = 0``), which once let a reset password stand for good."""
    no_max_age = settings.security.model_copy(update={"password_max_age_days": 0})
    policy = AccessPolicy(services.db, clock=clock)
    sec = open_security(settings.model_copy(update={"security": no_max_age}), services.db, policy, clock)
    sec.accounts.create(
        ADMIN, user_id="dr.new", display_name="dr.new", role="doctor", password=PASSWORD, department=DEPARTMENT,
        temporary=True,
    )  # fmt: skip
    assert sec.accounts.authenticate("dr.new", PASSWORD).password_expired
    make_user(sec, "dr.own", "doctor")  # a password of one's own (the CLI, self-registration) stays
    assert not sec.accounts.authenticate("dr.own", PASSWORD).password_expired
    sec.accounts.reset_credentials(ADMIN, "dr.own", "Temporary-Pass-99")
    assert sec.accounts.authenticate("dr.own", "Temporary-Pass-99").password_expired


def test_login_rate_limit(app_client: tuple[TestClient, SecurityServices]) -> None:
    client, sec = app_client
    for _ in range(sec.settings.security.login_rate_per_minute):
        _login(client, "nobody")
    assert _login(client, "nobody")[0] == 429


def test_pages_send_browsers_to_the_login_and_back(app_client: tuple[TestClient, SecurityServices]) -> None:
    client, sec = app_client
    make_user(sec, "auditor.li", "auditor")
    page = client.get("/audit?actor=x", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Faudit%3Factor%3Dx"
    assert client.get("/fhir/Patient/x", headers={"Accept": "text/html"}).status_code == 401  # APIs answer 401
    form = client.get("/login?next=/audit%3Factor%3Dx")
    match = re.search(r'name="next" value="([^"]+)"', form.text)
    assert match and match.group(1) == "/audit?actor=x"
    assert "//evil.example" not in client.get("/login?next=//evil.example").text
