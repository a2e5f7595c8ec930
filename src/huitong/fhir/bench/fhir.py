"""``huitong bench fhir``: read by id, searches and $everything against a real uvicorn, with the ceiling.

Loads (once, cached under ``--cache``) a synthetic dataset of ``--resources`` resources into SQLite, starts
``huitong serve --workers N`` (``--workers``, default 1; audit of reads on) and a bare ASGI app returning the same
bytes as a read on as many uvicorn workers, and measures both with the same lean load generator. With N > 1 the
16-client read is measured on one worker as well (``read_rps_1_worker``).

In the same run, the floor of an audited read (``floor.py``: a token look-up, one ``SELECT``, one hash-chained
audit row group-committed, nothing else) on as many workers: ``floor_rps`` and ``floor_ratio`` (to the bare
ceiling) with the answer waiting for the audit commit as Huitong's does, ``floor_unwaited_*`` without waiting.
It shows which ratio to the bare ceiling an audited read can reach on the machine at all.
"""

from __future__ import annotations

import random
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from huitong.db import migrate
from huitong.fhir.bench.dataset import PER_PATIENT, load_fast, mrn, patient_id, synthetic_resources
from huitong.fhir.bench.load import LoadResult, run_load
from huitong.fhir.bench.server import free_port, running
from huitong.services import open_services
from huitong.settings import Settings

TOKEN = "bench-token-0123456789abcdef"  # noqa: S105 - a throwaway token for a loopback benchmark server


def _settings(db_path: Path) -> Settings:
    return Settings(
        env="test",
        database={"url": f"sqlite:///{db_path}"},
        security={"secret_key": "b" * 48, "api_tokens": {"bench": TOKEN}},
    )


def prepare(cache: Path, resources: int, log: Any = None) -> Path:
    """The cached benchmark database with ``resources`` resources (built on first use)."""
    cache.mkdir(parents=True, exist_ok=True)
    db_path = cache / f"fhir-{resources}.db"
    done = cache / f"fhir-{resources}.done"
    if db_path.exists() and done.exists():
        migrate.upgrade(_settings(db_path).database)  # the schema may have moved on since it was cached
        return db_path
    for leftover in cache.glob(f"fhir-{resources}.db*"):
        leftover.unlink()
    settings = _settings(db_path)
    migrate.upgrade(settings.database)
    services = open_services(settings)
    try:
        load_fast(services.db, synthetic_resources(resources), progress=log)
    finally:
        services.close()
    done.touch()
    return db_path


def _env(db_path: Path, port: int, *, audit_reads: bool = True) -> dict[str, str]:
    return {
        "HUITONG_AUDIT__AUDIT_READS": "true" if audit_reads else "false",
        "HUITONG_ENV": "test",
        "HUITONG_DATABASE__URL": f"sqlite:///{db_path}",
        "HUITONG_SECURITY__SECRET_KEY": "b" * 48,
        "HUITONG_SECURITY__API_TOKENS": f'{{"bench": "{TOKEN}"}}',
        "HUITONG_HTTP__PORT": str(port),
        "HUITONG_LOGGING__LEVEL": "WARNING",
        # The load generator is one credential on one address: lift the per-credential rate limit.
        "HUITONG_SECURITY__API_RATE_PER_MINUTE": "1000000000",
    }


def _serve(port: int, workers: int) -> list[str]:
    return ["-m", "huitong", "serve", "--port", str(port), "--workers", str(workers)]


def _warm_up(port: int, paths: list[str], token: str | None) -> None:
    """Every worker started and its connections open (a second of reads, not measured)."""
    run_load("127.0.0.1", port, paths, clients=16, seconds=1.0, token=token)


