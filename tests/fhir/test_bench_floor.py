"""The audited-read floor of ``huitong bench fhir`` (``fhir/bench/floor.py``) really reads and really audits.

Its figure is only a fair bound if it does the work it claims: the stored bytes from the store, a token check,
and an audit row per read, hash-chained and committed before the answer.
"""

from __future__ import annotations

import hashlib
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from huitong.db import migrate
from huitong.fhir.bench.dataset import load_fast, synthetic_resources
from huitong.fhir.bench.load import run_load
from huitong.fhir.bench.server import free_port, running
from huitong.services import open_services
from tests.conftest import make_settings

TOKEN = "floor-token-0123456789"


def _get(port: int, path: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.slow
def test_the_floor_reads_the_stored_bytes_and_chains_an_audit_row_per_read(tmp_path: Path) -> None:
    db_path = tmp_path / "fhir.db"
    settings = make_settings(f"sqlite:///{db_path}")
    migrate.upgrade(settings.database)
    services = open_services(settings)
    try:
        load_fast(services.db, synthetic_resources(200))
    finally:
        services.close()
    with sqlite3.connect(db_path) as conn:
        res_id, stored = conn.execute("SELECT res_id, content FROM resource WHERE res_type = 'Patient'").fetchone()
    audit_dir = tmp_path / "audit"
    audit_dir.mkdir()
    port = free_port()
    env = {
        "HUITONG_BENCH_DB": str(db_path),
        "HUITONG_BENCH_AUDIT": str(audit_dir),
        "HUITONG_BENCH_TOKEN": TOKEN,
    }
    args = ["-m", "uvicorn", "huitong.fhir.bench.floor:app", "--port", str(port), "--log-level", "warning"]
    with running(args, env, port):
        assert _get(port, f"/fhir/Patient/{res_id}", TOKEN) == (200, stored.encode())
        assert _get(port, f"/fhir/Patient/{res_id}", "wrong-token")[0] == 401
        assert _get(port, "/fhir/Patient/nobody", TOKEN)[0] == 404
        path = f"/fhir/Patient/{res_id}"
        load = run_load("127.0.0.1", port, [path], clients=4, seconds=5, token=TOKEN, max_requests=25)
        assert (len(load.latencies), load.failures) == (100, 0)
    (audit_db,) = audit_dir.glob("audit-*.db")
    with sqlite3.connect(audit_db) as conn:
        rows = conn.execute("SELECT at, entity, hash FROM audit ORDER BY seq").fetchall()
    assert len(rows) == 101  # one per successful read, none for the refused or missing ones
    assert {entity for _at, entity, _hash in rows} == {f"/fhir/Patient/{res_id}"}
    last = "0" * 64
    for at, entity, digest in rows:
        last = hashlib.sha256(f"{last}|{at}|{entity}".encode()).hexdigest()
        assert digest == last
