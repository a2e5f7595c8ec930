"""The command line: version, db upgrade, demo loading, docs; and a real server process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from huitong import __version__
from huitong.cli import app
from huitong.db import migrate
from huitong.fhir.bench.server import free_port
from huitong.settings import DatabaseSettings

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_db_upgrade_and_current(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("HUITONG_DATABASE__URL", url)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert migrate.current_revision(DatabaseSettings(url=url)) == migrate.head_revisions()
    assert runner.invoke(app, ["db", "current"]).output.strip() == migrate.head_revisions()


def test_demo_loads_idempotently(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUITONG_DATABASE__URL", f"sqlite:///{tmp_path}/demo.db")
    monkeypatch.setenv("HUITONG_ENV", "development")
    first = runner.invoke(app, ["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    assert "demo data loaded" in first.output
    assert runner.invoke(app, ["demo", "--no-serve"]).exit_code == 0


def test_demo_refuses_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUITONG_ENV", "production")
    monkeypatch.setenv("HUITONG_SECURITY__SECRET_KEY", "k" * 48)
    assert runner.invoke(app, ["demo", "--no-serve"]).exit_code != 0


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {**os.environ, "HUITONG_DATABASE__URL": f"sqlite:///{tmp_path}/empty.db"}
    result = subprocess.run(
        [sys.executable, "-m", "huitong", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "huitong db upgrade" in result.stderr + result.stdout


def test_serve_answers_as_a_real_process(tmp_path: Path) -> None:
    """`huitong demo` in a subprocess: a real uvicorn on a loopback port, used as a new user would."""
    port = free_port()
    env = {**os.environ, "HUITONG_DATABASE__URL": f"sqlite:///{tmp_path}/served.db", "HUITONG_ENV": "development"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "huitong", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        assert httpx.get(f"{base}/fhir/metadata").json()["resourceType"] == "CapabilityStatement"
        created = httpx.post(f"{base}/fhir/Patient", json={"resourceType": "Patient", "gender": "male"})
        assert created.status_code == 201
        rid = created.json()["id"]
        assert httpx.get(f"{base}/fhir/Patient/{rid}").json()["meta"]["versionId"] == "1"
        assert httpx.get(f"{base}/fhir/Patient/{rid}/_history").json()["total"] == 1
        assert httpx.get(f"{base}/fhir/Patient/demo-p001").json()["name"][0]["family"] == "王"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
