"""The main journeys in a real browser (headless Chromium via Playwright) against a real server process.

Needs Debian's chromium (``/usr/bin/chromium``, installed by .ci/run); skipped with the reason where it is
absent. Screenshots of each main page are written to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from huitong.fhir.bench.server import free_port
from huitong.security.actor import Actor
from tests.web.serving import browser_hospital, huitong_serving, served_env

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "Browser-Test-2026!x"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A served demo hospital with accounts of each role; the doctor has a TOTP second factor."""
    with browser_hospital(tmp_path_factory.mktemp("browser"), "browser") as (url, services, security):
        admin = Actor.system("browser-tests")
        for user, role, extra in (
            ("dr.liu", "doctor", {"department": "demo-dept-4"}),
            ("nurse.wang", "nurse", {"department": "demo-dept-2"}),
            ("pt.li", "patient", {"patient_id": "demo-p002"}),
            ("ops.zhou", "operations", {}),
        ):
            security.accounts.create(admin, user_id=user, display_name=user, role=role, password=PASSWORD, **extra)
        totp = security.accounts.enrol_totp("dr.liu")
        services.store.transaction(
            admin,
            lambda tx: [
                tx.update(
                    {
                        "resourceType": "Patient",
                        "id": "new-adm",
                        "name": [{"family": "赵", "given": ["敏"]}],
                        "gender": "female",
                        "birthDate": "1988-02-02",
                    },
                    "new-adm",
                ),
                tx.update(
                    {
                        "resourceType": "Encounter",
                        "id": "new-adm-enc",
                        "status": "planned",
                        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                        "subject": {"reference": "Patient/new-adm"},
                        "serviceProvider": {"reference": "Organization/demo-dept-2"},
                    },
                    "new-adm-enc",
                ),
            ],
        )
    with huitong_serving(served_env(url), free_port()) as base:
        yield {"base": base, "totp": totp}


def _sign_in(page: object, base: str, user: str, totp: str | None = None) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("input[name=user_id]", user)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    if totp is not None:
        page.wait_for_url(re.compile(r".*/login/mfa.*"))  # type: ignore[attr-defined]
        page.fill("input[name=code]", pyotp.TOTP(totp).now())  # type: ignore[attr-defined]
        page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(rf"{re.escape(base)}/(\?.*)?$"))  # type: ignore[attr-defined]


def test_doctor_signs_in_with_mfa_and_acknowledges_a_critical_value(server: dict[str, str], browser: object) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, server["base"], "dr.liu", server["totp"])
    page.goto(f"{server['base']}/doctor")
    row = page.locator("#alert-demo-p004-glu1")
    assert "11.8" in row.inner_text() and "刘强" in row.inner_text()
    page.screenshot(path=str(SHOTS / "doctor-workbench.png"), full_page=True)
    with page.expect_response(lambda r: "/acknowledge" in r.url) as answer:
        row.locator("button").click()
    assert answer.value.status == 200, (
        answer.value.text(),
        page.locator("body").get_attribute("hx-headers"),
        answer.value.request.headers,
    )
    page.wait_for_selector("#alert-demo-p004-glu1.ok")
    assert "已确认" in page.locator("#alert-demo-p004-glu1").inner_text()
    page.goto(f"{server['base']}/doctor/patient/demo-p004")
    page.wait_for_selector("#trend canvas")
    assert "肺炎" in page.content()
    page.screenshot(path=str(SHOTS / "doctor-patient.png"), full_page=True)
    assert page.goto(f"{server['base']}/doctor/patient/demo-p001").status == 404  # another department's patient
    context.close()


def test_nurse_admits_a_patient_to_a_bed(server: dict[str, str], browser: object) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, server["base"], "nurse.wang")
    page.goto(f"{server['base']}/nurse")
    page.fill("input[name=patient_id]", "new-adm")
    page.select_option("select[name=bed_id]", "demo-ward-2-bed-2")
    with page.expect_response(lambda r: r.url.endswith("/nurse/admit")) as answer:
        page.click("form[hx-post='/nurse/admit'] button")
    assert answer.value.status == 200, answer.value.text()
    page.wait_for_selector("[data-bed='demo-ward-2-bed-2'].occupied")
    assert "赵敏" in page.locator("[data-bed='demo-ward-2-bed-2']").inner_text()
    page.screenshot(path=str(SHOTS / "nurse-station.png"), full_page=True)
    assert page.goto(f"{server['base']}/operations").status == 403
    context.close()


def test_patient_books_checks_in_reads_a_report_and_answers_the_survey(server: dict[str, str], browser: object) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, server["base"], "pt.li")
    page.goto(f"{server['base']}/portal")
    assert "5.4 mmol/L" in page.locator("#reports").inner_text()
    page.locator("#book button").click()
    page.wait_for_selector("#portal-message")
    page.locator("#appointments form[action*='check-in'] button").first.click()
    page.wait_for_selector("td[data-status=arrived] >> text=已到院")
    page.locator("#survey button").click()
    page.wait_for_selector("#portal-message")
    page.screenshot(path=str(SHOTS / "patient-portal.png"), full_page=True)
    assert page.goto(f"{server['base']}/doctor").status == 403
    assert page.goto(f"{server['base']}/nurse").status == 403
    context.close()


