"""``huitong backup restore`` and ``huitong backup verify``.

Restore refuses to overwrite a database that holds tables unless forced. On SQLite the restored file is
written beside the target and moved over it in one rename; on PostgreSQL a forced restore empties the
``public`` schema first and ``pg_restore`` runs in a single transaction, so either all of it lands or
nothing does. Verify restores into a scratch location (a temporary file, or a temporary database on the
same PostgreSQL server), recomputes every table's count and checksum, compares them with the manifest and
walks the audit hash chain.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from huitong.db.database import dialect_of
from huitong.ops import encryption, pgtools
from huitong.ops.backup import redacted, sqlite_path
from huitong.ops.errors import KeyMissingError, RefusedError, VerificationError
from huitong.ops.manifest import FileEntry, Manifest, TableStat, compare_tables, file_sha256, table_stats
from huitong.settings import BackupSettings


@dataclass
class VerifyReport:
    """What :func:`verify_backup` checked and found."""

    backup_id: str
    tables: dict[str, TableStat] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    audit_chain: str = "not checked"

    @property
    def ok(self) -> bool:
        return not self.problems


def backup_keys(settings: BackupSettings) -> list[bytes]:
    """Every configured key (current first), for reading backups sealed before a rotation."""
    texts = [settings.encryption_key, *settings.previous_encryption_keys]
    return [encryption.parse_key(t.get_secret_value()) for t in texts if t is not None and t.get_secret_value()]


@contextmanager
def plain_payload(folder: Path, settings: BackupSettings) -> Iterator[tuple[Path, Manifest]]:
    """The backup's data file checked against the manifest, decrypted into a temporary file when sealed."""
    manifest = Manifest.read(folder)
    entry = _data_entry(manifest)
    stored = folder / entry.name
    if not stored.exists():
        raise VerificationError(f"{stored} is missing")
    if file_sha256(stored) != entry.sha256:
        raise VerificationError(f"{stored.name}: sha256 differs from the manifest (damaged copy)")
    if not entry.encrypted:
        yield stored, manifest
        return
    keys = backup_keys(settings)
    if not keys:
        raise KeyMissingError(f"backup {manifest.backup_id} is encrypted and no key is configured")
    with tempfile.TemporaryDirectory(prefix="huitong-restore-") as scratch:
        plain = Path(scratch) / entry.name.removesuffix(".enc")
        encryption.decrypt_file(stored, plain, keys)
        if file_sha256(plain) != entry.plain_sha256:
            raise VerificationError(f"{entry.name}: decrypted content differs from the manifest")
        yield plain, manifest


def _data_entry(manifest: Manifest) -> FileEntry:
    if len(manifest.files) != 1:
        raise VerificationError(f"backup {manifest.backup_id} lists {len(manifest.files)} files, expected one")
    return manifest.files[0]


def restore_backup(folder: Path, target_url: str, settings: BackupSettings, *, force: bool = False) -> Manifest:
    """Restore the backup in ``folder`` into the database at ``target_url``. See the module docstring."""
    with plain_payload(folder, settings) as (plain, manifest):
        if manifest.dialect != dialect_of(target_url):
            raise RefusedError(f"backup {manifest.backup_id} is of {manifest.dialect}; the target is not")
        if dialect_of(target_url) == "sqlite":
            _restore_sqlite(plain, sqlite_path(target_url), force=force)
        else:
            _restore_pg(plain, target_url, pgtools.find_bindir(settings.pg_bindir), force=force)
    return manifest


def _has_tables(url: str) -> bool:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return bool(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _refuse_live(url: str, force: bool) -> None:
    if not force and _has_tables(url):
        raise RefusedError(
            f"{redacted(url)} already holds a database; stop Huitong and pass --force to replace it with the backup"
        )


def _restore_sqlite(plain: Path, target: Path, *, force: bool) -> None:
    if target.exists() and target.stat().st_size > 0:
        _refuse_live(f"sqlite:///{target}", force)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(target.name + ".restoring")
    shutil.copyfile(plain, staging)
    for suffix in ("-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    staging.replace(target)


def _restore_pg(plain: Path, url: str, bindir: Path, *, force: bool) -> None:
    _refuse_live(url, force)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public AUTHORIZATION pg_database_owner")
            conn.exec_driver_sql("GRANT USAGE ON SCHEMA public TO PUBLIC")
    finally:
        engine.dispose()
    conninfo, env = pgtools.libpq_target(url)
    pgtools.run(
        [
            pgtools.tool(bindir, "pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "-d",
            conninfo,
            str(plain),
        ],
        env=env,
        what="pg_restore",
    )


def verify_backup(folder: Path, settings: BackupSettings, *, scratch_server_url: str | None = None) -> VerifyReport:
    """Restore into a scratch location and compare with the manifest; see the module docstring.

    ``scratch_server_url`` (PostgreSQL) names a server whose user may create databases; by default the
    backup's own source server (from the manifest, with the password of ``scratch_server_url`` if any).
    """
    manifest = Manifest.read(folder)
    report = VerifyReport(manifest.backup_id)
    try:
        with _scratch_database(manifest, scratch_server_url) as url:
            restore_backup(folder, url, settings, force=True)
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
            try:
                with engine.connect() as conn:
                    report.tables = table_stats(conn)
                    report.audit_chain = _check_audit_chain(conn, report.problems)
            finally:
                engine.dispose()
    except (VerificationError, KeyMissingError) as exc:
        report.problems.append(str(exc))
        return report
    report.problems.extend(compare_tables(manifest.tables, report.tables))
    return report


@contextmanager
def _scratch_database(manifest: Manifest, server_url: str | None) -> Iterator[str]:
    if manifest.dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="huitong-verify-") as scratch:
            yield f"sqlite:///{Path(scratch) / 'verify.db'}"
        return
    server = make_url(server_url or manifest.source)
    name = f"huitong_verify_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def _check_audit_chain(conn: sa.Connection, problems: list[str]) -> str:
    """Walk the audit hash chain of the restored copy with the security domain's ``verify_chain``.

    The seam: the security domain owns the chain (``huitong.security.audit_chain.verify_chain(conn)``
    returning a report with ``ok``, ``rows`` and ``problems``); until it is installed the check is skipped
    and says so.
    """
    try:
        chain = importlib.import_module("huitong.security.audit_chain")
    except ModuleNotFoundError:
        return "skipped (huitong.security.audit_chain is not installed)"
    if not sa.inspect(conn).has_table("audit_chain_head"):
        return "skipped (the backup predates the audit chain)"
    result = chain.verify_chain(conn)
    if not result.ok:
        problems.extend(f"audit chain: {p}" for p in result.problems)
        return f"broken ({len(result.problems)} problems in {result.rows} rows)"
    return f"verified ({result.rows} rows)"
