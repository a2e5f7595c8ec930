"""A lean HTTP/1.1 load generator on asyncio streams (keep-alive, one connection per client).

Lighter than any HTTP client library, so the server, not the generator, is what gets measured.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    """Latencies (seconds) of the successful requests, the failures and the elapsed time."""

    latencies: list[float]
    failures: int
    elapsed: float
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def _client(
    host: str, port: int, paths: itertools.cycle[str], headers: bytes, until: float, limit: int, out: LoadResult
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        done = 0
        while time.perf_counter() < until and done < limit:
            path = next(paths)
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n".encode() + headers + b"\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if status == 200:
                out.latencies.append(time.perf_counter() - started)
            else:
                out.failures += 1
                out.statuses[str(status)] = out.statuses.get(str(status), 0) + 1
            done += 1
    finally:
        writer.close()


def run_load(
    host: str,
    port: int,
    paths: Sequence[str],
    *,
    clients: int,
    seconds: float,
    token: str | None = None,
    max_requests: int = 10**9,
) -> LoadResult:
    """GET ``paths`` round-robin from ``clients`` connections for ``seconds`` (or ``max_requests`` each)."""
    headers = f"Authorization: Bearer {token}\r\n".encode() if token else b""
    result = LoadResult([], 0, 0.0)

    async def main() -> None:
        until = time.perf_counter() + seconds
        cycles = [itertools.cycle(paths[i::clients] or paths) for i in range(clients)]
        started = time.perf_counter()
        await asyncio.gather(
            *(_client(host, port, cycles[i], headers, until, max_requests, result) for i in range(clients))
        )
        result.elapsed = time.perf_counter() - started

    asyncio.run(main())
    return result
