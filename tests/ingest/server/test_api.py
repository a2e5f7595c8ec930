"""The dashboard API, the HTTP source and the page, through the real app; the engine in the app's lifespan."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import hl7.client
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.ingest import inbox
from huitong.ingest.hl7v2.ack import read_ack
from huitong.ingest.mllp.framing import MllpDecoder
from huitong.ingest.schema import PROCESSED
from huitong.security.schema import audit_log
from tests.conftest import AUTH, make_settings
from tests.ingest.server.conftest import adt, oru


def test_http_source_stats_search_errors_and_replay(client: TestClient) -> None:
    answer = client.post("/api/ingest/channels/lab/messages", content=oru("H1", mrn="4711"))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/hl7-v2")
    assert read_ack(answer.content).code == "AA"
    bad = client.post("/api/ingest/channels/lab/messages", content=b"not hl7 at all")
    assert read_ack(bad.content).code == "AR"

    stats = client.get("/api/ingest/stats").json()
    assert stats["processing"] == {"holder": None, "until": None, "active": False, "this_engine": False}  # no engine
    [lab] = stats["channels"]
    assert lab["channel"] == "lab"
    assert lab["counts"]["received"] == 1 and lab["counts"]["error"] == 1
    assert lab["queued"] == 1
    assert lab["rates_per_min"]["5m"]["received"] > 0
    assert sum(stats["received_per_5min"]["series"]["lab"]) == 2

    found = client.get("/api/ingest/messages", params={"patient": "4711"}).json()["messages"]
    assert [m["control_id"] for m in found] == ["H1"]
    one = client.get(f"/api/ingest/messages/{found[0]['id']}").json()
    assert one["raw"].startswith("MSH|^~\\&|LIS")
    assert client.get("/api/ingest/messages/999999").status_code == 404

    errors = client.get("/api/ingest/errors").json()["messages"]
    assert len(errors) == 1 and errors[0]["raw"] == "not hl7 at all" and "no MSH" in errors[0]["error"]
    assert client.post("/api/ingest/replay", json={"status": "error"}).json() == {"replayed": 1}
    assert client.post("/api/ingest/replay", json={}).status_code == 400


def test_a_channel_quiet_for_minutes_but_busy_within_the_hour_has_every_rate_and_the_page_shows(
    client: TestClient,
) -> None:
    """Five to sixty minutes after a burst the 60-minute window had the channel and the others did not: the
    JSON lacked the 1- and 5-minute rates and the dashboard page failed (500) on them."""
    from huitong.ingest.api import stats

    assert client.post("/api/ingest/channels/lab/messages", content=oru("Q1", mrn="4712")).status_code == 200
    later = stats(client.app.state.services.db, now=datetime.now(UTC) + timedelta(minutes=10))  # type: ignore[attr-defined]
    [lab] = later["channels"]
    assert lab["rates_per_min"]["60m"]["received"] > 0
    assert lab["rates_per_min"]["5m"] == lab["rates_per_min"]["1m"] == {"received": 0, "processed": 0, "errored": 0}


def test_the_api_needs_credentials(client: TestClient) -> None:
    client.headers.pop("Authorization")
    assert client.get("/api/ingest/stats").status_code == 401


@pytest.fixture
def engine_client(db_url: str) -> Iterator[TestClient]:
    settings = make_settings(
        db_url,
        env="development",
        security={"allow_anonymous": True},
        mllp={"enabled": True, "host": "127.0.0.1", "port": 0},
        ingest={"poll_interval_s": 0.2, "workers": 2},
    )
    with TestClient(create_app(settings), headers=AUTH) as test_client:
        yield test_client


def test_the_engine_runs_in_the_app_and_the_page_shows_it(engine_client: TestClient) -> None:
    port = engine_client.app.state.ingest.servers[0].port  # type: ignore[attr-defined]
    with hl7.client.MLLPClient("127.0.0.1", port) as mllp:
        acks = [mllp.send_message(m) for m in (adt("W1"), oru("W2"), b"MSH|^~\\&|X|Y|||||ZZZ^Z01|W3|P|2.5\r")]
    assert [read_ack(MllpDecoder().feed(a)[0]).code for a in acks] == ["AA", "AA", "AA"]
    deadline = time.monotonic() + 60
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = engine_client.get("/api/ingest/stats").json()["channels"][0]["counts"]
        if counts["processed"] == 2 and counts["unsupported"] == 1:
            break
        time.sleep(0.2)
    assert (counts["processed"], counts["unsupported"], counts["received"]) == (2, 1, 0)

    metrics = engine_client.get("/metrics").text  # the engine's gauges, read at scrape time
    for line in (
        "huitong_ingest_processing 1.0",
        'huitong_queue_depth{queue="ingest_received"} 0.0',
        'huitong_queue_depth{queue="ingest_in_flight"} 0.0',
        "huitong_mllp_received_total 3.0",
    ):
        assert line in metrics, line
    processing = engine_client.get("/api/ingest/stats").json()["processing"]
    assert processing["active"] and processing["this_engine"]  # this server's engine holds the processing lease
    assert processing["holder"] == engine_client.app.state.ingest.pipeline.lease.holder  # type: ignore[attr-defined]

    engine_client.headers.pop("Authorization")  # the page, as the anonymous development user
    page = engine_client.get("/ingest")
    assert page.status_code == 200 and "集成引擎" in page.text
    # a type no mapping covers is listed as such, with a link to its messages, not among the errors
    errors, _, unsupported = page.text.partition('id="unsupported-types"')
    assert "ZZZ^Z01" not in errors and '<tr data-type="ZZZ^Z01"><td>ZZZ^Z01</td><td class="num">1<' in unsupported
    assert "/ingest/messages?status=unsupported&type=ZZZ%5EZ01" in unsupported
    found = engine_client.get("/ingest/messages", params={"status": "unsupported", "type": "ZZZ^Z01"}).text
    assert 'data-control-id="W3"' in found  # the link finds the message
    assert "本服务器的集成引擎正在处理消息" in page.text
    english = engine_client.get("/ingest?lang=en").text
    assert "Integration engine" in english and "integration engine is processing messages" in english
    # the board's button replays the failed messages listed above it, not the unsupported type (still unsupported)
    replayed = engine_client.post("/ingest/replay", data={"all_errors": "true"}, follow_redirects=False)
    assert replayed.status_code == 303 and "replayed=0" in replayed.headers["location"]
    unreadable = b"MSH|^~\\&|LIS|H|||||ORU^R01|||2.5\r"  # no control id: refused on receipt, kept as an error
    assert engine_client.post("/api/ingest/channels/lab/messages", content=unreadable).status_code == 200
    replayed = engine_client.post("/ingest/replay", data={"all_errors": "true"}, follow_redirects=False)
    assert replayed.status_code == 303 and "replayed=1" in replayed.headers["location"]


def test_an_operator_finds_a_message_reads_it_and_replays_it_from_its_page(engine_client: TestClient) -> None:
    for body in (oru("S1", mrn="4713"), oru("S2", mrn="4714"), b"MSH|^~\\&|LIS|H|||||ORU^R01|||2.5\r"):
        assert engine_client.post("/api/ingest/channels/lab/messages", content=body).status_code == 200
    engine_client.headers.pop("Authorization")  # the pages, as the anonymous development user

    by_control_id = engine_client.get("/ingest/messages", params={"control_id": "S1"}).text
    assert 'data-control-id="S1"' in by_control_id and 'data-control-id="S2"' not in by_control_id
    by_patient = engine_client.get("/ingest/messages", params={"patient": "4714"}).text
    assert 'data-control-id="S2"' in by_patient and 'data-control-id="S1"' not in by_patient
    dead = engine_client.get("/ingest/messages", params={"status": "dead", "lang": "en"}).text
    assert "MSH-10 (message control id) is empty" in dead and 'data-control-id="S1"' not in dead
    later = engine_client.get("/ingest/messages", params={"since": "2099-01-01T00:00"}).text
    assert "data-control-id" not in later  # nothing received after that
    bad = engine_client.get("/ingest/messages", params={"since": "yesterday"})
    assert bad.status_code == 400 and "yesterday" in bad.text

    message_id = int(re.search(r'<tr id="message-(\d+)" data-control-id="S1"', by_control_id).group(1))  # type: ignore[union-attr]
    page = engine_client.get(f"/ingest/messages/{message_id}")
    assert page.status_code == 200 and "MSH|^~\\&amp;|LIS" in page.text and "ORU^R01" in page.text
    assert engine_client.get("/ingest/messages/999999").status_code == 404
    db = engine_client.app.state.services.db  # type: ignore[attr-defined]
    for _ in range(200):  # a message still queued is not replayed (it is on its way): wait for the pipeline
        if inbox.search(db, inbox.Query(control_id="S1"))[0].status == PROCESSED:
            break
        time.sleep(0.05)
    replayed = engine_client.post(
        "/ingest/replay", data={"message_id": str(message_id), "from_message": "true"}, follow_redirects=False
    )
    assert replayed.status_code == 303 and replayed.headers["location"].startswith(f"/ingest/messages/{message_id}?")
    assert "1 message(s) queued again" in engine_client.get(replayed.headers["location"]).text  # lang=en, remembered
    everything = engine_client.post(
        "/ingest/replay", data={"found": "true", "status": "dead", "channel": "lab"}, follow_redirects=False
    )  # every dead letter of the lab channel the browser found, from its page
    assert everything.status_code == 303
    back = everything.headers["location"]
    assert back.startswith("/ingest/messages?") and "status=dead" in back and "replayed=1" in back
    assert "1 message(s) queued again" in engine_client.get(back).text

    services = engine_client.app.state.services  # type: ignore[attr-defined]
    with services.db.read() as conn:
        searched = (
            conn.execute(
                sa.select(audit_log.c.query).where(
                    audit_log.c.entity_type == "Hl7Message", audit_log.c.query.is_not(None)
                )
            )
            .scalars()
            .all()
        )
    assert "patient=4714" in searched  # who looked for whose messages


def test_a_replay_by_search_takes_every_match_not_a_page_of_them(client: TestClient) -> None:
    """``{"status": "error"}`` replayed the newest 100 only (the search's default page), and said 100."""
    for i in range(130):
        client.post("/api/ingest/channels/lab/messages", content=f"unreadable {i}".encode())
    assert client.post("/api/ingest/replay", json={"status": "error"}).json() == {"replayed": 130}
    for i in range(3):
        client.post("/api/ingest/channels/lab/messages", content=f"unreadable again {i}".encode())
    assert client.post("/api/ingest/replay", json={"status": "error", "limit": 2}).json() == {"replayed": 2}
