"""`huitong serve` as a real process for the browser tests: started on loopback, stopped when the block ends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from huitong.fhir.bench.server import running


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
