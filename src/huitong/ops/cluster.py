"""Throwaway local PostgreSQL clusters on loopback, for recovery tests, drills and benchmarks.

Never for production (trust authentication on 127.0.0.1, durability knobs chosen by the caller). As root
every program runs as the ``postgres`` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from huitong.ops import pgtools


def free_port() -> int:
    """A TCP port nobody listens on at the moment, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def give_to_postgres(*paths: Path) -> None:
    """Make folders writable by the cluster's user (the ``postgres`` user when running as root)."""
    if os.geteuid() != 0:
        return
    user = pwd.getpwnam("postgres")
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, user.pw_uid, user.pw_gid)
        path.chmod(0o700)


class LocalCluster:
    """One data directory and the server on it. Use :meth:`init` or :meth:`base_backup_of`, then :meth:`start`."""

    def __init__(self, datadir: Path, port: int, bindir: Path | None = None) -> None:
        self.datadir = datadir
        self.port = port
        self.bindir = bindir or pgtools.find_bindir()
        self.log = datadir.parent / f"{datadir.name}.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, program: str, *args: str) -> str:
        return pgtools.run([*_run_as(), pgtools.tool(self.bindir, program), *args], what=program)

    def init(self, settings: Mapping[str, str] | None = None) -> LocalCluster:
        """initdb, then append ``settings`` to postgresql.conf."""
        give_to_postgres(self.datadir.parent)
        self.run("initdb", "-D", str(self.datadir), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C")
        self.configure({"listen_addresses": "'127.0.0.1'", **(settings or {})})
        with (self.datadir / "pg_hba.conf").open("a", encoding="utf-8") as f:
            f.write("host replication postgres 127.0.0.1/32 trust\n")
        return self

    def configure(self, settings: Mapping[str, str]) -> None:
        """Append settings (values already quoted as postgresql.conf wants them) to postgresql.auto.conf."""
        with (self.datadir / "postgresql.auto.conf").open("a", encoding="utf-8") as f:
            for key, value in settings.items():
                f.write(f"{key} = {value}\n")

    def base_backup_of(self, source: LocalCluster, *, standby: bool = False) -> LocalCluster:
        """pg_basebackup of ``source`` (streaming its WAL too) into this data directory."""
        give_to_postgres(self.datadir.parent)
        args = ["-h", "127.0.0.1", "-p", str(source.port), "-U", "postgres", "-D", str(self.datadir)]
        self.run("pg_basebackup", *args, "-X", "stream", "-c", "fast", *(["-R"] if standby else []))
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.datadir.parent}"
        self.run("pg_ctl", "-D", str(self.datadir), "-o", options, "-l", str(self.log), "-w", "-t", "120", "start")

    def promote(self) -> None:
        self.run("pg_ctl", "-D", str(self.datadir), "-w", "-t", "60", "promote")

    def kill(self) -> None:
        """Kill the postmaster with SIGKILL (a crash: no shutdown checkpoint, clients cut off)."""
        pid_file = self.datadir / "postmaster.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        # Its backends notice the postmaster is gone and exit; an immediate stop tidies what remains.
        self.stop(mode="immediate")

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(  # noqa: S603 - fixed argument list
            [*_run_as(), pgtools.tool(self.bindir, "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"],
            capture_output=True,
            check=False,
        )


@contextlib.contextmanager
def workspace(parent: Path) -> Iterator[Path]:
    """A folder the clusters may write to, removed afterwards."""
    give_to_postgres(parent)
    try:
        yield parent
    finally:
        shutil.rmtree(parent, ignore_errors=True)


@contextlib.contextmanager
def throwaway_server(settings: Mapping[str, str] | None = None) -> Iterator[Callable[[str], str]]:
    """A throwaway cluster with durability on (as in production), for benchmarks; yields ``database(name)``,
    which creates a database and returns its URL. The cluster and its files are gone afterwards."""
    import sqlalchemy as sa

    root = Path(tempfile.mkdtemp(prefix="huitong-bench-pg-"))
    root.chmod(0o755)  # PostgreSQL runs as its own user and must reach its data directory
    try:
        with workspace(root / "pg") as place:
            cluster = LocalCluster(place / "data", free_port()).init(dict(settings or {"shared_buffers": "'256MB'"}))
            cluster.start()
            engine = sa.create_engine(cluster.url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
            base = cluster.url().rsplit("/", 1)[0]

            def database(name: str) -> str:
                with engine.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
                return f"{base}/{name}"

            try:
                yield database
            finally:
                engine.dispose()
                cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
