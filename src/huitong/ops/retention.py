"""Finding backups and pruning old ones under a retention policy (``huitong backup list`` and ``prune``).

Prune deletes a backup only when it is neither among the newest ``keep_last`` nor younger than
``keep_days``; it applies the same policy to the off-site folder, and removes ``.partial-*`` folders
left by a backup that crashed more than a day ago.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from huitong.ops.backup import PARTIAL
from huitong.ops.errors import BackupNotFoundError
from huitong.ops.manifest import MANIFEST, Manifest
from huitong.settings import BackupSettings


@dataclass(frozen=True, slots=True)
class Stored:
    """A finished backup on disk."""

    path: Path
    manifest: Manifest

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.manifest.created)


def list_backups(root: Path) -> list[Stored]:
    """Finished backups in ``root``, oldest first."""
    if not root.is_dir():
        return []
    found = [
        Stored(p, Manifest.read(p))
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).exists()
    ]
    return sorted(found, key=lambda s: (s.created, s.path.name))


def find_backup(settings: BackupSettings, ref: str) -> Path:
    """A backup by folder path, by id (local folder first, then off-site), or ``latest``."""
    given = Path(ref)
    if (given / MANIFEST).exists():
        return given
    roots = [Path(settings.directory)] + ([Path(settings.offsite_directory)] if settings.offsite_directory else [])
    for root in roots:
        if ref == "latest":
            stored = list_backups(root)
            if stored:
                return stored[-1].path
        elif (root / ref / MANIFEST).exists():
            return root / ref
    raise BackupNotFoundError(f"no backup {ref!r} in {', '.join(str(r) for r in roots)}")


def prune(settings: BackupSettings, *, now: datetime | None = None) -> list[Path]:
    """Delete backups outside the retention policy in the local and off-site folders; returns what went."""
    now = now or datetime.now(UTC)
    roots = [Path(settings.directory)] + ([Path(settings.offsite_directory)] if settings.offsite_directory else [])
    removed: list[Path] = []
    for root in roots:
        stored = list_backups(root)
        keep = {s.path for s in stored[-settings.keep_last :]}
        young = now - timedelta(days=settings.keep_days)
        for s in stored:
            if s.path not in keep and s.created < young:
                shutil.rmtree(s.path)
                removed.append(s.path)
        removed.extend(_remove_stale_partials(root, now))
    return removed


def _remove_stale_partials(root: Path, now: datetime) -> list[Path]:
    if not root.is_dir():
        return []
    stale = []
    for p in root.glob(f"{PARTIAL}*"):
        if datetime.fromtimestamp(p.stat().st_mtime, UTC) < now - timedelta(days=1):
            shutil.rmtree(p, ignore_errors=True)
            stale.append(p)
    return stale
