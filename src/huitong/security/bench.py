"""``huitong bench field-encryption``: what field-level encryption at rest costs on the store's paths.

One SQLite database, the same Patients written twice through the resource store — once with field
encryption on, once off (the same-run baseline) — then read back one by one and found by identifier.
Observations are read too, to show that resources without protected values keep the fast read path.
Reads are not audited here (``audit_reads`` off), so the figures isolate the codec; with read auditing on,
each read also appends an audit row, which costs more than the decryption. Medians of ``--rounds``; the last
line is one JSON object.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from huitong.db import migrate
from huitong.fhir.store import ResourceStore
from huitong.fhir.transaction import Transaction
from huitong.identifiers import RESIDENT_ID_SYSTEM
from huitong.security.actor import Actor
from huitong.security.protection import FieldProtector
from huitong.services import Services, open_services
from huitong.settings import Settings


def _patient(n: int, tag: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [
            {"system": RESIDENT_ID_SYSTEM, "value": f"{tag}0105194912{n:06d}"},
            {"system": "urn:mrn", "value": f"M{n}"},
        ],
        "name": [{"family": "王", "given": [f"患者{n}"]}],
        "telecom": [{"system": "phone", "value": f"138{n:08d}", "use": "mobile"}],
        "address": [{"line": [f"中关村大街{n}号"], "city": "北京市", "district": "海淀区"}],
        "gender": "female" if n % 2 else "male",
        "birthDate": "1949-12-31",
    }


def _write(store: ResourceStore, actor: Actor, count: int, tag: str) -> tuple[float, list[str]]:
    ids: list[str] = []
    started = time.perf_counter()
    for start in range(0, count, 100):

        def work(tx: Transaction, start: int = start) -> None:
            for n in range(start, min(start + 100, count)):
                ids.append(tx.create(_patient(n, tag)).res_id)

        store.transaction(actor, work)
    return time.perf_counter() - started, ids


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _run(services: Services, count: int, round_no: int) -> dict[str, float]:
    store, actor = services.store, Actor.system("bench")
    on = store.protector
    assert on is not None  # noqa: S101 - built by open_services
    off = FieldProtector(on.cipher, enabled=False, reveal_roles=on.reveal_roles)
    tag, sealed_tag = f"{10 + 2 * round_no}", f"{11 + 2 * round_no}"  # distinct ID numbers in every round
    store.protector = off
    plain_s, plain_ids = _write(store, actor, count, tag)
    store.protector = on
    sealed_s, sealed_ids = _write(store, actor, count, sealed_tag)
    obs = [
        store.create(actor, {"resourceType": "Observation", "status": "final", "code": {"text": "t"}}).res_id
        for _ in range(min(count, 200))
    ]

    def read_all(ids: list[str], rtype: str = "Patient") -> None:
        for rid in ids:
            store.read(actor, rtype, rid)

    probes = list(range(0, count, max(count // 50, 1)))

    def search(prefix: str) -> None:
        for n in probes:
            found = services.search.search(
                actor, "Patient", [("identifier", f"{RESIDENT_ID_SYSTEM}|{prefix}0105194912{n:06d}")]
            )
            assert len(found.matches) == 1  # noqa: S101 - the benchmark checks what it measures

    return {
        "write_plain_ms": 1000 * plain_s / count,
        "write_sealed_ms": 1000 * sealed_s / count,
        "read_plain_ms": 1000 * _timed(lambda: read_all(plain_ids)) / count,
        "read_sealed_ms": 1000 * _timed(lambda: read_all(sealed_ids)) / count,
        "read_observation_ms": 1000 * _timed(lambda: read_all(obs, "Observation")) / len(obs),
        "search_plain_ms": 1000 * _timed(lambda: search(tag)) / len(probes),
        "search_sealed_ms": 1000 * _timed(lambda: search(sealed_tag)) / len(probes),
    }


def field_encryption_bench(
    patients: Annotated[int, typer.Option(help="Patients written per round, encrypted and in clear.")] = 1000,
    rounds: Annotated[int, typer.Option(help="Rounds; medians are reported.")] = 3,
) -> None:
    """Field-level encryption at rest: write, read and identifier search per Patient, on vs off (SQLite)."""
    with tempfile.TemporaryDirectory(prefix="huitong-bench-fields-") as tmp:
        settings = Settings(
            env="development",
            database={"url": f"sqlite:///{Path(tmp) / 'huitong.db'}"},
            security={"field_encryption": "on"},
            audit={"audit_reads": False},
        )
        migrate.upgrade(settings.database)
        services = open_services(settings)
        try:
            runs = [_run(services, patients, r) for r in range(rounds)]
        finally:
            services.close()
    med = {k: round(statistics.median(r[k] for r in runs), 4) for k in runs[0]}
    out = {
        "benchmark": "field-encryption",
        "patients": patients,
        "rounds": rounds,
        **med,
        "ratio": round(med["read_sealed_ms"] / med["read_plain_ms"], 2),
        "ratio_write": round(med["write_sealed_ms"] / med["write_plain_ms"], 2),
        "ratio_search": round(med["search_sealed_ms"] / med["search_plain_ms"], 2),
    }
    for key, value in out.items():
        typer.echo(f"{key:22} {value}", err=True)
    typer.echo(json.dumps(out))
