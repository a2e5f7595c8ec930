"""Point-in-time recovery on PostgreSQL: WAL archiving settings and recovery to a moment.

A production set-up archives every WAL segment (``archive_mode = on`` with an ``archive_command`` copying
to the archive folder) and takes base backups with ``pg_basebackup``. To recover to a moment: restore the
newest base backup taken before it into an empty data directory, call :func:`prepare_recovery` (or
``huitong ops pitr-prepare``) there and start the server. PostgreSQL replays the archived WAL up to the last
commit at or before the target time, then promotes itself and opens for writes. See docs/operations.md.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa


def archive_settings(archive_dir: Path, *, timeout_s: int = 60) -> dict[str, str]:
    """postgresql.conf settings that archive each finished WAL segment into ``archive_dir``.

    ``archive_timeout`` bounds how old the newest archived change can be (the data an outage may lose if
    the primary's disk is lost with it).
    """
    command = f"test ! -f {archive_dir}/%f && cp %p {archive_dir}/%f"
    return {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": f"'{command}'",
        "archive_timeout": str(timeout_s),
    }


def prepare_recovery(datadir: Path, archive_dir: Path, target_time: datetime, *, action: str = "promote") -> None:
    """Make a restored base backup in ``datadir`` replay the archive up to ``target_time`` when started."""
    if target_time.tzinfo is None:
        raise ValueError("the recovery target time needs a time zone (e.g. +08:00 or UTC)")
    settings = {
        "restore_command": f"'cp {archive_dir}/%f %p'",
        "recovery_target_time": f"'{target_time.isoformat(sep=' ')}'",
        "recovery_target_action": f"'{action}'",
    }
    with (datadir / "postgresql.auto.conf").open("a", encoding="utf-8") as f:
        f.write("# point-in-time recovery (huitong ops pitr-prepare)\n")
        for key, value in settings.items():
            f.write(f"{key} = {value}\n")
    signal_file = datadir / "recovery.signal"
    signal_file.touch()
    stat = datadir.stat()
    if os.geteuid() == 0:
        os.chown(signal_file, stat.st_uid, stat.st_gid)


def switch_and_wait_archived(url: str, archive_dir: Path, *, timeout_s: float = 60.0) -> str:
    """Close the current WAL segment and wait until the archiver has copied it; returns its file name."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            segment = str(conn.exec_driver_sql("SELECT pg_walfile_name(pg_switch_wal())").scalar_one())
    finally:
        engine.dispose()
    deadline = time.monotonic() + timeout_s
    while not (archive_dir / segment).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"WAL segment {segment} was not archived within {timeout_s} s")
        time.sleep(0.1)
    return segment


def wait_until_writable(url: str, *, timeout_s: float = 120.0) -> None:
    """Wait until a recovering or promoted server accepts writes (recovery finished)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                with engine.connect() as conn:
                    if not conn.exec_driver_sql("SELECT pg_is_in_recovery()").scalar_one():
                        return
            except sa.exc.OperationalError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not finish recovery within {timeout_s} s")
            time.sleep(0.2)
    finally:
        engine.dispose()


def copy_datadir(source: Path, target: Path) -> None:
    """Copy a stopped base backup (keeping owners and modes) so the original stays reusable."""
    shutil.copytree(source, target, symlinks=True)
    stat = source.stat()
    if os.geteuid() == 0:
        for path in [target, *target.rglob("*")]:
            os.chown(path, stat.st_uid, stat.st_gid, follow_symlinks=False)
