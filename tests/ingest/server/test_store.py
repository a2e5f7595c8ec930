"""The message store on its own: search, dead letters, replay, retention; channels files; watched folders;
and (Hypothesis) that receiving never fails on any bytes a sender may send."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from huitong.ingest import inbox, tally
from huitong.ingest.channels import ChannelConfigError, load_channels
from huitong.ingest.engine import Engine
from huitong.ingest.hl7v2.ack import read_ack
from huitong.ingest.inbox import Incoming, Query, Stored
from huitong.ingest.receive import ack_for, examine
from huitong.ingest.schema import ERROR, PROCESSED, RECEIVED
from huitong.services import Services
from tests.ingest.server.conftest import adt, oru, rows


def _store(services: Services, messages: list[Incoming]) -> list[Stored]:
    return services.db.write(lambda conn: inbox.insert_batch(conn, messages))


def test_search_by_control_id_patient_type_status_and_time(services: Services) -> None:
    old = datetime.now(UTC) - timedelta(days=3)
    first = examine(adt("S1", mrn="P-1"), "his").incoming
    first.received_at = old
    _store(services, [first, examine(oru("S2", mrn="P-2"), "lis").incoming, examine(b"junk", "lis").incoming])
    ids = {r.control_id: r.id for r in rows(services)}

    def found(**criteria: object) -> list[str | None]:
        return [r.control_id for r in inbox.search(services.db, Query(**criteria))]  # type: ignore[arg-type]

    assert found(control_id="S2") == ["S2"]
    assert found(patient_id="P-1") == ["S1"] and found(patient_id="P") == []
    assert found(message_type="ADT") == ["S1"] and found(message_type="ORU^R01") == ["S2"]
    assert found(status=ERROR) == [None] and found(status="dead") == [None]
    assert found(channel="lis") == [None, "S2"]  # newest first
    assert found(since=old + timedelta(hours=1)) == [None, "S2"]
    assert found(until=old + timedelta(hours=1)) == ["S1"]
    assert inbox.get(services.db, ids["S1"]).raw == adt("S1", mrn="P-1")  # type: ignore[union-attr]
    assert tally.counts(services.db)["lis"] == {
        "received": 1,
        "processed": 0,
        "error": 1,
        "filtered": 0,
        "unsupported": 0,
    }


def test_duplicates_within_one_batch_and_across_batches(services: Services) -> None:
    message = examine(oru("D1"), "lis").incoming
    again = examine(oru("D1"), "lis").incoming
    assert _store(services, [message, again]) == [Stored(), Stored(duplicate=True)]
    [result] = _store(services, [examine(oru("D1"), "lis").incoming])
    assert result.duplicate and result.original_id == rows(services)[0].id
    assert len(rows(services)) == 1


def test_a_large_batch_with_repeats_and_refusals(services: Services) -> None:
    """More rows than one SQLite statement takes (64), with repeats of stored messages in different statements,
    a repeat within the batch, refused messages in between, and a statement of repeats only."""
    _store(services, [examine(oru("X1"), "lis").incoming, examine(oru("X2"), "lis").incoming])
    originals = {r.control_id: r.id for r in rows(services)}
    cids = [f"N{i}" for i in range(150)]
    cids[10], cids[100], cids[120] = "X1", "X2", "N5"
    batch = [examine(b"junk" if i in (3, 70) else oru(cid), "lis").incoming for i, cid in enumerate(cids)]
    results = _store(services, batch)
    expected = [Stored()] * 150
    expected[10] = Stored(duplicate=True, original_id=originals["X1"])
    expected[100] = Stored(duplicate=True, original_id=originals["X2"])
    expected[120] = Stored(duplicate=True)  # the first N5 of this very batch is being stored with it
    assert results == expected
    stored = rows(services)
    assert len(stored) == 2 + 147
    assert [r.status for r in stored].count(ERROR) == 2
    assert [r.control_id for r in stored[2:] if r.status != ERROR] == [
        c for i, c in enumerate(cids) if i not in (3, 10, 70, 100, 120)
    ]
    again = [i for i in range(11, 100) if i != 70]  # 88 repeats of stored messages: two statements of them
    assert _store(services, [examine(oru(f"N{i}"), "lis").incoming for i in again]) == [
        Stored(duplicate=True, original_id=next(r.id for r in stored if r.control_id == f"N{i}")) for i in again
    ]
    assert len(rows(services)) == 2 + 147


def test_replay_and_retention(services: Services) -> None:
    old = examine(adt("R1"), "his").incoming
    old.received_at = datetime.now(UTC) - timedelta(days=400)
    bad = examine(b"junk", "his").incoming
    bad.received_at = old.received_at
    _store(services, [old, bad, examine(adt("R2"), "his").incoming])
    first = rows(services)[0].id
    services.db.write(lambda conn: inbox.mark(conn, first, PROCESSED, resources=["Patient/x"]))
    assert inbox.replay(services.db, q=Query(status="dead")) == 1
    assert [r.status for r in rows(services)] == [PROCESSED, RECEIVED, RECEIVED]
    services.db.write(lambda conn: inbox.mark(conn, rows(services)[1].id, ERROR, error="still junk"))
    cutoff = datetime.now(UTC) - timedelta(days=365)
    assert inbox.purge(services.db, cutoff) == 1  # the old processed message; the dead letter is kept
    assert [r.control_id for r in rows(services)] == [None, "R2"]
    assert inbox.purge(services.db, cutoff, keep_dead=False) == 1
    assert [r.control_id for r in rows(services)] == ["R2"]


def test_channels_file(tmp_path: Path) -> None:
    path = tmp_path / "channels.toml"
    path.write_text(
        """