def test_patient_changes_an_appointment_reads_visits_and_bills_and_manages_consent(
    server: dict[str, str], browser: object
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, server["base"], "pt.li")
    page.goto(f"{server['base']}/portal")
    page.locator("#book button").click()
    page.wait_for_selector("#portal-message")
    change = page.locator("#appointments form.change").first
    target = change.locator("select[name=slot_id] option").nth(1).get_attribute("value")
    change.locator("select[name=slot_id]").select_option(target)
    change.locator("button").click()
    page.wait_for_selector("#portal-message")
    assert "已改约" in page.locator("#portal-message").inner_text()
    page.click("nav.tabs >> text=就诊记录")
    page.wait_for_selector("#visits")
    assert "职业病科" in page.locator("#visits").inner_text()
    assert "其他含硅粉尘所致的尘肺" in page.locator("#visits").inner_text()
    page.screenshot(path=str(SHOTS / "portal-visits.png"), full_page=True)
    page.click("nav.tabs >> text=费用清单")
    page.wait_for_selector("#grand-total")
    assert page.locator("#grand-total").inner_text() == "180.50"
    page.screenshot(path=str(SHOTS / "portal-bills.png"), full_page=True)
    page.click("nav.tabs >> text=授权管理")
    research = page.locator("[data-consent=research]")
    research.locator("button").click()
    page.wait_for_selector("[data-consent=research][data-status=active]")
    assert "已同意" in page.locator("[data-consent=research]").inner_text()
    page.screenshot(path=str(SHOTS / "portal-consent.png"), full_page=True)
    page.locator("[data-consent=research] button").click()
    page.wait_for_selector("[data-consent=research][data-status=inactive]")
    assert "已撤回" in page.locator("[data-consent=research]").inner_text()
    page.goto(f"{server['base']}/portal/consent?lang=en")
    assert "Withdrawn" in page.locator("[data-consent=research]").inner_text()
    context.close()


def test_nurse_gives_a_dose_and_charts_vital_signs(server: dict[str, str], browser: object) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, server["base"], "nurse.wang")
    page.goto(f"{server['base']}/nurse/tasks")
    assert page.locator("#task-demo-p002-rx1-0").count() == 1
    assert page.locator("#task-vitals-demo-p002").count() == 1
    page.screenshot(path=str(SHOTS / "nurse-tasks.png"), full_page=True)
    page.locator("#task-demo-p002-rx1-0 button").click()
    page.wait_for_selector("#nurse-message")
    assert page.locator("#task-demo-p002-rx1-0").count() == 0
    page.locator("#task-vitals-demo-p002 a.button").click()
    page.wait_for_url(re.compile(r".*/nurse/patient/demo-p002.*"))
    for name, value in (
        ("temperature", "38.4"),
        ("pulse", "102"),
        ("respiration", "22"),
        ("systolic", "128"),
        ("diastolic", "84"),
    ):
        page.fill(f"#record input[name={name}]", value)
    page.click("#record button[type=submit]")
    page.wait_for_selector("#tpr canvas")
    assert "38.4" in page.locator("#readings").inner_text()
    page.screenshot(path=str(SHOTS / "nurse-vitals-chart.png"), full_page=True)
    page.goto(f"{server['base']}/nurse/tasks")
    assert page.locator("#task-vitals-demo-p002").count() == 0
    assert page.goto(f"{server['base']}/nurse/patient/demo-p004").status == 404  # another department's patient
    context.close()


def test_operations_sees_theatre_utilisation(server: dict[str, str], browser: object) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, server["base"], "ops.zhou")
    page.goto(f"{server['base']}/operations?day=2026-11-21")
    assert page.locator("#theatre-rate").inner_text() == "2.8"
    assert "第1手术间" in page.locator("#theatres").inner_text()
    page.wait_for_selector("#theatre-chart canvas")
    page.wait_for_selector("#occupancy canvas")
    assert "25.0" in page.content()  # occupancy counted for the board, though the role reads no records
    page.screenshot(path=str(SHOTS / "operations-board.png"), full_page=True)
    assert page.goto(f"{server['base']}/nurse/tasks").status == 403
    assert page.goto(f"{server['base']}/portal/consent").status == 403
    context.close()


def test_signed_out_users_are_sent_to_sign_in(server: dict[str, str], browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{server['base']}/doctor")
    assert "/login" in page.url
    page.screenshot(path=str(SHOTS / "login.png"))
    context.close()
    assert shutil.which("chromium") or Path(CHROMIUM).exists()
