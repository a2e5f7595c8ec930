"""``huitong backup …`` end to end through the CLI, asserting on the exit codes of huitong.ops.errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from huitong.cli import app
from huitong.ops.errors import ExitCode
from huitong.settings import Settings


@pytest.fixture
def env(sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HUITONG_DATABASE__URL", sqlite_settings.database.url)
    monkeypatch.setenv("HUITONG_BACKUP__DIRECTORY", str(tmp_path / "backups"))
    monkeypatch.setenv("HUITONG_ARCHIVE__DIRECTORY", str(tmp_path / "archive"))
    return tmp_path


def test_backup_commands_and_exit_codes(env: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["backup", "create"])
    assert created.exit_code == ExitCode.OK, created.output
    assert "backup " in created.output
    listed = runner.invoke(app, ["backup", "list"])
    assert listed.exit_code == ExitCode.OK and "plain" in listed.output
    verified = runner.invoke(app, ["backup", "verify", "latest"])
    assert verified.exit_code == ExitCode.OK, verified.output
    assert "audit chain: verified" in verified.output
    assert runner.invoke(app, ["backup", "restore", "latest"]).exit_code == ExitCode.REFUSED
    assert runner.invoke(app, ["backup", "restore", "latest", "--force"]).exit_code == ExitCode.OK
    assert runner.invoke(app, ["backup", "verify", "no-such-backup"]).exit_code == ExitCode.NOT_FOUND
    scheduled = runner.invoke(app, ["backup", "schedule", "--once"])
    assert scheduled.exit_code == ExitCode.OK and "verified=True" in scheduled.output
    assert runner.invoke(app, ["backup", "prune"]).exit_code == ExitCode.OK
    assert len(list((env / "backups").iterdir())) == 2  # the default policy keeps the newest seven


def test_archive_commands(env: Path) -> None:
    runner = CliRunner()
    ran = runner.invoke(app, ["ops", "archive", "run", "--older-than-days", "1"])
    assert ran.exit_code == ExitCode.OK and "0 resources" in ran.output
    assert runner.invoke(app, ["ops", "archive", "restore", "nope"]).exit_code == ExitCode.NOT_FOUND
