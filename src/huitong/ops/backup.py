"""``huitong backup create``: an online, consistent backup while the platform runs, with its manifest.

SQLite: the online backup API copies the database in one step under a read transaction (in WAL mode the
writer goes on meanwhile), so the copy is one committed state; counts and checksums are computed on the
copy. PostgreSQL: a ``REPEATABLE READ`` transaction exports its snapshot, ``pg_dump --snapshot`` dumps
exactly that snapshot (custom format), and the counts and checksums are computed in the same transaction.

A backup is a folder ``<id>/`` holding the data file (``.enc`` when encrypted with AES-256-GCM) and
``manifest.json``; it is built as ``.partial-<id>/`` and renamed when complete, so a half-written backup
never looks like a backup. With an off-site folder configured the finished folder is copied there as well.
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from huitong import __version__
from huitong.db.database import dialect_of
from huitong.ops import encryption, pgtools
from huitong.ops.manifest import FileEntry, Manifest, TableStat, file_sha256, table_stats
from huitong.settings import Settings

PARTIAL = ".partial-"


@dataclass(frozen=True, slots=True)
class BackupResult:
    """A finished backup: where it is (and its off-site copy) and its manifest."""

    path: Path
    manifest: Manifest
    offsite_path: Path | None


def new_backup_id(now: datetime) -> str:
    """Sortable and unique: ``20260127T030000.123Z-3fa2b1`` (UTC time to the millisecond, then random hex)."""
    return f"{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def redacted(url: str) -> str:
    """The database URL without its password (what manifests and logs may show)."""
    return make_url(url).render_as_string(hide_password=True)


def create_backup(settings: Settings, *, directory: Path | None = None, offsite: bool = True) -> BackupResult:
    """Back up the configured database now. See the module docstring."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    backup_id = new_backup_id(now)
    root = Path(directory or settings.backup.directory)
    work = root / f"{PARTIAL}{backup_id}"
    work.mkdir(parents=True)
    try:
        url = settings.database.url
        if dialect_of(url) == "sqlite":
            data, method, revision, tables = _sqlite_copy(url, work)
        else:
            data, method, revision, tables = _pg_dump(url, work, pgtools.find_bindir(settings.backup.pg_bindir))
        entry = _seal(data, settings)
        manifest = Manifest(
            backup_id=backup_id,
            created=now.isoformat(timespec="microseconds"),
            huitong_version=__version__,
            dialect=dialect_of(url),
            method=method,
            source=redacted(url),
            schema_revision=revision,
            files=[entry],
            tables=tables,
            seconds=round(time.perf_counter() - started, 3),
        )
        manifest.write(work)
        final = root / backup_id
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    copy = _copy_offsite(final, settings) if offsite else None
    return BackupResult(final, manifest, copy)


def _seal(data: Path, settings: Settings) -> FileEntry:
    plain_sha = file_sha256(data)
    secret = settings.backup.encryption_key
    key_text = secret.get_secret_value() if secret is not None else ""
    if not key_text:
        return FileEntry(data.name, data.stat().st_size, plain_sha, plain_sha, encrypted=False)
    key = encryption.parse_key(key_text)
    sealed = data.with_name(data.name + ".enc")
    encryption.encrypt_file(data, sealed, key)
    data.unlink()
    return FileEntry(
        sealed.name,
        sealed.stat().st_size,
        file_sha256(sealed),
        plain_sha,
        encrypted=True,
        key_fingerprint=encryption.fingerprint(key),
    )


def _copy_offsite(final: Path, settings: Settings) -> Path | None:
    if not settings.backup.offsite_directory:
        return None
    remote_root = Path(settings.backup.offsite_directory)
    remote_root.mkdir(parents=True, exist_ok=True)
    staging = remote_root / f"{PARTIAL}{final.name}"
    shutil.copytree(final, staging)
    target = remote_root / final.name
    staging.rename(target)
    return target


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///`` URL."""
    database = make_url(url).database
    if not database:
        raise ValueError(f"{redacted(url)} names no SQLite file")
    return Path(database)


def _sqlite_copy(url: str, work: Path) -> tuple[Path, str, str | None, dict[str, TableStat]]:
    target = work / "database.sqlite"
    # Read-only: a backup never needs to write the database it copies (nor may it, on a file shared read-only).
    source = sqlite3.connect(f"{sqlite_path(url).resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)  # pages=-1: the whole database in one step, one consistent snapshot
        dest.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
    finally:
        dest.close()
        source.close()
    engine = sa.create_engine(f"sqlite:///{target}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return target, "sqlite-online-backup", schema_revision(conn), table_stats(conn)
    finally:
        engine.dispose()


def _pg_dump(url: str, work: Path, bindir: Path) -> tuple[Path, str, str | None, dict[str, TableStat]]:
    target = work / "database.pgdump"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="REPEATABLE READ")
    conninfo, env = pgtools.libpq_target(url)
    try:
        with engine.connect() as conn:
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            pgtools.run(
                [pgtools.tool(bindir, "pg_dump"), "-Fc", f"--snapshot={snapshot}", "-f", str(target), "-d", conninfo],
                env=env,
                what="pg_dump",
            )
            revision, tables = schema_revision(conn), table_stats(conn)
            conn.rollback()
    finally:
        engine.dispose()
    return target, "pg_dump-custom", revision, tables


def schema_revision(conn: sa.Connection) -> str | None:
    """The Alembic revisions the database is at (comma-separated), as the snapshot of ``conn`` sees them."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    heads = sorted(str(r) for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())
    return ",".join(heads) or None
