"""`huitong serve` as a real process for the browser tests: started on loopback, stopped when the block ends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from huitong.db import migrate
from huitong.demo.seed import load_demo
from huitong.fhir.bench.server import running
from huitong.security.runtime import SecurityServices, open_security
from huitong.services import Services, open_services
from tests.conftest import make_settings


@contextmanager
def huitong_serving(env: dict[str, str], port: int) -> Iterator[str]:
    """Run ``huitong serve`` on 127.0.0.1:``port`` with ``env`` added; yields its base URL."""
    with running(["-m", "huitong", "serve", "--host", "127.0.0.1", "--port", str(port)], env, port):
        yield f"http://localhost:{port}"


def served_env(url: str, **settings: str) -> dict[str, str]:
    """The environment of a served test hospital on the database ``url``: development mode, session cookies over
    plain HTTP, a fixed secret key, and ``settings`` (``HUITONG_…`` variables) on top."""
    return {
        **os.environ,
        "HUITONG_DATABASE__URL": url,
        "HUITONG_ENV": "development",
        "HUITONG_SECURITY__COOKIE_SECURE": "false",
        "HUITONG_SECURITY__SECRET_KEY": "x" * 48,
        **settings,
    }


@contextmanager
def browser_hospital(folder: Path, name: str, *, demo: bool = True) -> Iterator[tuple[str, Services, SecurityServices]]:
    """A browser test's hospital before it is served: the SQLite database ``folder/name.db`` migrated (with the demo
    data unless ``demo`` is false), and its services and security services open for the test to add accounts and
    records; closed when the block ends. Yields ``(url, services, security)``; serve ``url`` after the block."""
    url = f"sqlite:///{folder}/{name}.db"
    settings = make_settings(url, env="development", security={"cookie_secure": False})
    migrate.upgrade(settings.database)
    services = open_services(settings)
    try:
        if demo:
            load_demo(services.store)
        yield url, services, open_security(settings, services.db, services.store.policy)
    finally:
        services.close()
