"""Fixtures for the web pages: the app in development mode with demo data (anonymous developer actor)."""

from __future__ import annotations

from collections.abc import Iterator

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
    """Headless Chromium (Debian's /usr/bin/chromium) for the browser journeys of a module."""
    from playwright.sync_api import sync_playwright

    from tests.web.test_browser import ARGS, CHROMIUM, SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()
