"""Audit rows from several server processes on one database (``huitong serve --workers N``).

Each process group-commits its own rows; on SQLite the processes' writers take turns through the writer lock
file (db/writer.py). Every row acknowledged to a caller is stored exactly once, whichever process wrote it, the
one hash chain verifies, and a process killed between events loses nothing it acknowledged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from huitong.db.database import open_database
from huitong.security.audit_chain import verify_chain
from huitong.security.schema import audit_log
from huitong.settings import DatabaseSettings

# A worker process: submits audit rows ``TAG-0``, ``TAG-1`` … in bursts of 8 through the store's audit sink and
# writes each row's id to the acknowledgement file once its commit is acknowledged (the future resolved).
_WORKER = """
import sys
from huitong.security import audit
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry
from huitong.services import open_services
from huitong.settings import Settings

url, tag, count, acks = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
services = open_services(Settings(env="test", database={"url": url}, security={"secret_key": "x" * 48}))
sink = services.store.audit_sink
actor = Actor.system("tests")
with open(acks, "a", encoding="utf-8") as out:
    done = 0
    while done < count:
        ids = [f"{tag}-{i}" for i in range(done, min(count, done + 8))]
        futures = [sink.submit([audit.audit_row(actor, AuditEntry("read", entity_type="Patient", entity_id=i))])
                   for i in ids]
        for future in futures:
            future.result()
        out.write("".join(i + "\\n" for i in ids))
        out.flush()
        done += len(ids)
services.close()
"""


def _start(url: str, tag: str, count: int, acks: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", _WORKER, url, tag, str(count), str(acks)])


def _stored(url: str, tag: str) -> dict[str, int]:
    """How often each ``tag-…`` row is stored; and the chain's verdict, asserted."""
    db = open_database(DatabaseSettings(url=url))
    try:
        with db.read() as conn:
            rows = conn.execute(
                sa.select(audit_log.c.entity_id, sa.func.count())
                .where(audit_log.c.entity_id.like(f"{tag}-%"))
                .group_by(audit_log.c.entity_id)
            ).all()
            report = verify_chain(conn)
        assert report.ok, report.problems
    finally:
        db.close()
    return {entity_id: int(n) for entity_id, n in rows}


def _acked(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split() if path.exists() else []


def test_rows_of_two_processes_are_all_stored_once_on_one_chain(db_url: str, tmp_path: Path) -> None:
    workers = [_start(db_url, tag, 200, tmp_path / f"{tag}.acks") for tag in ("wa", "wb")]
    for worker in workers:
        assert worker.wait(timeout=240) == 0
    for tag in ("wa", "wb"):
        acked = _acked(tmp_path / f"{tag}.acks")
        assert len(acked) == 200
        stored = _stored(db_url, tag)
        assert stored == dict.fromkeys(acked, 1)  # every acknowledged row once, nothing else


def test_a_process_killed_between_events_loses_nothing_it_acknowledged(db_url: str, tmp_path: Path) -> None:
    victim_acks = tmp_path / "victim.acks"
    victim = _start(db_url, "kv", 10**6, victim_acks)
    survivor = _start(db_url, "ks", 300, tmp_path / "survivor.acks")
    deadline = time.monotonic() + 240
    while len(_acked(victim_acks)) < 80 and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)  # no shutdown: whatever was queued but not committed is simply gone
    victim.wait(timeout=30)
    assert survivor.wait(timeout=240) == 0  # the other process writes on after the crash (the lock was released)
    acked = _acked(victim_acks)
    assert len(acked) >= 80
    stored = _stored(db_url, "kv")
    assert all(stored.get(i) == 1 for i in acked)  # acknowledged: durable, and once
    assert all(n == 1 for n in stored.values())
    survived = _stored(db_url, "ks")
    assert sorted(survived) == sorted(_acked(tmp_path / "survivor.acks")) and len(survived) == 300
