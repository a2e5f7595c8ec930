"""The message store's two helpers for a hospital's volume, on both backends: the totals per channel and status
kept by triggers (``ingest_tally``) and the index of patient identifiers (``ingest_message_patient``). Each is
checked against the message table itself after every kind of change: receipt (with repeats and refusals), the
pipeline's marks, replay, retention and folding."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from huitong.ingest import inbox, tally
from huitong.ingest.inbox import Incoming, Mark, Query
from huitong.ingest.receive import examine
from huitong.ingest.schema import (
    ERROR,
    PROCESSED,
    RECEIVED,
    STATUSES,
    ingest_message,
    ingest_message_patient,
    ingest_tally,
)
from huitong.services import Services
from tests.ingest.server.conftest import adt, oru, rows

MULTI = (
    "MSH|^~\\&|HIS|HOSP|HUITONG|HOSP|20261127080000||ADT^A08^ADT_A01|{cid}|P|2.5.1\r"
    "PID|1||MRN 7^^^HOSP^MR~ID-{cid}^^^HOSP^NI~MRN 7^^^HOSP^PN~{long}^^^HOSP^XX||王^五||19900101|F\r"
)


def _multi(cid: str) -> bytes:
    return MULTI.format(cid=cid, long="L" * 300).encode()


def _store(services: Services, messages: list[Incoming]) -> None:
    services.db.write(lambda conn: inbox.insert_batch(conn, messages))


def _truth(services: Services) -> dict[str, dict[str, int]]:
    """Messages per channel and status, counted from the message table itself."""
    t = ingest_message
    out: dict[str, dict[str, int]] = {}
    with services.db.read() as conn:
        for channel, status, n in conn.execute(
            sa.select(t.c.channel, t.c.status, sa.func.count()).group_by(t.c.channel, t.c.status)
        ):
            out.setdefault(channel, dict.fromkeys(STATUSES, 0))[status] = int(n)
    return out


def _index(services: Services) -> set[tuple[str, int]]:
    with services.db.read() as conn:
        return {(str(p), int(m)) for p, m in conn.execute(sa.select(ingest_message_patient))}


def _expected_index(services: Services) -> set[tuple[str, int]]:
    """The identifiers of every message the pipeline has marked at least once (receipt writes no index rows)."""
    return {(token, int(r.id)) for r in rows(services) if r.attempts for token in inbox.id_tokens(r.patient_ids)}


def _tally_rows(services: Services) -> int:
    with services.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(ingest_tally)).scalar_one())


def test_totals_follow_receipt_marks_replay_purge_and_folding(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    first = [examine(adt(f"A{i}"), "his").incoming for i in range(5)] + [examine(b"junk", "his").incoming]
    for m in first[:3]:
        m.received_at = old
    _store(services, first)
    _store(services, [examine(oru(f"O{i}"), "lis").incoming for i in range(4)] + [examine(oru("O1"), "lis").incoming])
    assert tally.counts(services.db) == _truth(services)
    assert tally.counts(services.db)["lis"][RECEIVED] == 4  # the repeat of O1 is not stored, nor counted
    by_id = {r.control_id: r.id for r in rows(services)}
    services.db.write(
        lambda conn: inbox.mark_many(
            conn, [Mark(by_id[c], PROCESSED) for c in ("A0", "A1", "A2", "O0")] + [Mark(by_id["O2"], ERROR, "bad")]
        )
    )
    services.db.write(lambda conn: inbox.mark(conn, by_id["O3"], PROCESSED))
    services.db.write(lambda conn: inbox.mark(conn, by_id["O3"], PROCESSED))  # the same status again: no change
    assert tally.counts(services.db) == _truth(services)
    assert inbox.replay(services.db, q=Query(status="dead", channel="lis")) == 1
    assert tally.counts(services.db) == _truth(services)
    assert inbox.purge(services.db, datetime.now(UTC) - timedelta(days=365)) == 3
    assert (
        tally.counts(services.db)
        == _truth(services)
        == {
            "his": {"received": 2, "processed": 0, "error": 1, "filtered": 0, "unsupported": 0},
            "lis": {"received": 2, "processed": 2, "error": 0, "filtered": 0, "unsupported": 0},
        }
    )
    assert _tally_rows(services) <= 2 * len(STATUSES)  # the purge folded the changes
    for i in range(30):  # one statement each (PostgreSQL's triggers write a row per statement, SQLite's per row)
        _store(services, [examine(oru(f"P{i}"), "lis").incoming])
    assert _tally_rows(services) > 30
    monkeypatch.setattr(tally, "TALLY_FOLD_AT", 10)  # counts() folds a long tally before it sums it
    assert tally.counts(services.db) == _truth(services)
    assert _tally_rows(services) <= 2 * len(STATUSES)
    assert services.db.write(tally.fold_tally) <= 2 * len(STATUSES)  # folding again changes nothing
    assert tally.counts(services.db) == _truth(services)
    assert inbox.purge(services.db, datetime.now(UTC) + timedelta(days=1), keep_dead=False) == 3  # not the queued
    assert (
        tally.counts(services.db)
        == _truth(services)
        == {
            "his": dict.fromkeys(STATUSES, 0) | {"received": 2},
            "lis": dict.fromkeys(STATUSES, 0) | {"received": 32},
        }
    )
    assert _tally_rows(services) == 2  # channels and statuses with no messages left are gone


def test_patient_identifiers_are_found_in_the_queue_and_through_the_index(services: Services) -> None:
    _store(services, [examine(_multi("M1"), "his").incoming, examine(_multi("M2"), "his").incoming])
    _store(services, [examine(oru("O1", mrn="P-1"), "lis").incoming, examine(b"junk", "lis").incoming])
    _store(services, [examine(_multi("M1"), "his").incoming])  # a repeat adds nothing
    assert _index(services) == set()  # receiving writes no index rows: the queued messages are searched as they are

    def found(patient_id: str, **criteria: object) -> list[str | None]:
        query = Query(patient_id=patient_id, **criteria)  # type: ignore[arg-type]
        return [r.control_id for r in inbox.search(services.db, query)]

    def everything() -> None:
        assert found("MRN 7") == found("MRN_7") == ["M2", "M1"]  # newest first; a space as sent, or as stored
        assert found("ID-M1") == ["M1"] and found("P-1") == ["O1"] and found("MRN") == [] and found("7") == []
        assert found("MRN 7", limit=1) == ["M2"] and found("MRN 7", limit=1, offset=1) == ["M1"]
        assert found("MRN 7", channel="lis") == [] and found("P-1", message_type="ORU") == ["O1"]

    everything()
    by_id = {r.control_id: r.id for r in rows(services)}
    services.db.write(lambda conn: inbox.mark_many(conn, [Mark(by_id["M2"], PROCESSED), Mark(by_id["O1"], ERROR, "x")]))
    assert _index(services) == _expected_index(services)
    assert len(_index(services)) == 3 + 1  # M2: MRN 7 once, its own NI, the long id cut to 255; O1: P-1
    everything()  # M2 and O1 through the index, M1 still in the queue
    assert found("L" * 300) == ["M2", "M1"] and found("L" * 255) == ["M2"]  # the index keeps 255 characters
    assert found("MRN 7", status=RECEIVED) == ["M1"] and found("MRN 7", status=PROCESSED) == ["M2"]

    m1 = by_id["M1"]  # processed with other identifiers than receipt read (a message refused, then replayed)
    services.db.write(lambda conn: inbox.mark_many(conn, [Mark(m1, PROCESSED, patient_ids="ID-M1 NEW-9")]))
    assert _index(services) == _expected_index(services)
    assert found("NEW-9") == ["M1"] and found("MRN 7") == ["M2"] and found("ID-M1") == ["M1"]
    assert inbox.replay(services.db, [m1]) == 1  # queued again: found once, through the index and the queue
    assert found("NEW-9") == ["M1"]

    services.db.write(lambda conn: inbox.mark(conn, m1, PROCESSED))
    assert inbox.purge(services.db, datetime.now(UTC) + timedelta(days=1)) == 2
    assert found("NEW-9") == [] and found("ID-M1") == [] and found("MRN 7") == []
    assert _index(services) == _expected_index(services) == {("P-1", by_id["O1"])}  # the dead letter is kept


def test_the_running_engine_folds_the_tally(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from huitong.ingest import engine as engine_module

    monkeypatch.setattr(engine_module, "TALLY_FOLD_EVERY_S", 0.05)
    monkeypatch.setattr(tally, "TALLY_FOLD_AT", 5)
    for i in range(20):
        _store(services, [examine(oru(f"E{i}"), "lis").incoming])
    engine = engine_module.Engine(services.settings, services.store, listen=False)

    async def run() -> None:
        await engine.start()
        try:
            for _ in range(200):  # the pipeline processes the messages; the engine folds what that changed
                await asyncio.sleep(0.05)
                if _truth(services)["lis"][PROCESSED] == 20 and _tally_rows(services) <= 5:
                    break
        finally:
            await engine.stop()

    asyncio.run(run())
    assert _truth(services)["lis"][PROCESSED] == 20
    assert _tally_rows(services) <= 5
    assert tally.counts(services.db) == _truth(services)


def test_purge_in_chunks_keeps_dead_letters_and_queued_messages(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox, "_PURGE_CHUNK", 3)
    old = datetime.now(UTC) - timedelta(days=400)
    messages = [examine(oru(f"Q{i}", mrn=f"P{i}"), "lis").incoming for i in range(20)]
    for i, m in enumerate(messages):
        m.received_at = old + timedelta(seconds=i // 5)  # five at a time share a moment, across chunk boundaries
    _store(services, messages)
    by_id = {r.control_id: r.id for r in rows(services)}
    dead = {f"Q{i}" for i in (0, 4, 7, 13, 19)}
    queued = {"Q2", "Q11"}
    services.db.write(
        lambda conn: inbox.mark_many(
            conn,
            [
                Mark(by_id[c], ERROR if c in dead else PROCESSED, "x" if c in dead else None)
                for c in by_id
                if c not in queued
            ],
        )
    )
    assert inbox.purge(services.db, datetime.now(UTC) - timedelta(days=365)) == 13
    assert {r.control_id for r in rows(services)} == dead | queued
    assert _index(services) == _expected_index(services)
    assert tally.counts(services.db) == _truth(services)
