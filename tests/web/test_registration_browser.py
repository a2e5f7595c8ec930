"""A new patient's first visit in a real browser (headless Chromium, phone-sized) against a real server process:
from the sign-in page to the registration form, then signing in with the new account and booking an appointment.
Skipped where Debian's chromium is absent; screenshots go to ``test-artifacts/screenshots/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from huitong.empi.resident_id import build
from huitong.fhir.bench.server import free_port
from tests.web.serving import browser_hospital, huitong_serving, served_env
from tests.web.test_browser import CHROMIUM, SHOTS

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

NEW_PASSWORD = "Morning-Tea-2026!"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A served demo hospital (clinic slots to book) with no accounts at all."""
    folder = tmp_path_factory.mktemp("register-browser")
    with browser_hospital(folder, "register") as (url, _services, _security):
        pass  # the demo hospital, no accounts
    env = served_env(
        url,
        **{
            "HUITONG_EMPI__MODEL_PATH": str(folder / "absent-model.json"),
        },
    )
    with huitong_serving(env, free_port()) as base:
        yield base


def test_a_new_patient_registers_signs_in_and_books(server: str, browser: object) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{server}/portal")  # signed out: sent to sign in, where new patients find the registration
    page.wait_for_url(re.compile(r".*/login.*"))
    page.click("#register-link")
    page.wait_for_selector("form.stack")
    page.fill("input[name=name]", "孙悦")
    page.check("input[name=gender][value=female]")
    page.fill("input[name=birth_date]", "1995-08-23")
    page.fill("input[name=resident_id]", build("320102", date(1995, 8, 23), 77, "female"))
    page.fill("input[name=phone]", "186 0000 7788")
    page.fill("input[name=password]", "weak")
    page.fill("input[name=password_again]", "weak")
    page.click("form.stack button[type=submit]")
    page.wait_for_selector("#register-error[data-error=reg_weak_password]")  # says what a password needs
    assert page.locator("input[name=name]").input_value() == "孙悦"  # what was typed is kept
    page.fill("input[name=password]", NEW_PASSWORD)
    page.fill("input[name=password_again]", NEW_PASSWORD)
    page.screenshot(path=str(SHOTS / "portal-register.png"), full_page=True)
    page.click("form.stack button[type=submit]")
    page.wait_for_selector("#register-done")
    assert "18600007788" in page.locator("#register-done").inner_text()
    page.click("#register-done a.button")
    page.wait_for_url(re.compile(r".*/login.*"))
    page.fill("input[name=user_id]", "18600007788")
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/portal.*"))
    assert "孙悦" in page.locator("header").inner_text()
    assert page.locator("#appointments .empty").count() == 1  # a new patient: nothing of anyone else's
    assert "mmol/L" not in page.locator("#reports").inner_text()
    page.locator("#book button").click()
    page.wait_for_selector("#portal-message")
    assert page.locator("#appointments tr[data-appointment]").count() == 1
    assert "已预约" in page.locator("#appointments").inner_text()
    page.screenshot(path=str(SHOTS / "portal-registered-booked.png"), full_page=True)
    assert page.goto(f"{server}/doctor").status == 403
    context.close()
