"""Where the third-party test material (``../shared``) lives, and a clean skip when it does not.

The README's test command must pass where ``../shared`` is absent: tests that read it call
:func:`require_shared`, which skips them with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

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
