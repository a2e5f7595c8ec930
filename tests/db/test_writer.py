"""The SQLite writer's two queues (db/writer.py): a job someone waits on is not held up by the bulk work queued
ahead of it, and the bulk work is not starved by a steady stream of such jobs. Real SQLite, a real writer thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from huitong.db.writer import SerialWriter


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (name TEXT)")
    yield engine
    engine.dispose()


def _rows(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.exec_driver_sql("SELECT name FROM t ORDER BY rowid")]


class _Log:
    """Jobs that insert their name, and note the order they ran in and what had committed when they did."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.committed_before: dict[str, set[str]] = {}
        self.futures: dict[str, Future[Any]] = {}
        self.holding = threading.Event()

    def job(self, name: str, *, then: Any = None, gate: threading.Event | None = None, fail: bool = False) -> Any:
        def run(conn: sa.Connection) -> str:
            if gate is not None:
                self.holding.set()  # the writer thread is in this job: what is submitted now queues behind it
                assert gate.wait(10)
            self.ran.append(name)
            self.committed_before[name] = {n for n, f in self.futures.items() if f.done() and not f.exception()}
            conn.exec_driver_sql("INSERT INTO t (name) VALUES (?)", (name,))
            if then is not None:
                then()
            if fail:
                raise ValueError(f"{name} fails")
            return name

        return run

    def submit(self, writer: SerialWriter, name: str, *, background: bool = False, **kw: Any) -> Future[Any]:
        future = writer.submit(self.job(name, **kw), background=background)
        self.futures[name] = future
        if "gate" in kw:
            assert self.holding.wait(10)
        return future


def _held_then(engine: sa.Engine, first: str, *rest: str) -> tuple[_Log, int]:
    """Submit ``first`` (it holds the writer until all of ``rest`` are queued), then ``rest`` in order — a name
    starting with ``B`` as background work —, and wait for every one; the log and the commits made."""
    writer = SerialWriter(engine)
    log, gate = _Log(), threading.Event()
    try:
        log.submit(writer, first, background=first.startswith("B"), gate=gate)
        for name in rest:
            log.submit(writer, name, background=name.startswith("B"))
        before = writer.commits
        gate.set()
        for name in (first, *rest):
            assert log.futures[name].result(10) == name
        return log, writer.commits - before
    finally:
        writer.close()


def test_a_foreground_job_waits_only_for_the_job_running_when_it_came(engine: sa.Engine) -> None:
    """Bulk work B1..B3 queued behind a running bulk job; a receipt R arrives: R runs next and commits with the
    running job, before B1..B3 run (it does not wait for their commit)."""
    log, _commits = _held_then(engine, "B0", "B1", "B2", "B3", "R")
    assert log.ran == ["B0", "R", "B1", "B2", "B3"]
    assert {"B0", "R"} <= log.committed_before["B1"]  # R's commit came before the rest of the bulk work ran
    assert _rows(engine) == ["B0", "R", "B1", "B2", "B3"]


def test_bulk_work_takes_its_turn_against_a_steady_stream_of_foreground_jobs(engine: sa.Engine) -> None:
    """Each foreground job queues the next, as readers' audit entries arrive without pause; with at most two jobs per
    commit the background job still runs in the second transaction, not after the stream dries up."""
    writer = SerialWriter(engine, batch_max=2)
    log, gate = _Log(), threading.Event()

    def chain(n: int) -> Any:
        return (lambda: log.submit(writer, f"F{n + 1}", then=chain(n + 1))) if n < 6 else None

    try:
        log.submit(writer, "F0", gate=gate)
        log.submit(writer, "F1", then=chain(1))
        bulk = log.submit(writer, "B", background=True)
        gate.set()
        assert bulk.result(10) == "B"
        for n in range(7):  # each future exists once the job before it ran
            deadline = time.monotonic() + 10
            while f"F{n}" not in log.futures and time.monotonic() < deadline:
                time.sleep(0.01)
            assert log.futures[f"F{n}"].result(10) == f"F{n}"
    finally:
        writer.close()
    assert log.ran[:4] == ["F0", "B", "F1", "F2"]  # F1 came while F0's transaction ran; B was owed the next
    assert sorted(_rows(engine)) == sorted(["B", *(f"F{n}" for n in range(7))])


def test_background_jobs_queued_together_share_a_commit(engine: sa.Engine) -> None:
    """B1..B3 queue while B0 is written: B0 commits alone (they came after its transaction began), then the three
    go in one transaction — group commit, as before there were two queues."""
    log, commits = _held_then(engine, "B0", "B1", "B2", "B3")
    assert commits == 2
    assert log.committed_before["B1"] >= {"B0"} and "B1" not in log.committed_before["B3"]


def test_a_first_job_that_fails_is_undone_alone_and_the_queue_goes_on(engine: sa.Engine) -> None:
    """The first job of a transaction runs without a savepoint: when it raises, the transaction is rolled back before
    anything else ran in it, and the jobs behind it commit in the next."""
    writer = SerialWriter(engine)
    log, gate = _Log(), threading.Event()
    try:
        first = log.submit(writer, "X", gate=gate, fail=True)
        good = log.submit(writer, "G")
        bulk = log.submit(writer, "B", background=True)
        gate.set()
        with pytest.raises(ValueError, match="X fails"):
            first.result(10)
        assert good.result(10) == "G" and bulk.result(10) == "B"
    finally:
        writer.close()
    assert _rows(engine) == ["G", "B"]


def test_close_writes_every_queued_job_of_both_queues(engine: sa.Engine) -> None:
    writer = SerialWriter(engine)
    log, gate = _Log(), threading.Event()
    log.submit(writer, "F0", gate=gate)
    for n in range(5):
        log.submit(writer, f"B{n}", background=True)
        log.submit(writer, f"F{n + 1}")
    threading.Timer(0.2, gate.set).start()
    writer.close()
    assert all(f.done() and f.exception() is None for f in log.futures.values())
    assert len(_rows(engine)) == 11


def test_the_writer_says_whether_a_foreground_job_came_lately(engine: sa.Engine) -> None:
    writer = SerialWriter(engine)
    try:
        writer.submit(lambda conn: None, background=True).result(10)
        assert not writer.waited_on_within(60.0)  # background work alone: nobody waited
        writer.submit(lambda conn: None).result(10)
        assert writer.waited_on_within(60.0)
        time.sleep(0.05)
        assert not writer.waited_on_within(0.01)
    finally:
        writer.close()


def test_bulk_work_queued_after_a_transaction_began_waits_for_the_next(engine: sa.Engine) -> None:
    """A pipeline worker whose batch is in the open transaction gets its answer at that commit, not after the batches
    other workers queued while it was written; foreground jobs that come meanwhile do join it."""
    log, _commits = _held_then(engine, "B0", "B1", "F")
    assert log.ran == ["B0", "F", "B1"]
    assert {"B0", "F"} <= log.committed_before["B1"]


def test_foreground_jobs_that_come_during_a_commit_wait_for_the_next(engine: sa.Engine) -> None:
    """A transaction of foreground jobs takes those queued when it began: the callers of F0 are answered at its commit
    and carry on while F1 is written, rather than wait for every job that arrives until the queue runs dry."""
    log, commits = _held_then(engine, "F0", "F1")
    assert "F0" in log.committed_before["F1"] and commits == 2