[[channel]]
name = "lis"
source = { type = "mllp", host = "127.0.0.1", port = 2576 }
filter = { message_types = ["ORU^*"], sending_applications = ["LIS"] }

[[channel.destination]]
type = "http"
url = "https://emr.example/hl7"
retries = 3

[[channel]]
name = "his-files"
source = { type = "folder", path = "/data/his" }
repository = true
""",
        encoding="utf-8",
    )
    channels = load_channels(path)
    assert channels.names == ["lis", "his-files"]
    lis = channels.get("lis")
    assert lis.destinations[0].describe() == "https://emr.example/hl7"
    assert channels.get("unknown").name == "unknown"
    path.write_text('[[channel]]\nname = "x"\nsource = { type = "ftp" }\n', encoding="utf-8")
    with pytest.raises(ChannelConfigError, match="invalid channels file"):
        load_channels(path)
    path.write_text('[[channel]]\nname = "x"\n[[channel]]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(ChannelConfigError, match="unique"):
        load_channels(path)


def test_watched_folder_source(services: Services, tmp_path: Path) -> None:
    inbox_dir = tmp_path / "in"
    inbox_dir.mkdir()
    (inbox_dir / "batch.hl7").write_bytes(
        b"FHS|^~\\&|HIS\rBHS|^~\\&|HIS\r" + adt("FO1") + oru("FO2") + b"BTS|2\rFTS|1\r"
    )
    (inbox_dir / "ignored.txt").write_bytes(b"not a message file")
    engine = Engine(services.settings, services.store, listen=False, process=False)

    async def run() -> int:
        return await engine.ingest_folder("his-files", inbox_dir, "*.hl7", inbox_dir / "done")

    assert asyncio.run(run()) == 2
    assert [(r.channel, r.control_id) for r in rows(services)] == [("his-files", "FO1"), ("his-files", "FO2")]
    assert (inbox_dir / "done" / "batch.hl7").exists() and not (inbox_dir / "batch.hl7").exists()
    (inbox_dir / "again.hl7").write_bytes(adt("FO1"))  # a file read twice (e.g. after a crash) is no duplicate
    assert asyncio.run(run()) == 1
    assert len(rows(services)) == 2


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.builds(lambda head, tail: b"MSH" + head + b"\r" + tail, st.binary(max_size=120), st.binary(max_size=120)),
        st.builds(
            lambda cut, noise: adt("HY1")[:cut] + noise, st.integers(min_value=0, max_value=300), st.binary(max_size=40)
        ),
    )
)
@example(b"MSH.^~.......ADT^A01.X1.P.2.5\r")  # '.' as field separator, no escape character (found by CI)
@example(b"MSH|^~|||||||ADT^A01|X1|P|2.5\r")
@example(b"MSH|^^\\&|||||||ADT^A01|X1|P|2.5\r")
def test_receiving_any_bytes_gives_a_readable_ack_and_a_row(payload: bytes) -> None:
    examined = examine(payload, "fuzz")
    incoming = examined.incoming
    assert incoming.raw == payload
    assert (incoming.ack_code == "AA") == (examined.error is None) and incoming.ack_code in ("AA", "AE", "AR")
    if examined.error is not None:
        assert incoming.error and examined.error.reason in incoming.error
    ack = read_ack(ack_for(payload, examined, Stored(), application="HUITONG"))
    assert ack.code == incoming.ack_code
    if incoming.ack_code != "AA":
        assert ack.text  # the reason travels in the ACK
