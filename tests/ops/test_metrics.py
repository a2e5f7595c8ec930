"""/metrics, /readyz with queues, and JSON logs with request ids."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.ops.logs import JsonFormatter, request_id_var
from huitong.ops.metrics import Metrics
from huitong.settings import Settings


def _sample(text: str, prefix: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    assert lines, f"no sample {prefix!r}"
    return float(lines[0].rsplit(" ", 1)[1])


def test_metrics_endpoint_counts_requests_by_route_and_reports_the_platform(client: TestClient) -> None:
    assert client.get("/fhir/Patient/does-not-exist").status_code == 404
    assert client.get("/healthz").status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    route = 'route="/fhir/{type}/{id}"' if 'route="/fhir/{type}/{id}"' in text else "route="
    assert _sample(text, 'huitong_http_requests_total{method="GET",' + route) >= 1
    assert _sample(text, 'huitong_http_requests_total{method="GET",route="/healthz",status="200"}') == 1
    assert 'huitong_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/healthz"}' in text
    assert _sample(text, 'huitong_queue_depth{queue="db_writer"}') >= 0
    assert _sample(text, "huitong_backup_last_success_timestamp_seconds") == 0  # no backup taken yet
    assert "huitong_db_writer_commits_total" in text


def test_the_writer_queue_counts_what_waits_for_the_sqlite_writer(client: TestClient) -> None:
    """``huitong_queue_depth{queue="db_writer"}`` (and /readyz's writer check) is the writes someone waits on; the bulk
    work waiting beside them is a gauge of its own."""
    services = client.app.state.services  # type: ignore[attr-defined]
    if not services.db.is_sqlite:
        pytest.skip("PostgreSQL's writer runs each job at once in its caller's thread: nothing queues")
    writer, gate, holding = services.db.writer, threading.Event(), threading.Event()
    held = writer.submit(lambda conn: holding.set() or gate.wait(10))
    assert holding.wait(10)
    try:
        queued = [writer.submit(lambda conn: None) for _ in range(3)]
        queued += [writer.submit(lambda conn: None, background=True) for _ in range(2)]
        assert services.metrics.queue_checks()["db_writer"]["depth"] == 3
        text = services.metrics.render().decode()
        assert _sample(text, 'huitong_queue_depth{queue="db_writer"}') == 3
        assert _sample(text, "huitong_db_writer_background_queued") == 2
    finally:
        gate.set()
    held.result(10)
    for future in queued:
        future.result(10)
    assert services.metrics.queue_checks()["db_writer"]["depth"] == 0


def test_readyz_reflects_registered_queues(client: TestClient) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert set(ready.json()["checks"]) == {"database", "schema", "writer"}
    assert ready.json()["checks"]["writer"]["depth"] >= 0
    metrics: Metrics = client.app.state.services.metrics  # type: ignore[attr-defined]
    metrics.queue("mllp_test", lambda: 50, limit=10)
    metrics.gauge("huitong_test_things", "Things, for the test.", lambda: 7)
    busy = client.get("/readyz")
    assert busy.status_code == 503
    assert busy.json()["checks"]["queue:mllp_test"] == {"ok": False, "depth": 50, "limit": 10}
    text = client.get("/metrics").text
    assert _sample(text, 'huitong_queue_depth{queue="mllp_test"}') == 50
    assert _sample(text, "huitong_test_things") == 7


def test_json_log_lines_carry_the_request_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("huitong.tests.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    token = request_id_var.set("abc123")
    try:
        logger.info("stored %s", "Patient/1", extra={"channel": "adt"})
    finally:
        request_id_var.reset(token)
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["message"] == "stored Patient/1"
    assert (line["request_id"], line["channel"], line["level"]) == ("abc123", "adt", "INFO")


def test_access_log_has_the_request_id(client: TestClient) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("huitong.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        client.get("/healthz", headers={"X-Request-ID": "drill-42"})
    finally:
        access.removeHandler(handler)
        access.setLevel(logging.NOTSET)
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert (entry["request_id"], entry["route"], entry["status"]) == ("drill-42", "/healthz", 200)


def test_json_logging_is_switched_on_by_the_setting(sqlite_settings: Settings) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    settings = sqlite_settings.model_copy(
        update={"logging": sqlite_settings.logging.model_copy(update={"json_format": True})}
    )
    try:
        create_app(settings)
        (handler,) = root.handlers
        assert isinstance(handler.formatter, JsonFormatter)
        assert logging.getLogger("huitong.access").level == logging.INFO
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
        logging.getLogger("huitong.access").setLevel(logging.NOTSET)


def test_metrics_token_is_required_when_set(settings: Settings) -> None:
    guarded = settings.model_copy(
        update={"ops": settings.ops.model_copy(update={"metrics_token": SecretStr("scrape-me-0123456789")})}
    )
    with TestClient(create_app(guarded)) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert "HUITONG_OPS__METRICS_TOKEN" in refused.text
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"})
        assert allowed.status_code == 200 and "huitong_http_requests_total" in allowed.text
