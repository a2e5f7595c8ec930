"""The leadership cockpit in a real browser (headless Chromium via Playwright) against a real server, over the
hand-built ward of the indicator tests: a manager sees the national-monitoring (▲) trends drawn, opens an indicator
with its department ranking, drills down to one department's cases and downloads the Excel export; a nurse may not
open it. Screenshot: ``test-artifacts/screenshots/cockpit.png``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from huitong.db import migrate
from huitong.fhir.bench.server import free_port
from huitong.indicators import service
from huitong.security.actor import Actor
from huitong.security.runtime import open_security
from huitong.services import open_services
from tests.conftest import make_settings
from tests.indicators.test_ward import _load
from tests.web.serving import huitong_serving, served_env
from tests.web.test_browser import CHROMIUM, PASSWORD, SHOTS, _sign_in

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def cockpit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``huitong serve`` over the ward's 2024 with its indicators computed; a manager (with the TOTP second factor
    the role must pass) and a nurse."""
    folder = tmp_path_factory.mktemp("cockpit-browser")
    url = f"sqlite:///{folder}/cockpit.db"
    duckdb = folder / "indicators.duckdb"
    settings = make_settings(
        url, env="development", security={"cookie_secure": False}, indicators={"duckdb_path": str(duckdb)}
    )
    migrate.upgrade(settings.database)
    services = open_services(settings)
    admin = Actor.system("browser-tests")
    try:
        _load(services.store, admin, folder)
        service.compute_and_store(services.db, service.Workspace(duckdb), admin, date(2024, 1, 1), date(2024, 12, 31))
        security = open_security(settings, services.db, services.store.policy)
        security.accounts.create(admin, user_id="dean.sun", display_name="孙院长", role="manager", password=PASSWORD)
        totp = security.accounts.enrol_totp("dean.sun")
        security.accounts.create(
            admin, user_id="nurse.ma", display_name="nurse.ma", role="nurse", password=PASSWORD,
            department="0101",
        )  # fmt: skip
    finally:
        services.close()
    port = free_port()
    env = served_env(
        url,
        **{
            "HUITONG_INDICATORS__DUCKDB_PATH": str(duckdb),
            "HUITONG_INDICATORS__TARGETS": '{"6": 25.0}',  # drawn as a dashed line on indicator 6's trend
        },
    )
    with huitong_serving(env, port) as base:
        yield {"base": base, "totp": totp}


def test_a_manager_reads_the_trends_drills_down_to_cases_and_exports(
    cockpit_server: dict[str, str], browser: object
) -> None:
    base = cockpit_server["base"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, base, "dean.sun", cockpit_server["totp"])
    page.goto(f"{base}/cockpit?year=2024")
    assert "院长驾驶舱" in page.locator("h1").inner_text()
    page.wait_for_selector("#trend-1 canvas")  # the ▲ indicators' monthly trends are drawn
    assert page.locator(".charts figure").count() >= 1
    assert '"target":25.0' in page.locator("#trend-data-3").inner_text()  # indicator 6, the third ▲ chart
    page.screenshot(path=str(SHOTS / "cockpit.png"), full_page=True)

    page.click("table a[href^='/cockpit/indicator/4?']")
    page.wait_for_selector("#ranking canvas")  # departments ranked, best first
    assert page.locator("a[href*='department=0301']").inner_text() == "普通外科"  # named, not coded
    page.screenshot(path=str(SHOTS / "cockpit-indicator.png"), full_page=True)
    page.click("a[href*='department=0101']")
    cases = page.locator("main").inner_text()
    assert "fp-ZY4" in cases and "fp-ZY1" not in cases  # only that department's discharges

    page.goto(f"{base}/cockpit?year=2024")
    with page.expect_download() as download:
        page.click("a[href^='/cockpit/export.xlsx']")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert "2024" in book.sheetnames

    page.goto(f"{base}/cockpit?year=2024&lang=en")
    assert "Share of level-4 (most complex) surgery among discharged surgical patients" in page.content()
    context.close()  # the browser fixture checks that no page logged a script error


def test_a_nurse_may_not_open_the_cockpit(cockpit_server: dict[str, str], browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, cockpit_server["base"], "nurse.ma")
    response = page.goto(f"{cockpit_server['base']}/cockpit")
    assert response is not None and response.status == 403
    context.close()
