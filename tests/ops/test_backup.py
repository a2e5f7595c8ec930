"""Backups on SQLite and PostgreSQL: online while writes run, restore, verify, refuse, retention."""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from huitong.fhir.errors import FhirError
from huitong.ops.backup import create_backup
from huitong.ops.errors import RefusedError
from huitong.ops.manifest import Manifest, file_sha256
from huitong.ops.restore import restore_backup, verify_backup
from huitong.ops.retention import find_backup, list_backups, prune
from huitong.security.actor import Actor
from huitong.services import Services, open_services
from huitong.settings import BackupSettings, Settings
from tests.conftest import make_settings


def _patient(n: int) -> dict[str, object]:
    return {"resourceType": "Patient", "name": [{"family": "王", "given": [f"测试{n}"]}], "gender": "female"}


def _backup_settings(settings: Settings, tmp_path: Path, **backup: object) -> Settings:
    values = {"directory": str(tmp_path / "backups"), "offsite_directory": str(tmp_path / "offsite"), **backup}
    return settings.model_copy(
        update={"backup": BackupSettings.model_validate({**settings.backup.model_dump(), **values})}
    )


def test_backup_while_writes_run_restores_every_committed_resource(
    settings: Settings, services: Services, actor: Actor, tmp_path: Path, empty_url: Callable[[], str]
) -> None:
    committed: list[str] = []
    stop = threading.Event()
    enough = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set() and n < 2000:
            committed.append(services.store.create(actor, _patient(n)).res_id)
            n += 1
            if n >= 30:
                enough.set()
        enough.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert enough.wait(60)
        before = list(committed)
        config = _backup_settings(settings, tmp_path)
        result = create_backup(config)
    finally:
        stop.set()
        writer.join()
    assert len(committed) > len(before)  # writes went on around the backup

    manifest = result.manifest
    assert result.offsite_path is not None
    assert Manifest.read(result.offsite_path) == manifest
    assert file_sha256(result.path / manifest.files[0].name) == manifest.files[0].sha256
    in_backup = manifest.tables["resource"].rows
    assert len(before) <= in_backup <= len(committed)
    assert manifest.tables["resource_version"].rows == in_backup

    target = empty_url()
    restore_backup(result.path, target, config.backup)
    restored = open_services(make_settings(target))
    try:
        for res_id in before:
            assert restored.store.read(actor, "Patient", res_id).version_id == 1
        missing = 0
        for res_id in committed[len(before) :]:
            try:
                restored.store.read(actor, "Patient", res_id)
            except FhirError:
                missing += 1
        assert len(committed) - missing == in_backup  # a consistent prefix: exactly what the snapshot held
    finally:
        restored.close()

    report = verify_backup(result.offsite_path, config.backup, scratch_server_url=settings.database.url)
    assert report.ok, report.problems
    assert report.tables == manifest.tables


def test_restore_refuses_to_overwrite_a_live_database_without_force(
    settings: Settings, services: Services, actor: Actor, tmp_path: Path
) -> None:
    kept = services.store.create(actor, _patient(1))
    config = _backup_settings(settings, tmp_path)
    result = create_backup(config, offsite=False)
    later = services.store.create(actor, _patient(2))
    services.close()

    with pytest.raises(RefusedError):
        restore_backup(result.path, settings.database.url, config.backup)
    restore_backup(result.path, settings.database.url, config.backup, force=True)

    reopened = open_services(settings)
    try:
        assert reopened.store.read(actor, "Patient", kept.res_id).res_id == kept.res_id
        with pytest.raises(FhirError):
            reopened.store.read(actor, "Patient", later.res_id)
    finally:
        reopened.close()


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_encrypted_backup_round_trip_and_key_rotation(
    sqlite_settings: Settings, sqlite_services: Services, actor: Actor, tmp_path: Path
) -> None:
    """Encryption is a file-level matter, the same on either backend: tested once, on SQLite."""
    settings, services = sqlite_settings, sqlite_services
    created = services.store.create(actor, _patient(7))
    old_key = _key()
    config = _backup_settings(settings, tmp_path, encryption_key=old_key)
    result = create_backup(config, offsite=False)
    entry = result.manifest.files[0]
    assert entry.encrypted and entry.name.endswith(".enc") and entry.sha256 != entry.plain_sha256
    assert "测试7".encode() not in (result.path / entry.name).read_bytes()

    rotated = _backup_settings(settings, tmp_path, encryption_key=_key(), previous_encryption_keys=[old_key])
    assert verify_backup(result.path, rotated.backup, scratch_server_url=settings.database.url).ok
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    restore_backup(result.path, target, rotated.backup)
    restored = open_services(make_settings(target))
    try:
        assert restored.store.read(actor, "Patient", created.res_id).content == created.content
    finally:
        restored.close()

    without_old = _backup_settings(settings, tmp_path, encryption_key=_key())
    report = verify_backup(result.path, without_old.backup, scratch_server_url=settings.database.url)
    assert not report.ok


def test_verify_reports_a_damaged_backup(
    sqlite_settings: Settings, sqlite_services: Services, actor: Actor, tmp_path: Path
) -> None:
    settings, services = sqlite_settings, sqlite_services
    services.store.create(actor, _patient(3))
    config = _backup_settings(settings, tmp_path)
    result = create_backup(config, offsite=False)
    data = result.path / result.manifest.files[0].name
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    report = verify_backup(result.path, config.backup, scratch_server_url=settings.database.url)
    assert not report.ok
    assert "sha256 differs" in report.problems[0]


def test_prune_keeps_the_newest_and_the_young(sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings
    config = _backup_settings(settings, tmp_path, keep_last=2, keep_days=0)
    made = [create_backup(config).path.name for _ in range(4)]
    assert [s.path.name for s in list_backups(tmp_path / "backups")] == made
    removed = prune(config.backup, now=datetime.now(UTC) + timedelta(days=1))
    assert sorted(p.name for p in removed) == sorted(made[:2] * 2)
    assert [s.path.name for s in list_backups(tmp_path / "offsite")] == made[2:]
    assert find_backup(config.backup, "latest").name == made[-1]
