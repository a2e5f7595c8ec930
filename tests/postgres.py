"""A throwaway PostgreSQL cluster for the tests, started from the installed binaries.

``HUITONG_TEST_POSTGRES_URL`` (a server URL whose user may create databases) is used when set. Otherwise
``initdb``/``pg_ctl`` are looked up (Debian's /usr/lib/postgresql/<v>/bin, ``pg_config --bindir`` or the
PATH) and a cluster is started on a free loopback port in a temporary folder, with durability turned off
for speed (fsync=off: these are throwaway test databases). As root, the cluster runs as the ``postgres``
user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from huitong.fhir.bench.server import free_port


class PostgresUnavailableError(Exception):
    """No PostgreSQL server was given and no binaries were found to start one."""


@dataclass
class PostgresServer:
    """A running server: ``url`` connects as a superuser to the ``postgres`` database."""

    url: str

    def database_url(self, name: str) -> str:
        return self.url.rsplit("/", 1)[0] + "/" + name


def find_bindir() -> Path | None:
    """Folder holding initdb and pg_ctl, newest version first."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version_key(p.parent.name), reverse=True
    )
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdigit())


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """The configured server, or a throwaway cluster for the duration of the block."""
    given = os.environ.get("HUITONG_TEST_POSTGRES_URL")
    if given:
        yield PostgresServer(given)
        return
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailableError(
            "no PostgreSQL binaries found (install Debian's postgresql package or set HUITONG_TEST_POSTGRES_URL)"
        )
    workdir = Path(tempfile.mkdtemp(prefix="huitong-pg-"))
    data, sockets = workdir / "data", workdir / "sock"
    sockets.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in (workdir, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [
            *run_as,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(workdir / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield PostgresServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False,
            capture_output=True,
        )
        time.sleep(0.1)
        shutil.rmtree(workdir, ignore_errors=True)
