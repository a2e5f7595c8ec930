"""Where the third-party test material (``../shared``) lives, and a clean skip when it does not.

The README's test command must pass where ``../shared`` is absent: tests that read it call
:func:`require_shared`, which skips them with the reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path | None:
    """``$HUITONG_SHARED_DIR`` or ``../shared`` beside the checkout, if it exists."""
    configured = os.environ.get("HUITONG_SHARED_DIR")
    candidate = Path(configured) if configured else REPO_ROOT.parent / "shared"
    return candidate if candidate.is_dir() else None


def require_shared(*parts: str) -> Path:
    """The path ``shared/<parts…>``; skips the calling test when it is missing."""
    base = shared_dir()
    path = base.joinpath(*parts) if base else None
    if path is None or not path.exists():
        pytest.skip(f"third-party test data shared/{'/'.join(parts)} is not present (set HUITONG_SHARED_DIR)")
    return path


def r4_example_resources() -> Iterator[dict[str, Any]]:
    """Every resource of the official R4 examples (``shared/testdata/fhir-r4-examples``), bundle entries
    included; skips the calling test when the examples are missing."""
    examples = require_shared("testdata", "fhir-r4-examples")
    for path in sorted(examples.rglob("*.json")):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        yield from _resources(body)


def _resources(body: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
        return
    yield body
    for entry in body.get("entry") or ():
        if isinstance(entry, dict):
            yield from _resources(entry.get("resource"))
