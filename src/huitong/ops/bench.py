"""``huitong bench backup``: backup, restore and verify time and size on SQLite and PostgreSQL.

By default a database of ``--resources`` synthetic resources (Patients and Observations with their versions
and audit rows, written through the resource store in transactions of 500) is backed up, verified and
restored. With ``--database URL`` an existing store is measured as it is (nothing is loaded, and the store
itself is only read); with ``--sqlite-file PATH`` a SQLite store is measured on SQLite and, for the
PostgreSQL backend, first copied into PostgreSQL with ``huitong db copy`` (a throwaway local cluster unless
``--postgres-url`` names an empty database). Baselines measured in the same run: a plain copy of the SQLite
file (and its WAL), and ``pg_dump -Fc`` to /dev/null of the same PostgreSQL database.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url

from huitong.db import migrate
from huitong.db.database import dialect_of
from huitong.fhir.transaction import Transaction
from huitong.identifiers import RESIDENT_ID_SYSTEM
from huitong.ops import pgtools
from huitong.ops.backup import create_backup, redacted, sqlite_path
from huitong.ops.cluster import LocalCluster, free_port, throwaway_server, workspace
from huitong.ops.errors import OpsError
from huitong.ops.restore import restore_backup, verify_backup
from huitong.security.actor import Actor
from huitong.services import open_services
from huitong.settings import Settings


def _settings(url: str, backups: Path, *, encrypted: bool = False) -> Settings:
    backup: dict[str, Any] = {"directory": str(backups)}
    if encrypted:
        backup["encryption_key"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
    return Settings(database={"url": url}, backup=backup)


def load(settings: Settings, resources: int) -> None:
    """Write ``resources`` synthetic resources (half Patients, half Observations referring to them)."""
    migrate.upgrade(settings.database)
    services = open_services(settings)
    actor = Actor.system("bench")
    try:
        for start in range(0, resources, 500):
            count = min(500, resources - start)

            def work(tx: Transaction, start: int = start, count: int = count) -> None:
                for n in range(start, start + count, 2):
                    patient = tx.create(
                        {
                            "resourceType": "Patient",
                            "identifier": [{"system": RESIDENT_ID_SYSTEM, "value": f"MR{n:08d}"}],
                            "name": [{"family": "王", "given": [f"患者{n}"]}],
                            "gender": "female" if n % 4 else "male",
                            "birthDate": f"19{50 + n % 50}-0{1 + n % 9}-1{n % 10}",
                        }
                    )
                    if n + 1 < start + count:
                        tx.create(
                            {
                                "resourceType": "Observation",
                                "status": "final",
                                "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}], "text": "体温"},
                                "subject": {"reference": f"Patient/{patient.res_id}"},
                                "valueQuantity": {"value": 36.5 + (n % 20) / 10, "unit": "Cel"},
                            }
                        )

            services.store.transaction(actor, work)
    finally:
        services.close()


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _measure(settings: Settings, folder: Path, target_url: Callable[[int], str], rounds: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {"backup_s": [], "restore_s": [], "verify_s": [], "backup_encrypted_s": []}
    sealed = _settings(settings.database.url, folder, encrypted=True)
    size = 0
    for r in range(rounds):
        started = time.perf_counter()
        result = create_backup(settings, directory=folder / f"plain-{r}", offsite=False)
        times["backup_s"].append(time.perf_counter() - started)
        size = result.manifest.total_bytes
        started = time.perf_counter()
        verify_backup(result.path, settings.backup, scratch_server_url=settings.database.url)
        times["verify_s"].append(time.perf_counter() - started)
        target = target_url(r)
        started = time.perf_counter()
        restore_backup(result.path, target, settings.backup)
        times["restore_s"].append(time.perf_counter() - started)
        started = time.perf_counter()
        create_backup(sealed, directory=folder / f"sealed-{r}", offsite=False)
        times["backup_encrypted_s"].append(time.perf_counter() - started)
    return {**{k: round(statistics.median(v), 3) for k, v in times.items()}, "bytes": size}


def bench_sqlite(resources: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="huitong-bench-backup-") as tmp:
        folder = Path(tmp)
        db = folder / "huitong.db"
        settings = _settings(f"sqlite:///{db}", folder / "backups")
        load(settings, resources)
        result = _measure(settings, folder, lambda r: f"sqlite:///{folder / f'restored-{r}.db'}", rounds)

        def copy() -> None:
            for suffix in ("", "-wal"):
                source = db.with_name(db.name + suffix)
                if source.exists():
                    shutil.copyfile(source, folder / f"copy.db{suffix}")

        baseline = statistics.median(_timed(copy) for _ in range(rounds))
        result.update(
            database_bytes=db.stat().st_size,
            baseline="file copy",
            baseline_s=round(baseline, 3),
            ratio=round(result["backup_s"] / baseline, 1) if baseline else None,
        )
        return result


def bench_postgresql(resources: int, rounds: int) -> dict[str, Any]:
    with workspace(Path(tempfile.mkdtemp(prefix="huitong-bench-pg-"))) as folder:
        cluster = LocalCluster(folder / "data", free_port())
        cluster.init({"fsync": "off", "synchronous_commit": "off"})
        cluster.start()
        try:
            admin = _admin(cluster.url())
            admin('CREATE DATABASE "huitong"')
            settings = _settings(cluster.url("huitong"), folder / "backups")
            load(settings, resources)

            def target(r: int) -> str:
                admin(f'CREATE DATABASE "restored_{r}"')
                return cluster.url(f"restored_{r}")

            result = _measure(settings, folder, target, rounds)
            conninfo, env = pgtools.libpq_target(settings.database.url)
            dump = [pgtools.tool(cluster.bindir, "pg_dump"), "-Fc", "-d", conninfo]
            baseline = statistics.median(_timed(lambda: _to_devnull(dump, env)) for _ in range(rounds))
            result.update(
                baseline="pg_dump -Fc to /dev/null",
                baseline_s=round(baseline, 3),
                ratio=round(result["backup_s"] / baseline, 1) if baseline else None,
            )
            return result
        finally:
            cluster.stop(mode="immediate")


def _to_devnull(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=True)  # noqa: S603


def _admin(url: str) -> Callable[[str], None]:
    import sqlalchemy as sa

    def run(sql: str) -> None:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(sql)
        finally:
            engine.dispose()

    return run


class DiskSpaceError(OpsError):
    """Too little free disk to go on with the next step of the benchmark."""


def _room(folder: Path, min_free_gb: float, step: str, needs: int = 0) -> None:
    """Stop before ``step`` unless ``needs`` bytes still leave ``min_free_gb`` free on the disk of ``folder``."""
    free = shutil.disk_usage(folder).free
    if (free - needs) / 1e9 < min_free_gb:
        raise DiskSpaceError(
            f"{free / 1e9:.1f} GB free on the disk of {folder}; {step} needs about {needs / 1e9:.1f} GB and "
            f"{min_free_gb} GB must stay free: free some space or lower --min-free-gb"
        )


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        typer.echo(text, err=True)


def bench_existing(
    url: str,
    rounds: int,
    *,
    work: Path,
    encrypted: bool,
    min_free_gb: float,
    quiet: bool = True,
    verify: bool = True,
    lose_source: Callable[[], None] | None = None,
    server_url: str | None = None,
) -> dict[str, Any]:
    """Measure backup, verify and restore of the store at ``url`` as it is; the store is only read.

    Each round's backup, restored copy and scratch databases are deleted as soon as they were measured, so
    at most the backup and one restored copy exist at a time. The baseline runs just before the backup. A
    restore or verification refused for disk room is reported under ``not_measured``; the rest still is.
    ``lose_source`` (one round only; a PostgreSQL database the benchmark made itself) drops the measured
    database after the backup and baseline — the disaster the backup is for — so that verify and restore
    never need a second copy of the data on disk; ``server_url`` is then a database on the same server
    from which scratch and restored databases are created.
    """
    if lose_source is not None and rounds != 1:
        raise ValueError("a lost source can be measured in one round only")
    dialect = dialect_of(url)
    server = server_url or url
    settings = _settings(url, work / "backups")
    sealed = _settings(url, work / "backups", encrypted=True)
    size = sqlite_path(url).stat().st_size if dialect == "sqlite" else _pg_database_bytes(url)
    times: dict[str, list[float]] = {"backup_s": [], "baseline_s": [], "restore_s": []}
    if verify:
        times["verify_s"] = []
    if encrypted:
        times["backup_encrypted_s"] = []
    result: dict[str, Any] = {"store": "existing", "rounds": rounds, "database_bytes": size}
    for r in range(rounds):
        _say(quiet, f"{dialect}: round {r + 1}: baseline …")
        times["baseline_s"].append(_baseline(url, work, min_free_gb, size, settings))
        _say(quiet, f"{dialect}: baseline_s {times['baseline_s'][-1]:.1f}")
        # A SQLite backup is the whole file; a PostgreSQL dump is compressed (a half is a generous guess).
        _room(work, min_free_gb, "the backup", size if dialect == "sqlite" else size // 2)
        _say(quiet, f"{dialect}: round {r + 1}: backup …")
        started = time.perf_counter()
        backup = create_backup(settings, directory=work / "backups", offsite=False)
        times["backup_s"].append(time.perf_counter() - started)
        manifest = backup.manifest
        _say(quiet, f"{dialect}: backup_s {times['backup_s'][-1]:.1f}, {manifest.total_bytes} bytes")
        result.update(
            bytes=manifest.total_bytes,
            rows=sum(t.rows for t in manifest.tables.values()),
            resources=manifest.tables["resource"].rows if "resource" in manifest.tables else 0,
        )
        if encrypted:
            _room(work, min_free_gb, "the encrypted backup", manifest.total_bytes)
            _say(quiet, f"{dialect}: round {r + 1}: encrypted backup …")
            started = time.perf_counter()
            shutil.rmtree(create_backup(sealed, directory=work / "backups", offsite=False).path)
            times["backup_encrypted_s"].append(time.perf_counter() - started)
        if lose_source is not None:
            _say(quiet, f"{dialect}: the measured database is dropped (lost); restoring from the backup")
            lose_source()
            result["source"] = "dropped after the backup (restore into an empty server, as after its loss)"
        try:
            _room(work, min_free_gb, "the restore", size)
            _say(quiet, f"{dialect}: round {r + 1}: restore …")
            with _restore_target(server, work) as target:
                started = time.perf_counter()
                restore_backup(backup.path, target, settings.backup)
                times["restore_s"].append(time.perf_counter() - started)
                _say(quiet, f"{dialect}: restore_s {times['restore_s'][-1]:.1f}")
                if dialect == "postgresql":
                    result["restored_database_bytes"] = _pg_database_bytes(target)
        except DiskSpaceError as exc:  # the other figures are still worth having
            result.setdefault("not_measured", []).append(str(exc))
        if verify:
            try:
                _room(work, min_free_gb, "the verification", size)
                _say(quiet, f"{dialect}: round {r + 1}: verify …")
                started = time.perf_counter()
                report = verify_backup(backup.path, settings.backup, scratch_server_url=server)
                times["verify_s"].append(time.perf_counter() - started)
                _say(quiet, f"{dialect}: verify_s {times['verify_s'][-1]:.1f} ok={report.ok}")
                result.update(verified=report.ok, audit_chain=report.audit_chain, problems=report.problems[:5])
            except DiskSpaceError as exc:
                result.setdefault("not_measured", []).append(str(exc))
        else:
            result.update(verify_s=None, verified="not measured (--no-verify)")
        shutil.rmtree(backup.path)
    result.update({k: round(statistics.median(v), 3) if v else None for k, v in times.items()})
    result.update(
        baseline="file copy" if dialect == "sqlite" else "pg_dump -Fc to /dev/null",
        ratio=round(result["backup_s"] / result["baseline_s"], 1) if result["baseline_s"] else None,
    )
    return result


def _baseline(url: str, work: Path, min_free_gb: float, size: int, settings: Settings) -> float:
    """A plain copy of the SQLite file (and its WAL), removed again; or ``pg_dump -Fc`` to /dev/null."""
    if dialect_of(url) == "sqlite":
        db = sqlite_path(url)
        _room(work, min_free_gb, "the baseline file copy", size)

        def copy() -> None:
            for suffix in ("", "-wal"):
                source = db.with_name(db.name + suffix)
                if source.exists():
                    shutil.copyfile(source, work / f"copy.db{suffix}")

        try:
            return _timed(copy)
        finally:
            for suffix in ("", "-wal"):
                (work / f"copy.db{suffix}").unlink(missing_ok=True)
    conninfo, env = pgtools.libpq_target(url)
    dump = [pgtools.tool(pgtools.find_bindir(settings.backup.pg_bindir), "pg_dump"), "-Fc", "-d", conninfo]
    return _timed(lambda: _to_devnull(dump, env))


@contextlib.contextmanager
def _restore_target(server_url: str, work: Path) -> Iterator[str]:
    """An empty database (a file in ``work``, or a new database on the server), removed afterwards."""
    if dialect_of(server_url) == "sqlite":
        target = work / "restored.db"
        try:
            yield f"sqlite:///{target}"
        finally:
            for suffix in ("", "-wal", "-shm", ".restoring"):
                target.with_name(target.name + suffix).unlink(missing_ok=True)
        return
    name = f"huitong_bench_restore_{uuid.uuid4().hex[:8]}"
    admin = _admin(server_url)
    admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_database_bytes(url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one())
    finally:
        engine.dispose()


def bench_sqlite_file_on_postgresql(
    path: Path,
    rounds: int,
    *,
    work: Path,
    postgres_url: str | None,
    encrypted: bool,
    min_free_gb: float,
    quiet: bool,
    verify: bool = True,
) -> dict[str, Any]:
    """Copy the SQLite store into PostgreSQL (``huitong db copy``), then measure it there."""
    from huitong.db.copy import copy_database

    source = f"sqlite:///{path}"

    def measure(url: str, lose: Callable[[], None] | None, server: str | None) -> dict[str, Any]:
        _room(work, min_free_gb, "the copy into PostgreSQL", path.stat().st_size)
        _say(quiet, f"postgresql: copying {path} into PostgreSQL …")
        started = time.perf_counter()
        copied = copy_database(source, url, progress=not quiet)
        copy_s = round(time.perf_counter() - started, 3)
        _say(quiet, f"postgresql: copied {copied.rows} rows in {copy_s} s")
        result = bench_existing(
            url,
            rounds,
            work=work,
            encrypted=encrypted,
            min_free_gb=min_free_gb,
            quiet=quiet,
            verify=verify,
            lose_source=lose,
            server_url=server,
        )
        return {"copied_from_sqlite_s": copy_s, "copied_rows": copied.rows, **result}

    if postgres_url:
        return measure(postgres_url, None, None)
    # Durability on (as in production); a larger WAL budget, so the bulk load is not one checkpoint after another.
    with throwaway_server({"shared_buffers": "'256MB'", "max_wal_size": "'4GB'"}) as database:
        url = database("huitong")
        server = make_url(url).set(database="postgres").render_as_string(hide_password=False)
        lose = (lambda: _admin(server)('DROP DATABASE "huitong" WITH (FORCE)')) if rounds == 1 else None
        return {"server": "throwaway local cluster", **measure(url, lose, server)}


def backup_bench(
    resources: Annotated[
        int, typer.Option(help="Synthetic resources to load (half Patients, half Observations).")
    ] = 10_000,
    rounds: Annotated[int, typer.Option(help="Rounds; medians are reported.")] = 3,
    backends: Annotated[str, typer.Option(help="Comma-separated: sqlite, postgresql.")] = "sqlite,postgresql",
    database: Annotated[
        str | None,
        typer.Option(help="Measure this existing store as it is (SQLite or PostgreSQL URL) instead of loading one."),
    ] = None,
    sqlite_file: Annotated[
        Path | None,
        typer.Option(
            help="Measure this existing SQLite store (opened read-only) on SQLite, and for the postgresql backend "
            "copied into PostgreSQL first."
        ),
    ] = None,
    postgres_url: Annotated[
        str | None,
        typer.Option(help="With --sqlite-file: an empty PostgreSQL database to copy into (default: a throwaway one)."),
    ] = None,
    encrypted: Annotated[
        bool | None,
        typer.Option(help="Also time an encrypted backup (default: yes for synthetic data, no for existing stores)."),
    ] = None,
    work_dir: Annotated[
        Path | None, typer.Option(help="Folder for backups and restored copies (default: a temporary folder).")
    ] = None,
    min_free_gb: Annotated[float, typer.Option(help="Stop before a step when less disk than this is free.")] = 10.0,
    verify: Annotated[
        bool, typer.Option(help="Measure the verification too (existing stores; a scratch restore and checksums).")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """Backup, verify and restore seconds and bytes on SQLite and PostgreSQL, against a plain copy / pg_dump."""
    if database and sqlite_file:
        raise typer.BadParameter("give either --database or --sqlite-file, not both")
    if postgres_url and not sqlite_file:
        raise typer.BadParameter("--postgres-url goes with --sqlite-file (the database to copy the file into)")
    if sqlite_file and not sqlite_file.is_file():
        raise typer.BadParameter(f"{sqlite_file} is not a file")
    existing = bool(database or sqlite_file)
    seal = encrypted if encrypted is not None else not existing
    result: dict[str, Any] = {"benchmark": "backup", "rounds": rounds}
    parent = work_dir or Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    try:
        if database:
            result["store"] = redacted(database)
            with _work(parent) as work:
                result[dialect_of(database)] = bench_existing(
                    database, rounds, work=work, encrypted=seal, min_free_gb=min_free_gb, quiet=as_json, verify=verify
                )
        elif sqlite_file:
            result["store"] = sqlite_file.name
            for backend in (b.strip() for b in backends.split(",") if b.strip()):
                with _work(parent) as work:
                    if backend == "sqlite":
                        result[backend] = bench_existing(
                            f"sqlite:///{sqlite_file.resolve()}",
                            rounds,
                            work=work,
                            encrypted=seal,
                            min_free_gb=min_free_gb,
                            quiet=as_json,
                            verify=verify,
                        )
                    else:
                        result[backend] = bench_sqlite_file_on_postgresql(
                            sqlite_file.resolve(),
                            rounds,
                            work=work,
                            postgres_url=postgres_url,
                            encrypted=seal,
                            min_free_gb=min_free_gb,
                            quiet=as_json,
                            verify=verify,
                        )
        else:
            result["resources"] = resources
            for backend in (b.strip() for b in backends.split(",") if b.strip()):
                _say(as_json, f"{backend}: loading {resources} resources and measuring …")
                result[backend] = (
                    bench_sqlite(resources, rounds) if backend == "sqlite" else bench_postgresql(resources, rounds)
                )
    except OpsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(int(exc.exit_code)) from exc
    if existing:
        result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    typer.echo(json.dumps(result, ensure_ascii=False))


@contextlib.contextmanager
def _work(parent: Path) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="huitong-bench-backup-", dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
