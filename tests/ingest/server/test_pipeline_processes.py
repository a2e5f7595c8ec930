"""The pipeline's worker processes (``ingest.prepare_processes``) and its threads: messages mapped, cleansed and
indexed ahead of the write, in other processes or in the worker threads, are stored exactly as the indexer would
index them in the write transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from huitong.fhir.search.index import FulltextTypes, PreparedIndex, index_rows
from huitong.fhir.stored import with_meta
from huitong.ingest import inbox
from huitong.ingest.engine import build_pipeline
from huitong.ingest.hl7v2.bench import sample_messages
from huitong.ingest.hl7v2.parse import parse_message
from huitong.ingest.prepare import MessageMapper
from huitong.ingest.receive import examine
from huitong.ingest.schema import PROCESSED, UNSUPPORTED
from huitong.services import open_services
from huitong.settings import Settings
from tests.conftest import make_settings
from tests.index_check import as_multiset, stored_and_expected


def test_prepared_rows_are_the_rows_of_the_stored_body() -> None:
    """Rows prepared from a mapped body equal the rows the indexer makes from the stored version (with the
    server's id, versionId and lastUpdated), with and without full-text rows."""
    now = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
    checked = 0
    for fulltext in (True, False):
        mapper = MessageMapper(index_fulltext=FulltextTypes(("*",) if fulltext else ()))
        for raw in sample_messages(120):
            result = mapper(parse_message(raw))
            assert result.error is None and result.index is not None
            for body, prepared in zip(result.resources, result.index, strict=True):
                assert isinstance(prepared, PreparedIndex) and prepared.fulltext is fulltext
                stored = with_meta(body, body["id"], 3, now)
                expected = index_rows(41, body["resourceType"], stored, fulltext=fulltext)
                assert as_multiset(prepared.rows_into(41, {})) == as_multiset(expected)
                checked += 1
    assert checked > 500


def _process(settings: Settings, payloads: list[bytes]) -> tuple[dict[str, int], int]:
    services = open_services(settings)
    try:
        services.db.write(lambda conn: inbox.insert_batch(conn, [examine(p, "default").incoming for p in payloads]))

        async def run() -> int:
            pipeline = build_pipeline(settings, services.store)
            pipeline.poll_interval = 0.05
            await pipeline.start()
            try:
                await pipeline.drain(timeout=120)
                pool = pipeline._pool
                return len(pool._processes or {}) if pool is not None else 0
            finally:
                await pipeline.stop()

        workers = asyncio.run(run())
        with services.db.read() as conn:
            statuses = {
                str(s): int(n)
                for s, n in conn.execute(sa.text("SELECT status, count(*) FROM ingest_message GROUP BY status")).all()
            }
    finally:
        services.close()
    return statuses, workers


@pytest.mark.parametrize("processes", [2, 1, 0])
def test_worker_processes_store_what_the_indexer_would(db_url: str, processes: int) -> None:
    """Messages mapped and indexed in worker processes (1, the default, or 2), or in the pipeline's own threads (0),
    with EMPI linking and the quality step on, as the engine runs: every message gets its outcome, and the index
    tables hold exactly the rows the indexer makes from the stored resources — including golden Patients and second
    versions written by the writer itself."""
    settings = make_settings(db_url, ingest={"prepare_processes": processes, "store_batch": 16})
    good = sample_messages(80)
    unsupported = (
        _with_control_id(good[0], b"UNSUPPORTED-1")
        .replace(b"|ADT^A", b"|ZZZ^Z", 1)
        .replace(b"|ORU^R01", b"|ZZZ^Z99", 1)
    )
    statuses, workers = _process(settings, [*good, unsupported])
    assert workers == processes
    assert statuses == {PROCESSED: len(good), UNSUPPORTED: 1}
    stored, expected = stored_and_expected(db_url, settings.fhir.fulltext_types)
    assert sum(stored.values()) > 80 * 50
    assert stored == expected


def _with_control_id(raw: bytes, control_id: bytes) -> bytes:
    end = raw.find(b"\r")
    fields = raw[:end].split(b"|")
    fields[9] = control_id
    return b"|".join(fields) + raw[end:]


def test_threads_prepare_the_index_rows_outside_the_writer(db_url: str) -> None:
    """Without worker processes the pipeline's threads make the index rows as they map, with the store's full-text
    choice, so the one writer only inserts them."""
    settings = make_settings(db_url, ingest={"prepare_processes": 0}, fhir={"fulltext_types": ["DiagnosticReport"]})
    services = open_services(settings)
    try:
        pipeline = build_pipeline(settings, services.store)
        now = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
        todo = [
            (inbox.MessageRow(n, now, "default", "", "", None, "", "", "received", "AA", None, [], 0, None, None, raw),
             parse_message(raw))
            for n, raw in enumerate(sample_messages(20))
        ]  # fmt: skip
        types = set()
        for result in pipeline._map_all(todo).values():
            assert result.index is not None and len(result.index) == len(result.resources)
            for body, prepared in zip(result.resources, result.index, strict=True):
                assert isinstance(prepared, PreparedIndex)
                assert prepared.fulltext is (body["resourceType"] == "DiagnosticReport")
                types.add(body["resourceType"])
        assert {"Patient", "DiagnosticReport", "Observation"} <= types
    finally:
        services.close()
