"""``huitong bench backup``: backup, restore and verify time and size on SQLite and PostgreSQL.

A database of ``--resources`` synthetic resources (Patients and Observations with their versions and
audit rows, written through the resource store in transactions of 500) is backed up, verified and
restored. Baselines measured in the same run: a plain copy of the SQLite file (and its WAL), and
``pg_dump -Fc`` to /dev/null of the same PostgreSQL database (on a throwaway local cluster).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from huitong.db import migrate
from huitong.fhir.transaction import Transaction
from huitong.ops import pgtools
from huitong.ops.backup import create_backup
from huitong.ops.cluster import LocalCluster, free_port, workspace
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
                            "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": f"MR{n:08d}"}],
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


def backup_bench(
    resources: Annotated[
        int, typer.Option(help="Synthetic resources to load (half Patients, half Observations).")
    ] = 10_000,
    rounds: Annotated[int, typer.Option(help="Rounds; medians are reported.")] = 3,
    backends: Annotated[str, typer.Option(help="Comma-separated: sqlite, postgresql.")] = "sqlite,postgresql",
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """Backup, verify and restore seconds and bytes on SQLite and PostgreSQL, against a plain copy / pg_dump."""
    result: dict[str, Any] = {"benchmark": "backup", "resources": resources, "rounds": rounds}
    for backend in (b.strip() for b in backends.split(",") if b.strip()):
        if not as_json:
            typer.echo(f"{backend}: loading {resources} resources and measuring …")
        result[backend] = (
            bench_sqlite(resources, rounds) if backend == "sqlite" else bench_postgresql(resources, rounds)
        )
    typer.echo(json.dumps(result, ensure_ascii=False))
