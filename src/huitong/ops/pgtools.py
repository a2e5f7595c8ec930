"""Finding and running the PostgreSQL client programs (pg_dump, pg_restore, pg_basebackup, pg_ctl)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from huitong.ops.errors import ToolFailedError, ToolMissingError


def find_bindir(configured: str = "") -> Path:
    """The folder of the PostgreSQL programs: the configured one, the newest Debian one, or the PATH's."""
    if configured:
        return Path(configured)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for folder in candidates:
        if (folder / "pg_dump").exists():
            return folder
    found = shutil.which("pg_dump")
    if found:
        return Path(found).parent
    raise ToolMissingError(
        "PostgreSQL client programs not found: install Debian's postgresql-client or set HUITONG_BACKUP__PG_BINDIR"
    )


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in path.parent.name.split(".") if p.isdigit())


def tool(bindir: Path, name: str) -> str:
    """The full path of one program, checked to exist."""
    path = bindir / name
    if not path.exists():
        raise ToolMissingError(f"{name} not found in {bindir}")
    return str(path)


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment carrying it (kept out of ``ps``)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    parts = [f"dbname={parsed.database or 'postgres'}"]
    if parsed.host:
        parts.append(f"host={parsed.host}")
    if parsed.port:
        parts.append(f"port={parsed.port}")
    if parsed.username:
        parts.append(f"user={parsed.username}")
    hosts = parsed.query.get("host")
    if hosts and not parsed.host:
        many = [hosts] if isinstance(hosts, str) else list(hosts)
        parts.append("host=" + ",".join(h.split(":")[0] for h in many))
        parts.append("port=" + ",".join(h.split(":")[1] if ":" in h else "5432" for h in many))
    for key in ("sslmode", "target_session_attrs"):
        value = parsed.query.get(key)
        if isinstance(value, str):
            parts.append(f"{key}={value}")
    return " ".join(parts), env


def run(args: list[str], *, env: dict[str, str] | None = None, what: str) -> str:
    """Run a program; its output on success, :class:`ToolFailedError` with its stderr otherwise."""
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)  # noqa: S603 - fixed argv
    if done.returncode != 0:
        raise ToolFailedError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout
