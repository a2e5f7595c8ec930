"""Prometheus metrics at ``/metrics``: HTTP traffic, the database writer, queues, backups — and a registry
other domains add their own gauges and queues to.

Each :class:`Metrics` owns its registry (no process-global state), lives on
:class:`~huitong.services.Services` and is filled in three ways:

- :class:`MetricsMiddleware` (plain ASGI, a few microseconds a request) counts requests by method, route
  template and status and observes their duration;
- callback gauges read live values at scrape time: ``metrics.gauge(name, help, fn)`` for any number
  (MLLP connections, EMPI review queue, …) and ``metrics.queue(name, depth_fn, limit)`` for queues, which
  ``/readyz`` also checks against their limit;
- :func:`register_platform` adds the database writer and the newest backup.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from huitong.ops.logs import request_id_var

log = logging.getLogger(__name__)
access_log = logging.getLogger("huitong.access")

#: Request durations: 1 ms to 30 s.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class _Gauge:
    name: str
    documentation: str
    read: Callable[[], float]
    kind: str


@dataclass(frozen=True, slots=True)
class _Queue:
    depth: Callable[[], int]
    limit: int | None


class Metrics:
    """The metrics of one running Huitong. See the module docstring."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "huitong_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "huitong_http_request_duration_seconds",
            "Time to answer HTTP requests, by method and route template.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self._http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._lock = threading.Lock()
        self._gauges: dict[str, _Gauge] = {}
        self._queues: dict[str, _Queue] = {}
        self.registry.register(_Callbacks(self))

    def observe_http(self, method: str, route: str, status: int, elapsed: float) -> None:
        """Count and time one answered request (the labelled children are looked up once per label set)."""
        key = (method, route, status)
        children = self._http_children.get(key)
        if children is None:
            children = (self.http_requests.labels(method, route, str(status)), self.http_duration.labels(method, route))
            self._http_children[key] = children
        children[0].inc()
        children[1].observe(elapsed)

    def gauge(self, name: str, documentation: str, read: Callable[[], float], *, counter: bool = False) -> None:
        """Export ``read()`` as ``name`` at every scrape (a counter when it only grows). Re-registering replaces."""
        with self._lock:
            self._gauges[name] = _Gauge(name, documentation, read, "counter" if counter else "gauge")

    def queue(self, name: str, depth: Callable[[], int], *, limit: int | None = None) -> None:
        """Export a queue's depth as ``huitong_queue_depth{queue=name}``; ``/readyz`` fails above ``limit``."""
        with self._lock:
            self._queues[name] = _Queue(depth, limit)

    def queue_checks(self) -> dict[str, dict[str, object]]:
        """Each queue's depth and whether it is within its limit (for ``/readyz``)."""
        with self._lock:
            queues = dict(self._queues)
        checks: dict[str, dict[str, object]] = {}
        for name, q in sorted(queues.items()):
            try:
                depth = int(q.depth())
            except Exception as exc:  # noqa: BLE001 - a broken probe means not ready, not a crash
                checks[name] = {"ok": False, "error": type(exc).__name__}
                continue
            checks[name] = {"ok": q.limit is None or depth <= q.limit, "depth": depth, "limit": q.limit}
        return checks

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)

    def _collect_callbacks(self) -> Iterator[Metric]:
        with self._lock:
            gauges, queues = list(self._gauges.values()), dict(self._queues)
        for g in gauges:
            try:
                value = float(g.read())
            except Exception:  # one failing probe must not hide every other metric
                log.warning("metric %s could not be read", g.name, exc_info=True)
                continue
            family = CounterMetricFamily if g.kind == "counter" else GaugeMetricFamily
            yield family(g.name, g.documentation, value=value)
        depth = GaugeMetricFamily("huitong_queue_depth", "Items waiting in each queue.", labels=["queue"])
        for name, q in sorted(queues.items()):
            try:
                depth.add_metric([name], float(q.depth()))
            except Exception:  # as above
                log.warning("queue %s could not be read", name, exc_info=True)
        yield depth


