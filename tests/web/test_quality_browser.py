"""The data-quality scorecard in a real browser (headless Chromium via Playwright) against a real server: an
operations user finds it in the navigation, sees the trend chart drawn, drills down to a rule's failing records
and downloads the Excel export; a nurse may not open it. Screenshot: ``test-artifacts/screenshots/quality.png``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from huitong.fhir.bench.server import free_port
from huitong.quality.run import run_batch
from huitong.security.actor import Actor
from tests.web.serving import browser_hospital, huitong_serving, served_env
from tests.web.test_browser import CHROMIUM, PASSWORD, SHOTS, _sign_in

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def quality_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with browser_hospital(tmp_path_factory.mktemp("quality-browser"), "quality") as (url, services, security):
        admin = Actor.system("browser-tests")
        security.accounts.create(
            admin, user_id="ops.zhou", display_name="ops.zhou", role="operations", password=PASSWORD
        )
        security.accounts.create(
            admin,
            user_id="nurse.he",
            display_name="nurse.he",
            role="nurse",
            password=PASSWORD,
            department="demo-dept-2",
        )
        services.store.transaction(
            admin,
            lambda tx: tx.update({"resourceType": "Patient", "id": "q-bad", "meta": {"source": "his"}}, "q-bad"),
        )
        run_batch(services.store, services.settings.quality)
        run_batch(services.store, services.settings.quality)
    with huitong_serving(served_env(url), free_port()) as base:
        yield base


def test_operations_user_reads_the_scorecard_drills_down_and_exports(quality_server: str, browser: object) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, quality_server, "ops.zhou")
    page.goto(f"{quality_server}/operations")
    page.click("nav a[href='/quality']")
    page.wait_for_selector("#scorecard")
    page.wait_for_selector("#trend canvas")
    assert "完整性" in page.locator("#scorecard").inner_text()
    page.screenshot(path=str(SHOTS / "quality.png"), full_page=True)
    page.click("tr[data-rule='patient-name-required'] a >> nth=0")
    page.wait_for_selector("#findings")
    assert "Patient/q-bad" in page.locator("#findings").inner_text()
    with page.expect_download() as download:
        page.click("a[href^='/quality/findings.xlsx']")
    content = Path(download.value.path()).read_bytes()
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None and any("q-bad" in str(c.value) for row in sheet.iter_rows() for c in row)
    page.goto(f"{quality_server}/quality?lang=en")
    assert "Scores per source system and dimension" in page.content()
    context.close()


def test_a_nurse_may_not_open_the_scorecard(quality_server: str, browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, quality_server, "nurse.he")
    page.goto(f"{quality_server}/nurse")
    assert page.locator("nav a[href='/quality']").count() == 0
    response = page.goto(f"{quality_server}/quality")
    assert response is not None and response.status == 403
    context.close()
