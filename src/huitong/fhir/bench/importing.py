"""``huitong bench import``: bulk import rate on SQLite and PostgreSQL, against the raw insert rate.

For each backend, on fresh databases: NDJSON through :class:`~huitong.fhir.bulk.importer.Importer`;
Synthea-style transaction bundles (``urn:uuid`` references) through the same importer; and the limit —
the very same rows (resource, version and index rows, computed beforehand) inserted the fastest way the backend
has (:func:`huitong.db.bulk.insert_rows`: ``executemany`` on SQLite, ``COPY`` on PostgreSQL), with no parsing,
validation, id handling or auditing.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from huitong import heap
from huitong.db import bulk, migrate
from huitong.db.schema import resource, resource_version
from huitong.fhir.batch.references import rewrite_references
from huitong.fhir.bench.dataset import PER_PATIENT, patient_resources, synthetic_resources
from huitong.fhir.bulk import DEFAULT_CHUNK
from huitong.fhir.bulk.importer import Importer
from huitong.fhir.search.index import Rows, index_rows, insert_rows
from huitong.fhir.stored import instant
from huitong.ops.cluster import throwaway_server
from huitong.security.actor import Actor
from huitong.services import open_services
from huitong.settings import Settings


def _settings(url: str) -> Settings:
    return Settings(env="test", database={"url": url}, security={"secret_key": "b" * 48})


def write_inputs(folder: Path, resources: int) -> tuple[Path, list[Path]]:
    """An NDJSON file and transaction bundles holding ``resources`` resources each way."""
    ndjson = folder / "data.ndjson"
    with ndjson.open("wb") as out:
        for res in synthetic_resources(resources):
            out.write(orjson.dumps(res) + b"\n")
    bundles = []
    for n in range(max(1, resources // PER_PATIENT)):
        items = patient_resources(n)
        urns = {f"{r['resourceType']}/{r['id']}": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, r['id'])}" for r in items}
        entries = [
            {
                "fullUrl": urns[f"{r['resourceType']}/{r['id']}"],
                "resource": rewrite_references({k: v for k, v in r.items() if k != "id"}, urns),
                "request": {"method": "POST", "url": r["resourceType"]},
            }
            for r in items
        ]
        path = folder / f"bundle-{n:06d}.json"
        path.write_bytes(orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}))
        bundles.append(path)
    return ndjson, bundles


def _timed_import(url: str, paths: list[Path]) -> tuple[int, float]:
    settings = _settings(url)
    migrate.upgrade(settings.database)
    services = open_services(settings)
    try:
        importer = Importer(
            services, Actor.system("bench-import"), chunk=DEFAULT_CHUNK, processes=settings.fhir.import_processes
        )
        try:
            with heap.frozen_heap():  # as ``huitong import`` does; the freeze itself is start-up, not timed
                started = time.perf_counter()
                importer.import_paths(paths)
                elapsed = time.perf_counter() - started
        finally:
            importer.close()
        return importer.report.resources, elapsed
    finally:
        services.close()


def _timed_raw(url: str, resources: int) -> tuple[int, float]:
    settings = _settings(url)
    migrate.upgrade(settings.database)
    services = open_services(settings)
    now = datetime.now(UTC)
    meta = {"versionId": "1", "lastUpdated": instant(now)}
    chunks: list[tuple[list[dict[str, Any]], list[dict[str, Any]], Rows]] = []
    rows: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    index: Rows = {}
    for pk, res in enumerate(synthetic_resources(resources), 1):
        doc = {"resourceType": res["resourceType"], "id": res["id"], "meta": meta, **res}
        text = orjson.dumps(doc).decode()
        common = {"res_type": res["resourceType"], "last_updated": now, "deleted": False, "content": text}
        rows.append({"pk": pk, "res_id": res["id"], "version_id": 1, **common})
        versions.append({"resource_pk": pk, "version_id": 1, "method": "PUT", **common, "content": None})
        index_rows(pk, res["resourceType"], doc, index)
        if len(rows) >= DEFAULT_CHUNK:  # the importer's transactions
            chunks.append((rows, versions, index))
            rows, versions, index = [], [], {}
    if rows:
        chunks.append((rows, versions, index))
    try:
        started = time.perf_counter()
        for chunk_rows, chunk_versions, chunk_index in chunks:

            def job(conn: sa.Connection, r: Any = chunk_rows, v: Any = chunk_versions, i: Any = chunk_index) -> None:
                bulk.insert_rows(conn, resource, r)  # COPY on PostgreSQL, executemany on SQLite
                bulk.insert_rows(conn, resource_version, v)
                insert_rows(conn, i)

            services.db.write(job)
        return resources, time.perf_counter() - started
    finally:
        services.close()


def bench_import(resources: int, *, postgres: bool = True, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the benchmark on SQLite (and PostgreSQL); returns the figures."""
    say = log or (lambda _m: None)
    out: dict[str, Any] = {"resources": resources, "backends": {}}
    with tempfile.TemporaryDirectory(prefix="huitong-bench-import-") as tmp:
        folder = Path(tmp)
        ndjson, bundles = write_inputs(folder, resources)
        backends: list[tuple[str, Callable[[str], str]]] = [("sqlite", lambda name: f"sqlite:///{folder / name}.db")]
        with throwaway_server() if postgres else _nothing() as pg:
            if pg is not None:
                backends.append(("postgresql", pg))
            for backend, make in backends:
                say(f"{backend}: NDJSON")
                n_ndjson, t_ndjson = _timed_import(make("ndjson"), [ndjson])
                say(f"{backend}: bundles")
                n_bundles, t_bundles = _timed_import(make("bundles"), bundles)
                say(f"{backend}: raw inserts")
                n_raw, t_raw = _timed_raw(make("raw"), resources)
                ndjson_rate, raw_rate = n_ndjson / t_ndjson, n_raw / t_raw
                out["backends"][backend] = {
                    "ndjson_resources_per_s": round(ndjson_rate, 1),
                    "bundle_resources_per_s": round(n_bundles / t_bundles, 1),
                    "raw_limit_per_s": round(raw_rate, 1),
                    "ratio": round(ndjson_rate / raw_rate, 3),
                }
    first = out["backends"]["sqlite"]
    out.update(
        resources_per_s=first["ndjson_resources_per_s"], raw_limit_per_s=first["raw_limit_per_s"], ratio=first["ratio"]
    )
    return out


@contextmanager
def _nothing() -> Iterator[None]:
    yield None
