"""``huitong hl7 check`` and ``huitong hl7 send`` (the HL7 tools' Typer app, run in-process)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from huitong.ingest.hl7v2.ack import build_ack
from huitong.ingest.hl7v2.cli import app
from huitong.ingest.hl7v2.parse import parse_message
from huitong.ingest.mllp.framing import MllpDecoder, frame

DATA = Path(__file__).resolve().parents[2] / "data" / "hl7v2"
runner = CliRunner()


def test_check_prints_one_line_per_message(tmp_path: Path) -> None:
    batch = tmp_path / "batch.hl7"
    oru = (DATA / "oru_r01_critical" / "input.hl7").read_bytes()
    batch.write_bytes(b"FHS|^~\\&\rBHS|^~\\&\r" + oru + b"MSH|^~\\&|X|Y|Z|W|2026||BAR^P01|B1|P|2.5\rBTS|2\rFTS|1\r")
    result = runner.invoke(app, ["check", str(batch), str(DATA / "adt_a40_merge" / "input.hl7")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith("#1 ORU^R01 LIS0000123: accepted → Patient 1, Location 1, Encounter 1, Practitioner 1, "
                             "ServiceRequest 1, DiagnosticReport 1, Observation 5")  # fmt: skip
    assert "BAR^P01 B1: rejected (AR 200): message type 'BAR' is not mapped" in lines[1]
    assert "ADT^A40 EMPI0001: accepted → Patient 1" in lines[2]


def test_check_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.hl7"
    bad.write_bytes(b"MSH|^~\\&|A|B|C|D|2026||ADT^A01|C1|P|9.1\r")
    result = runner.invoke(app, ["check", "--json", str(bad), str(DATA / "adt_a40_merge" / "input.hl7")])
    assert result.exit_code == 0
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first == {
        "file": str(bad),
        "index": 1,
        "type": "ADT^A01",
        "control_id": "C1",
        "status": "rejected",
        "ack": "AR",
        "error_code": "203",
        "reason": "MSH-12 version '9.1' is not supported (2.1 to 2.8 are)",
        "location": "MSH-12",
    }
    assert second["merge"] == {"surviving": ["0001234567"], "merged": ["0009999999"]}


def test_check_missing_file_is_a_usage_error() -> None:
    result = runner.invoke(app, ["check", "/nonexistent/file.hl7"])
    assert result.exit_code == 2
    assert "not a readable file" in result.output


@pytest.fixture
def ack_server() -> Iterator[int]:
    loop = asyncio.new_event_loop()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = MllpDecoder()
        try:
            while chunk := await reader.read(4096):
                for payload in decoder.feed(chunk):
                    writer.write(frame(build_ack(parse_message(payload), "AA")))
                    await writer.drain()
        finally:
            writer.close()

    async def shutdown() -> None:
        # Close the listener and every connection's task inside the loop, so nothing is left for the garbage
        # collector to report during a later test (an unclosed transport is a test failure here).
        server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield server.sockets[0].getsockname()[1]
    asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_send_prints_each_ack(ack_server: int) -> None:
    files = [str(DATA / case / "input.hl7") for case in ("adt_a01_chinese_inpatient", "oru_r01_critical")]
    result = runner.invoke(app, ["send", *files, "--host", "127.0.0.1", "--port", str(ack_server)])
    assert result.exit_code == 0, result.output
    assert "HIS20260105000001 AA" in result.stdout
    assert "LIS0000123 AA" in result.stdout


def test_send_reports_a_refused_connection() -> None:
    result = runner.invoke(
        app, ["send", str(DATA / "adt_a40_merge" / "input.hl7"), "--host", "127.0.0.1", "--port", "1"]
    )
    assert result.exit_code == 1, result.output
    assert "error: cannot connect to 127.0.0.1:1" in result.output or "timed out" in result.output