class _Callbacks(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self._metrics._collect_callbacks()

    def describe(self) -> list[Metric]:
        return []


def register_platform(metrics: Metrics, db: Any, backup_directory: Path, *, queue_limit: int) -> None:
    """The database writer (queue depth, commits, jobs) and the newest backup (time, size, count)."""
    writer = db.writer
    metrics.queue("db_writer", lambda: writer.depth(), limit=queue_limit)  # the writes someone waits on
    metrics.gauge(
        "huitong_db_writer_background_queued",
        "Bulk write jobs (the pipeline's batches, purges) waiting for the single writer (SQLite).",
        lambda: float(writer.depth(background=True)),
    )
    metrics.gauge(
        "huitong_db_writer_commits",
        "Transactions committed by the single writer (SQLite).",
        lambda: writer_commits(db),
        counter=True,
    )
    metrics.gauge(
        "huitong_db_writer_jobs", "Write jobs committed by the single writer (SQLite).", lambda: writer_jobs(db)
    )

    def newest() -> tuple[float, float, float]:
        from huitong.ops.retention import list_backups

        stored = list_backups(backup_directory)
        if not stored:
            return 0.0, 0.0, 0.0
        return stored[-1].created.timestamp(), float(stored[-1].manifest.total_bytes), float(len(stored))

    metrics.gauge(
        "huitong_backup_last_success_timestamp_seconds",
        "When the newest finished backup was taken (Unix time; 0 when there is none).",
        lambda: newest()[0],
    )
    metrics.gauge("huitong_backup_last_bytes", "Size of the newest finished backup.", lambda: newest()[1])
    metrics.gauge("huitong_backups", "Finished backups in the local backup folder.", lambda: newest()[2])


def writer_commits(db: Any) -> float:
    return float(getattr(db.writer, "commits", 0))


def writer_jobs(db: Any) -> float:
    return float(getattr(db.writer, "jobs", 0))


router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
def metrics_endpoint(request: Request) -> Response:
    """Prometheus scrape endpoint (no patient data; restrict it to the monitoring network)."""
    services = request.app.state.services
    ops = services.settings.ops
    if not ops.metrics_enabled:
        return Response("metrics are disabled (HUITONG_OPS__METRICS_ENABLED=false)\n", status_code=404)
    if ops.metrics_token is not None:
        sent = request.headers.get("authorization", "")
        expected = f"Bearer {ops.metrics_token.get_secret_value()}"
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            return Response(
                "send the metrics token as `Authorization: Bearer …` (HUITONG_OPS__METRICS_TOKEN)\n",
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    metrics: Metrics = services.metrics
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts and times every HTTP request, binds its request id to the logs and writes the access log.

    The access log (logger ``huitong.access``) is written only when that logger's level was set — JSON
    logging does so — so plain-text serving does not repeat uvicorn's own access log.

    Install inside ``RequestContextMiddleware`` (add it first) so the request id is known. It finds the
    :class:`Metrics` on ``app.state.services`` at request time, since services open in the lifespan.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        token = request_id_var.set(scope.get("state", {}).get("request_id"))

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "<unmatched>"
            self.observe(scope, route, status, elapsed)
            request_id_var.reset(token)

    @staticmethod
    def observe(scope: Scope, route: str, status: int, elapsed: float) -> None:
        """Count and time one answered request, and write its access log line (also used by ``fhir/fastpath.py``)."""
        services = getattr(getattr(scope.get("app"), "state", None), "services", None)
        metrics = getattr(services, "metrics", None)
        method = str(scope.get("method", ""))
        if isinstance(metrics, Metrics):
            metrics.observe_http(method, route, status, elapsed)
        if access_log.level != logging.NOTSET and access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "%s %s %d %.1f ms",
                method,
                scope.get("path", ""),
                status,
                elapsed * 1000,
                extra={"method": method, "route": route, "status": status, "duration_ms": round(elapsed * 1000, 2)},
            )
