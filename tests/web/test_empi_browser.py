"""The EMPI review queue in a real browser (headless Chromium via Playwright) against a real server process:
the quality officer signs in with a second factor, finds the page in the navigation, accepts one pair (a
CSRF-protected POST) and sees the queue shrink. Skipped where Debian's chromium is absent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from huitong.db import migrate
from huitong.fhir.bench.server import free_port
from huitong.security.actor import Actor
from huitong.security.runtime import open_security
from huitong.services import open_services
from tests.web.serving import huitong_serving, served_env
from tests.web.test_browser import CHROMIUM, PASSWORD, SHOTS, _sign_in
from tests.web.test_empi_page import queue_two_pairs, review_settings

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A served platform with two pairs in the review queue, a quality officer (TOTP) and a nurse."""
    folder = tmp_path_factory.mktemp("empi-browser")
    url = f"sqlite:///{folder}/empi.db"
    settings = review_settings(url, folder, env="development", security={"cookie_secure": False})
    migrate.upgrade(settings.database)
    queue_two_pairs(settings)
    services = open_services(settings)
    try:
        security = open_security(settings, services.db, services.store.policy)
        admin = Actor.system("browser-tests")
        security.accounts.create(
            admin, user_id="qo.chen", display_name="陈质控", role="quality_officer", password=PASSWORD
        )
        security.accounts.create(
            admin, user_id="nurse.he", display_name="nurse.he", role="nurse", password=PASSWORD, department="d1"
        )
        totp = security.accounts.enrol_totp("qo.chen")
    finally:
        services.close()
    port = free_port()
    env = served_env(
        url,
        **{
            "HUITONG_EMPI__MODEL_PATH": str(folder / "absent-model.json"),
            "HUITONG_EMPI__AUTO_LINK_THRESHOLD": "0.999999999",
        },
    )
    with huitong_serving(env, port) as base:
        yield {"base": base, "totp": totp}


def test_quality_officer_accepts_a_pair_and_the_queue_shrinks(server: dict[str, str], browser: object) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, server["base"], "qo.chen", server["totp"])
    page.goto(f"{server['base']}/cockpit")  # the officer's pages carry the navigation
    page.click("nav a[href='/empi/review']")
    page.wait_for_selector("#queue-count")
    assert page.locator("#queue-count").get_attribute("data-count") == "2"
    first = page.locator("section.review-item").first
    assert "ZHANG WEIHUA" in first.inner_text() and "张伟华" in first.inner_text()
    assert first.locator("tr[data-comparison='name']").inner_text().count("拼音一致") == 1
    page.screenshot(path=str(SHOTS / "empi-review.png"), full_page=True)
    first.locator("input[name=reason]").fill("出生日期、电话一致，PACS 仅登记拼音")
    with page.expect_navigation():
        first.locator("button[value=accept]").click()
    page.wait_for_selector("[role=status]")
    assert page.locator("#queue-count").get_attribute("data-count") == "1"
    assert "ZHANG WEIHUA" not in page.locator("main").inner_text()
    page.goto(f"{server['base']}/empi/review?status=accepted&lang=en")
    assert "qo.chen" in page.locator("main").inner_text()  # the decision names the user
    context.close()


def test_roles_without_the_area_are_refused(server: dict[str, str], browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, server["base"], "nurse.he")
    page.goto(f"{server['base']}/nurse")
    assert page.locator("nav a[href='/empi/review']").count() == 0
    assert page.goto(f"{server['base']}/empi/review").status == 403
    response = page.request.post(f"{server['base']}/empi/review/2/accept", form={"reason": "x"})
    assert response.status in (403, 400)  # no CSRF token, and not the role anyway
    context.close()
    assert re.match(r"http://localhost:\d+", server["base"])