def bench_fhir(
    resources: int, *, seconds: float, cache: Path, log: Any = None, audit_reads: bool = True, workers: int = 1
) -> dict[str, Any]:
    """Run the benchmark; returns the figures (see the module docstring)."""
    db_path = prepare(cache, resources, log)
    patients = max(1, resources // PER_PATIENT)
    rng = random.Random(7)  # noqa: S311 - benchmark sampling
    ids = [patient_id(rng.randrange(patients)) for _ in range(2000)]
    read_paths = [f"/fhir/Patient/{i}" for i in ids]
    port = free_port()
    figures: dict[str, Any] = {
        "resources": resources,
        "seconds_per_run": seconds,
        "audit_reads": audit_reads,
        "workers": workers,
    }
    env = _env(db_path, port, audit_reads=audit_reads)
    if workers > 1:  # the single-worker figure too, measured the same way
        with running(_serve(port, 1), env, port):
            _warm_up(port, read_paths, TOKEN)
            single = run_load("127.0.0.1", port, read_paths, clients=16, seconds=seconds, token=TOKEN)
        figures.update(
            read_rps_1_worker=round(single.rps, 1),
            read_p50_ms_1_worker=round(single.percentile_ms(50), 2),
            read_p99_ms_1_worker=round(single.percentile_ms(99), 2),
        )
        port = free_port()
        env = _env(db_path, port, audit_reads=audit_reads)
    with running(_serve(port, workers), env, port):
        sample = _get(port, read_paths[0])
        _warm_up(port, read_paths, TOKEN)
        one = run_load("127.0.0.1", port, read_paths, clients=1, seconds=seconds, token=TOKEN)
        many = run_load("127.0.0.1", port, read_paths, clients=16, seconds=seconds, token=TOKEN)
        searches = {
            "token": [f"/fhir/Observation?code=http://loinc.org|8867-4&subject=Patient/{i}" for i in ids[:200]],
            "token_only": ["/fhir/Observation?code=http://loinc.org|2339-0&_count=20"],
            "date": [f"/fhir/Encounter?date=ge2021-0{m}-01&date=lt2021-0{m}-08&_count=20" for m in range(1, 10)],
            "chained": [
                f"/fhir/Observation?subject:Patient.identifier=urn:oid:1.2.156.112604.1.2|{mrn(rng.randrange(patients))}"
                for _ in range(200)
            ],
            "everything": [f"/fhir/Patient/{i}/$everything" for i in ids[:200]],
        }
        search_runs = {
            kind: run_load("127.0.0.1", port, paths, clients=1, seconds=seconds, token=TOKEN, max_requests=300)
            for kind, paths in searches.items()
        }
    with tempfile.NamedTemporaryFile(suffix=".json") as body:
        body.write(sample)
        body.flush()
        bare = _other_app("bare", {"HUITONG_BENCH_BODY": body.name}, workers, read_paths, seconds, None)
    floors = {}
    with tempfile.TemporaryDirectory(prefix="huitong-floor-") as audit_dir:
        for wait in ("1", "0"):
            env = {
                "HUITONG_BENCH_DB": str(db_path.resolve()),
                "HUITONG_BENCH_AUDIT": audit_dir,
                "HUITONG_BENCH_TOKEN": TOKEN,
                "HUITONG_BENCH_FLOOR_WAIT": wait,
            }
            floors[wait] = _other_app("floor", env, workers, read_paths, seconds, TOKEN)
    figures.update(
        read_rps=round(many.rps, 1),
        read_p50_ms=round(many.percentile_ms(50), 2),
        read_p99_ms=round(many.percentile_ms(99), 2),
        read_rps_1_client=round(one.rps, 1),
        read_p50_ms_1_client=round(one.percentile_ms(50), 2),
        read_p99_ms_1_client=round(one.percentile_ms(99), 2),
        read_failures={**one.statuses, **many.statuses},
        bare_rps=round(bare.rps, 1),
        ratio=round(many.rps / bare.rps, 3) if bare.rps else None,
        floor_rps=round(floors["1"].rps, 1),
        floor_p99_ms=round(floors["1"].percentile_ms(99), 2),
        floor_ratio=round(floors["1"].rps / bare.rps, 3) if bare.rps else None,
        floor_unwaited_rps=round(floors["0"].rps, 1),
        floor_unwaited_ratio=round(floors["0"].rps / bare.rps, 3) if bare.rps else None,
        floor_failures={**floors["1"].statuses, **floors["0"].statuses},
        search_p95_ms={kind: round(run.percentile_ms(95), 2) for kind, run in search_runs.items()},
        search_p50_ms={kind: round(run.percentile_ms(50), 2) for kind, run in search_runs.items()},
        search_failures={kind: run.statuses for kind, run in search_runs.items() if run.failures},
    )
    return figures


def _other_app(
    module: str, env: dict[str, str], workers: int, paths: list[str], seconds: float, token: str | None
) -> LoadResult:
    """16 clients reading ``paths`` from ``huitong.fhir.bench.<module>:app`` on as many uvicorn workers as the
    server had (the bare ceiling, the audited-read floor)."""
    port = free_port()
    args = ["-m", "uvicorn", f"huitong.fhir.bench.{module}:app", "--port", str(port), "--log-level", "warning"]
    with running([*args, "--workers", str(workers), "--no-access-log"], env, port):
        _warm_up(port, paths, token)
        return run_load("127.0.0.1", port, paths, clients=16, seconds=seconds, token=token)


def _get(port: int, path: str) -> bytes:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        body: bytes = response.read()
        return body


__all__ = ["LoadResult", "bench_fhir", "prepare"]
