"""A small in-process rate limiter (fixed one-minute windows per key).

Per process: behind several workers each allows the configured rate, so a reverse proxy's limit is still
advised (docs/security.md). Keys are client addresses (login, token) or credentials (API).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

MAX_KEYS = 100_000


class RateLimitedError(Exception):
    """Too many requests; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; retry after {retry_after} s")
        self.retry_after = retry_after


class RateLimiter:
    """Allows ``per_minute`` hits per key per clock minute."""

    def __init__(self, per_minute: int, clock: Callable[[], datetime]) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    def hit(self, key: str) -> None:
        """Count one request of ``key``; raise :class:`RateLimitedError` past the limit."""
        now = self.clock()
        window = int(now.timestamp()) // 60
        with self._lock:
            if window != self._window or len(self._counts) > MAX_KEYS:
                self._window, self._counts = window, {}
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
        if count > self.per_minute:
            raise RateLimitedError(60 - int(now.timestamp()) % 60)
