"""``huitong bench ingest`` runs end to end on a few messages and reports its fields (figures live in docs)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from huitong.ingest import bench_floor
from huitong.ingest.bench import _Background, _drive, echo_run, floor_run, ingest_run, pipeline_run, tagged_messages
from huitong.ingest.mllp.framing import frame


@pytest.mark.parametrize("kind", ["protocol", "streams"])
def test_echo_baselines_answer_every_message(kind: str) -> None:
    result = echo_run(40, None, kind)
    assert result["messages"] == 40
    assert result["msgs_per_s"] > 0 and result["ack_p99_ms"] >= result["ack_p50_ms"] > 0


def test_the_floor_stores_every_message_it_acknowledges(tmp_path: Path) -> None:
    """The durable floor really commits each message (raw bytes and control id) and ACKs each one."""
    path = str(tmp_path / "floor.db")
    messages = tagged_messages(40, None, "T")
    bg = _Background()
    try:
        server, writer = bg.run(bench_floor.durable_echo(path))
        result = _drive(server.sockets[0].getsockname()[1], messages, 8)
        server.close()
    finally:
        bg.close()
    writer.close()
    assert result["messages"] == 40
    stored = bench_floor.stored(path)
    assert sorted(stored) == sorted((f"T-{i}", m) for i, m in enumerate(messages))
    assert floor_run(40, None)["msgs_per_s"] > 0


@pytest.mark.parametrize(("parse", "ack"), [(False, b"MSA|AA|1"), (True, b"MSA|AR|1")])
def test_the_parsing_floor_refuses_a_malformed_body(tmp_path: Path, parse: bool, ack: bytes) -> None:
    """The floor with the whole message parsed (the work the issue requires of a listener) answers a body the parser
    refuses with AR and the reason; the MSH-only floor cannot tell and answers AA. Both store it."""
    twice = b"MSH|^~\\&|A|B|C|D|2026||ADT^A01|1|P|2.5\rMSH|^~\\&|A|B|C|D|2026||ADT^A01|2|P|2.5\r"
    path = str(tmp_path / "floor.db")
    bg = _Background()
    try:
        server, writer = bg.run(bench_floor.durable_echo(path, parse=parse))
        port = server.sockets[0].getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(frame(twice))
            answer = b""
            while not answer.endswith(b"\x1c\r"):
                answer += sock.recv(4096)
        server.close()
    finally:
        bg.close()
    writer.close()
    assert ack in answer
    if parse:
        assert b"second MSH" in answer
    assert [raw for _control, raw in bench_floor.stored(path)] == [twice]


def test_durable_ingest_run_stores_and_reports(tmp_path: Path) -> None:
    result = ingest_run(f"sqlite:///{tmp_path}/bench.db", 40, None)
    assert [r["connections"] for r in result["runs"]] == [1, 8]
    assert [r["messages"] for r in result["runs"]] == [10, 40]
    assert all(r["msgs_per_s"] > 0 and r["server_cpu_ms_per_msg"] > 0 for r in result["runs"])


def test_message_store_bench_builds_a_store_and_times_its_queries(tmp_path: Path) -> None:
    """The store is built once (then cached), its tally agrees with the messages, and every field is reported."""
    import json

    from typer.testing import CliRunner

    from huitong.cli import app

    runner = CliRunner()
    args = ["bench", "message-store", "--messages", "3000", "--cache", str(tmp_path), "--repeat", "1", "--json"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    result = json.loads(first.output.strip().splitlines()[-1])
    assert result["benchmark"] == "message-store" and result["messages"] == 3000
    assert result["patient_messages"] == 1  # MRN0001500: the index found what the pattern match found
    assert result["counts_ms"] > 0 and result["counts_scan_ms"] > 0 and result["ratio_counts"] > 0
    assert set(result["search_ms"]) == {"control_id", "type", "status_error", "dead_letters", "pending_100"}
    built = (tmp_path / "inbox-3000.db").stat().st_mtime_ns
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and (tmp_path / "inbox-3000.db").stat().st_mtime_ns == built  # cached


def test_pipeline_run_processes_and_puts_back_every_row(db_url: str) -> None:
    """``huitong bench pipeline`` processes every message, and its storage limit inserts exactly the rows processing
    wrote (deleted, then inserted again, a share of every table per transaction: as many as the pipeline's batches,
    then all in one, and on PostgreSQL by parallel connections too), so the database afterwards holds what the
    pipeline left."""
    import sqlalchemy as sa

    result = pipeline_run(db_url, 24, None, 2, 5)
    assert result["processed"] == 24 and result["statuses"] == {"processed": 24}
    assert result["limit_transactions"] == 5
    assert result["rows_per_message"] > 50 and result["cpu_ms_per_msg"] > 0
    assert result["limit_msgs_per_s"] > 0 and result["one_transaction_msgs_per_s"] > 0
    if db_url.startswith("postgresql"):
        assert result["parallel_streams"] == 2 and result["parallel_msgs_per_s"] > 0
    else:
        assert "parallel_streams" not in result
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            resources = conn.execute(sa.text("SELECT count(*) FROM resource")).scalar_one()
            versions = conn.execute(sa.text("SELECT count(*) FROM resource_version")).scalar_one()
            orphans = conn.execute(
                sa.text(
                    "SELECT count(*) FROM resource_version v LEFT JOIN resource r ON r.pk = v.resource_pk"
                    " WHERE r.pk IS NULL"
                )
            ).scalar_one()
            indexed = conn.execute(sa.text("SELECT count(DISTINCT resource_pk) FROM search_token")).scalar_one()
    finally:
        engine.dispose()
    assert resources > 24 * 5 and versions >= resources and orphans == 0 and indexed > 24 * 3


def test_backlog_run_receives_while_the_pipeline_processes(tmp_path: Path) -> None:
    """``huitong bench backlog`` on a few messages: every message sent is stored (and ACKed) while the pipeline
    processes what was stored before; what it has not processed is still waiting."""
    import sqlalchemy as sa

    from huitong.db import open_database
    from huitong.ingest.bench_backlog import backlog_run
    from huitong.ingest.schema import ingest_message
    from huitong.settings import load_settings

    url = f"sqlite:///{tmp_path / 'backlog.db'}"
    result = backlog_run(url, 60, 100, None, 8)
    assert result["alone"]["messages"] == result["during"]["messages"] == 60
    assert result["store_batch"] == 8 and result["queued"] == 100
    assert result["during"]["ack_p99_ms"] >= result["during"]["ack_p50_ms"] > 0
    db = open_database(load_settings(database={"url": url}).database)
    try:
        with db.read() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(ingest_message)).scalar_one()
    finally:
        db.close()
    assert stored == 200 + 60 + 100 + 60  # the warm-up, alone, the backlog, during: the pipeline takes them in turn
    assert result["pipeline_processed"] + result["backlog_left"] < stored  # its first batch went before the senders
