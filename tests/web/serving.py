"""`huitong serve` as a real process for the browser tests: started on loopback, stopped when the block ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from huitong.fhir.bench.server import running


@contextmanager
def huitong_serving(env: dict[str, str], port: int) -> Iterator[str]:
    """Run ``huitong serve`` on 127.0.0.1:``port`` with ``env`` added; yields its base URL."""
    with running(["-m", "huitong", "serve", "--host", "127.0.0.1", "--port", str(port)], env, port):
        yield f"http://localhost:{port}"
