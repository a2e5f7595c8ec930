"""The HTTP ceiling: a bare ASGI app returning fixed bytes (the file named by ``HUITONG_BENCH_BODY``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_BODY = Path(os.environ.get("HUITONG_BENCH_BODY", "/dev/null")).read_bytes()
_HEADERS = [(b"content-type", b"application/fhir+json; charset=utf-8"), (b"content-length", str(len(_BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every HTTP request with the body; nothing else."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})
