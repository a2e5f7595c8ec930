"""Accounts and the audit trail in a real browser (headless Chromium via Playwright) against a real server — the
three-role separation MLPS 2.0 level 3 asks for: the administrator creates a doctor's account and may not read the
audit trail; the doctor replaces the password the administrator chose at the first sign-in; the auditor finds both
in the trail, exports it, reads the anomaly report, and may not manage accounts."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from huitong.fhir.bench.server import free_port
from huitong.security.actor import Actor
from tests.web.serving import browser_hospital, huitong_serving, served_env
from tests.web.test_browser import CHROMIUM, PASSWORD, SHOTS, _sign_in

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

CHOSEN_BY_ADMIN = "Temporary-Pass-2026!"
CHOSEN_BY_DOCTOR = "Doctor-Own-Pass-2026!"


@pytest.fixture(scope="module")
def security_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``huitong serve`` with an administrator and an auditor, each with the TOTP second factor their role needs."""
    with browser_hospital(tmp_path_factory.mktemp("security-browser"), "security") as (url, _services, security):
        system = Actor.system("browser-tests")
        secrets = {}
        for user, role in (("sec.admin", "administrator"), ("sec.audit", "auditor")):
            security.accounts.create(system, user_id=user, display_name=user, role=role, password=PASSWORD)
            secrets[user] = security.accounts.enrol_totp(user)
    with huitong_serving(served_env(url), free_port()) as base:
        yield {"base": base, **secrets}


def test_administrator_doctor_and_auditor_each_do_their_part(security_server: dict[str, str], browser: object) -> None:
    base = security_server["base"]
    admin = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = admin.new_page()
    _sign_in(page, base, "sec.admin", security_server["sec.admin"])
    page.goto(f"{base}/admin/users")
    form = page.locator("form:has(input[name=action][value=create])")
    form.locator("input[name=user_id]").fill("dr.new")
    form.locator("input[name=display_name]").fill("新医生")
    form.locator("select[name=role]").select_option("doctor")
    form.locator("input[name=department]").fill("demo-dept-4")
    form.locator("input[name=password]").fill(CHOSEN_BY_ADMIN)
    form.locator("button").click()
    page.wait_for_selector("p[role=status]")
    row = page.locator("tr", has=page.locator("td", has_text=re.compile(r"^dr\.new$")))
    assert "doctor" in row.inner_text() and "demo-dept-4" in row.inner_text()
    page.screenshot(path=str(SHOTS / "admin-users.png"), full_page=True)
    refused = page.goto(f"{base}/audit")
    assert refused is not None and refused.status == 403  # administrators do not read the audit trail
    admin.close()

    doctor = browser.new_context()  # type: ignore[attr-defined]
    page = doctor.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=user_id]", "dr.new")
    page.fill("input[name=password]", CHOSEN_BY_ADMIN)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/login/password.*"))  # the administrator's choice is not kept
    page.fill("input[name=password]", CHOSEN_BY_ADMIN)
    page.click("button[type=submit]")
    assert page.locator("p[role=alert]").count() == 1  # not the same one again
    page.fill("input[name=password]", CHOSEN_BY_DOCTOR)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/login(\?.*)?$"))  # sign in again, with the new password
    page.fill("input[name=user_id]", "dr.new")
    page.fill("input[name=password]", CHOSEN_BY_DOCTOR)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/(\?.*)?$"))
    opened = page.goto(f"{base}/doctor")
    assert opened is not None and opened.status == 200
    page.screenshot(path=str(SHOTS / "doctor-header.png"))
    page.click("header form[action='/logout'] button")  # leaving a shared workstation
    page.wait_for_url(re.compile(r".*/login(\?.*)?$"))
    again = page.goto(f"{base}/doctor")
    assert again is not None and "/login" in page.url  # the session is over: back to the login
    doctor.close()

    auditor = browser.new_context(accept_downloads=True)  # type: ignore[attr-defined]
    page = auditor.new_page()
    _sign_in(page, base, "sec.audit", security_server["sec.audit"])
    page.goto(f"{base}/audit")
    page.fill("input[name=entity]", "User/dr.new")
    page.click("form[action='/audit'] button")
    trail = page.locator("table").inner_text()
    assert "user-create" in trail and "user:sec.admin" in trail and "password-change" in trail and "logout" in trail
    with page.expect_download() as download:
        page.click("a[href*='format=csv']")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert any("user-create" in r for r in rows[1:]), rows[:3]
    anomalies = page.goto(f"{base}/audit/anomalies")
    assert anomalies is not None and anomalies.status == 200
    refused = page.goto(f"{base}/admin/users")
    assert refused is not None and refused.status == 403  # auditors do not manage accounts
    auditor.close()
