"""The demo feed waits as the server's rate limit asks instead of losing bundles, and ends quietly when the server
stops."""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import threading
from pathlib import Path

import httpx
import pytest

from huitong.db import open_database
from huitong.demo.feed import feed, import_files_and_compute, post_paced, run_quality
from huitong.indicators import values
from huitong.indicators.engine import HOSPITAL
from huitong.synth import generate
from tests.conftest import make_settings


def test_a_429_is_waited_out_and_the_bundle_sent_again() -> None:
    calls: list[bytes] = []

    def server(request: httpx.Request) -> httpx.Response:
        calls.append(request.content)
        if len(calls) <= 2:
            return httpx.Response(429, headers={"Retry-After": "0"}, text="too many requests; retry after 0 s")
        return httpx.Response(200, json={"resourceType": "Bundle", "type": "transaction-response"})

    with httpx.Client(transport=httpx.MockTransport(server), base_url="http://feed.test") as client:
        response = post_paced(client, "/fhir", b'{"resourceType":"Bundle"}')
    assert response.status_code == 200
    assert calls == [b'{"resourceType":"Bundle"}'] * 3


def test_a_server_that_keeps_refusing_is_reported_not_retried_forever() -> None:
    calls = 0

    def server(_request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(429, headers={"Retry-After": "0"})

    with httpx.Client(transport=httpx.MockTransport(server), base_url="http://feed.test") as client:
        assert post_paced(client, "/fhir", b"{}", attempts=3).status_code == 429
    assert calls == 4


def test_a_server_that_stops_mid_feed_ends_the_feed_with_one_line_not_a_traceback(tmp_path: Path) -> None:
    """Ctrl+C on ``huitong demo`` closes the MLLP listener while the feed is sending: the feed says so and returns."""

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    listener = socket.create_server(("127.0.0.1", 0))  # takes the message, then hangs up without an ACK

    def hang_up() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)

    (tmp_path / "hl7" / "his").mkdir(parents=True)
    (tmp_path / "hl7" / "his" / "adt.hl7").write_bytes(
        b"MSH|^~\\&|HIS|H|HUITONG|H|20260101120000||ADT^A04|C1|P|2.5\rPID|1||P1^^^H^MR||Zhang^San\r"
    )
    http_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threads = [threading.Thread(target=http_server.serve_forever, daemon=True), threading.Thread(target=hang_up)]
    for t in threads:
        t.start()
    lines: list[str] = []
    try:
        feed(f"http://127.0.0.1:{http_server.server_port}", "token", listener.getsockname(), tmp_path, lines.append)
    finally:
        http_server.shutdown()
        http_server.server_close()
        threads[1].join(5)
        listener.close()
    assert lines[0] == "EMR (FHIR): 0 bundles stored, 0 refused"
    assert lines[-1].startswith("stopped before the end: ")
    assert "closed the connection before sending an ACK" in lines[-1]
    assert not any(line.startswith("HL7:") for line in lines)


def test_the_hospitals_file_exports_are_imported_the_year_computed_and_the_quality_rules_run(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's last step, with the operator's commands in their own processes, on a real database."""
    data = tmp_path / "synth"
    generate("tiny", 3, 2025, data)
    database = tmp_path / "demo.db"
    shutil.copyfile(sqlite_template, database)
    monkeypatch.setenv("HUITONG_DATABASE__URL", f"sqlite:///{database}")
    monkeypatch.setenv("HUITONG_INDICATORS__DUCKDB_PATH", str(tmp_path / "indicators.duckdb"))
    lines: list[str] = []
    import_files_and_compute(data, lines.append)
    run_quality(lines.append)
    assert [line.split(":")[0] for line in lines] == [
        "master", "frontpage/frontpage.csv", "his/outpatient_visits.csv", "his/charges.csv", "indicators 2025",
        "data quality",
    ]  # fmt: skip
    assert re.fullmatch(r"his/charges\.csv: .*charges\.csv: \d+ rows, \d+ accepted, 0 rejected, .*", lines[3]), lines[3]
    assert re.fullmatch(r"indicators 2025: [1-9]\d* values stored for 2025; see /cockpit", lines[-2]), lines[-2]
    assert re.fullmatch(r"data quality: \d+ findings; see /quality", lines[-1]), lines[-1]
    settings = make_settings(f"sqlite:///{database}")
    db = open_database(settings.database)
    try:
        assert values.latest_year(db, HOSPITAL) == 2025  # what the cockpit opens on
    finally:
        db.close()
