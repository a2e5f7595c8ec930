"""Fixtures for the web pages: the app in development mode with demo data (anonymous developer actor)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.demo.seed import load_demo
from huitong.services import open_services
from tests.conftest import make_settings


@pytest.fixture
def demo_client(db_url: str) -> Iterator[TestClient]:
    """The real app on a fresh database with the demo data, as the anonymous development actor."""
    settings = make_settings(db_url, env="development", security={"allow_anonymous": True})
    services = open_services(settings)
    try:
        load_demo(services.store)
    finally:
        services.close()
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium (Debian's /usr/bin/chromium) for the browser journeys of a module.

    Every page the module's journeys open is watched: a script that throws, one the Content-Security-Policy
    blocks, or a file under ``/static`` that fails to load fails the module (at its end, naming the page). A page
    a journey is refused on purpose (403, 404) is not a problem: those loads are not counted.
    """
    from playwright.sync_api import sync_playwright

    from tests.web.test_browser import ARGS, CHROMIUM, SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        new_context = launched.new_context

        def watched_context(**options: Any) -> Any:
            context = new_context(**options)
            context.on("console", lambda message: _note(problems, message))
            context.on("weberror", lambda error: problems.append(f"{error.page and error.page.url}: {error.error}"))
            return context

        launched.new_context = watched_context  # type: ignore[method-assign]
        yield launched
        launched.close()
    assert not problems, "the pages logged errors:\n" + "\n".join(problems)


def _note(problems: list[str], message: Any) -> None:
    if message.type != "error":
        return
    url = str(message.location.get("url", ""))
    if message.text.startswith("Failed to load resource") and "/static/" not in url:
        return  # a page or API call answered 4xx — the journeys ask for some on purpose
    problems.append(f"{url}: {message.text}")
