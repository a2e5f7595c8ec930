"""``huitong serve --workers N``: several uvicorn worker processes on one port, each with the same settings."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from huitong.db import migrate
from huitong.fhir.bench.server import free_port, running
from huitong.serve import WorkersConfigError, check_environment, check_workers
from huitong.settings import load_settings
from tests.conftest import API_TOKEN, make_settings


def test_the_integration_engine_runs_in_one_process(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'h.db'}", mllp={"enabled": True})
    check_workers(settings, 1)
    with pytest.raises(WorkersConfigError, match="one process"):
        check_workers(settings, 2)
    check_workers(make_settings(f"sqlite:///{tmp_path / 'h.db'}", mllp={"enabled": False}), 2)


def test_workers_need_the_settings_in_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUITONG_ENV", "test")
    monkeypatch.setenv("HUITONG_DATABASE__URL", f"sqlite:///{tmp_path / 'h.db'}")
    monkeypatch.setenv("HUITONG_SECURITY__SECRET_KEY", "x" * 48)
    monkeypatch.setenv("HUITONG_SECURITY__API_TOKENS", json.dumps({"tests": API_TOKEN}))
    given = load_settings()
    check_environment(given.model_copy(update={"http": given.http.model_copy(update={"port": 8123})}))  # the address
    with pytest.raises(WorkersConfigError, match="environment"):  # but nothing else
        check_environment(given.model_copy(update={"fhir": given.fhir.model_copy(update={"default_page_size": 7})}))


@pytest.mark.slow
def test_two_workers_serve_reads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    migrate.upgrade(make_settings(url).database)
    port = free_port()
    env = {
        "HUITONG_ENV": "test",
        "HUITONG_DATABASE__URL": url,
        "HUITONG_SECURITY__SECRET_KEY": "x" * 48,
        "HUITONG_SECURITY__API_TOKENS": json.dumps({"tests": API_TOKEN}),
        "HUITONG_MLLP__ENABLED": "false",
    }
    with running(["-m", "huitong", "serve", "--port", str(port), "--workers", "2"], env, port):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/fhir/Patient/nobody", headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
        statuses = set()
        for _ in range(20):
            try:
                urllib.request.urlopen(request, timeout=120)  # noqa: S310 - loopback
            except urllib.error.HTTPError as exc:
                statuses.add(exc.code)
                assert json.loads(exc.read())["resourceType"] == "OperationOutcome"
        assert statuses == {404}
