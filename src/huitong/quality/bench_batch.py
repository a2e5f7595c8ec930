"""The batch half of ``huitong bench quality``: the time of ``huitong quality run``'s batch over a SQLite
database holding the ingested synthetic hospital, copied as often as asked, and its projection to a
hospital-year.

* **database**: the ingested repository (:class:`Repository`, filled by :func:`huitong.quality.bench.ingest`) is
  loaded into a SQLite database (``WORK/db``, once per data set and number of copies); with ``--replicas N``
  N times, the copies' ids, references and patients' local identifier systems suffixed ``.cN`` so that each copy
  is a hospital of its own and the rules find in it what they find in the original.
* **timing**: :func:`huitong.quality.run.run_batch` — ``huitong quality run`` without recording — reads the
  database through the store in ``--workers`` processes, then in one process; the baseline, same run, reads and
  decodes every resource of the batch from the same database in one process (one pass in key order, as the batch
  reads, each resource decoded whole with ``orjson.loads``) without checking it — the floor of a batch checker
  that reads the repository and decodes what it reads.
* **projection**: unless the data set is the hospital-year itself, its batch time is projected from the
  hospital-year's record counts (docs/synth.md), per resource type: at the measured rate, and with every process
  on a core of its own (the CPU time of all processes divided by the workers) — projections, labelled so in the
  output.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from resource import RUSAGE_CHILDREN, RUSAGE_SELF, getrusage
from typing import Any

import orjson

from huitong.quality.registry import all_rules
from huitong.quality.rule import Context, Finding
from huitong.quality.run import run_batch
from huitong.quality.scan import stream_mixed
from huitong.security.actor import Actor
from huitong.settings import QualitySettings

#: The hospital-year data set (docs/synth.md, seed 1) in the manifest's count names.
HOSPITAL_YEAR = {
    "persons": 220_819,
    "visits": 600_000,
    "stays": 40_000,
    "lab_results": 2_892_706,
    "imaging_reports": 187_543,
}
#: What drives the number of resources of each type, in manifest counts.
DRIVERS = {
    "Patient": ("persons",),
    "Encounter": ("visits", "stays"),
    "Condition": ("visits", "stays"),
}
LAB_DRIVERS = ("lab_results", "imaging_reports")


class Repository:
    """Resources by (type, id), the last write winning, with the message that wrote each last."""

    def __init__(self) -> None:
        self.bodies: dict[tuple[str, str], dict[str, Any]] = {}
        self.written_by: dict[tuple[str, str], str] = {}

    def put(self, body: dict[str, Any], origin: str) -> None:
        key = (body["resourceType"], body["id"])
        self.bodies[key] = body
        self.written_by[key] = origin

    def types(self) -> Counter[str]:
        return Counter(t for t, _ in self.bodies)


def identifier_codes(ident: dict[str, Any]) -> set[str]:
    """The type codes of an identifier (``PI``, ``MR``, ``PLAC`` …)."""
    return {c.get("code", "") for c in ((ident.get("type") or {}).get("coding") or []) if isinstance(c, dict)}


def replica(body: dict[str, Any], copy: int) -> dict[str, Any]:
    """Copy ``copy`` (1, 2, …) of a resource for a larger repository: its id, every reference and the local
    identifier systems of patients get the suffix ``.cN``, so each copy is its own set of patients, orders and
    results and the rules find in it what they find in the original."""
    copied: dict[str, Any] = orjson.loads(Replicator(body).copy(copy))
    return copied


class Replicator:
    """Copies of one resource's JSON text (see :func:`replica`), made by text substitution."""

    _REFERENCE = re.compile(rb'"reference":"([A-Za-z]+/[A-Za-z0-9\-.]{1,64})"')

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.text = orjson.dumps({**body, "id": "\x00id\x00"})

    def copy(self, copy: int) -> bytes:
        suffix = f".c{copy}".encode()
        if self.body.get("resourceType") == "Patient":
            body = orjson.loads(self.text)
            for ident in body.get("identifier") or []:
                if (
                    isinstance(ident, dict)
                    and isinstance(ident.get("system"), str)
                    and identifier_codes(ident) & {"PI", "MR"}
                ):
                    ident["system"] += suffix.decode()
            text = orjson.dumps(body)
        else:
            text = self.text
        text = self._REFERENCE.sub(rb'"reference":"\1' + suffix + b'"', text)
        return text.replace(b'"\\u0000id\\u0000"', b'"' + self.body["id"].encode() + suffix + b'"', 1)


def is_copy(res_id: str) -> bool:
    """Whether ``res_id`` is the id of a copy (``….cN``), not of the original."""
    return _COPY.search(res_id) is not None


_COPY = re.compile(r"\.c\d+$")


def load_database(repo: Repository, url: str, replicas: int) -> int:
    """A fresh database at ``url`` (migrated) holding the repository ``replicas`` times, as the store keeps
    current resources (the ``resource`` table; history and search index rows are not needed by a batch run)."""
    from huitong.db import open_database
    from huitong.db.migrate import upgrade
    from huitong.db.schema import resource
    from huitong.settings import DatabaseSettings

    settings = DatabaseSettings(url=url, sqlite_synchronous="NORMAL")
    upgrade(settings)
    db = open_database(settings)
    now = datetime.now(UTC)
    total = 0
    try:
        copies = [Replicator(b) for b in repo.bodies.values()]
        for copy in range(replicas):
            for i in range(0, len(copies), 10_000):
                rows = [
                    {
                        "res_type": c.body["resourceType"],
                        "res_id": f"{c.body['id']}.c{copy}" if copy else c.body["id"],
                        "version_id": 1,
                        "last_updated": now,
                        "deleted": False,
                        "content": (c.copy(copy) if copy else orjson.dumps(c.body)).decode(),
                    }
                    for c in copies[i : i + 10_000]
                ]

                def job(conn: Any, rows: list[dict[str, Any]] = rows) -> int:
                    conn.execute(resource.insert(), rows)
                    return len(rows)

                total += db.write(job)
    finally:
        db.close()
    return total


def bench_database(work: Path, data: Path, repo: Repository, replicas: int) -> tuple[str, int]:
    """The SQLite database of the data set ``data`` and number of copies, loaded once into ``work`` — again when the
    data set was generated anew (its manifest's time, kept beside the row count, differs)."""
    folder = work / "db"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{data.name}-x{replicas}.db"
    done = path.with_suffix(".done")
    url = f"sqlite:///{path}"
    generated = str((data / "manifest.json").stat().st_mtime_ns) if (data / "manifest.json").exists() else ""
    marker = done.read_text(encoding="utf-8").split() if done.exists() else []
    if len(marker) != 2 or marker[1] != generated:  # also a marker from before the time was kept: loaded anew
        for stale in folder.glob(f"{path.name}*"):
            stale.unlink()
        done.unlink(missing_ok=True)
        marker = [str(load_database(repo, url, replicas)), generated]
        done.write_text(" ".join(marker), encoding="utf-8")
    return url, int(marker[0])


def batch(
    repo: Repository,
    settings: QualitySettings,
    ctx_template: Context,
    repeat: int,
    *,
    url: str,
    workers: int,
) -> dict[str, Any]:
    """Time ``huitong quality run``'s batch (:func:`run_batch`, nothing recorded) over the database at ``url``
    — streamed from the store in ``workers`` processes, and in one process — and the baseline: reading and
    decoding the same resources from the database in one process, without checking them."""
    from huitong.services import open_services
    from huitong.settings import Settings

    platform = Settings(database={"url": url, "sqlite_synchronous": "NORMAL"}, quality=settings)
    checked = Counter(rtype for rtype, _rid in repo.bodies)
    read_types = sorted(({t for r in all_rules() for t in r.reads} | {"Patient"}) & set(checked))
    actor = Actor.system("quality")
    services = open_services(platform)
    runs: list[float] = []
    cpu: list[float] = []
    #: CPU seconds of this process and of every worker process over the whole run, worker start-up included
    cpu_all: list[float] = []
    single: list[float] = []
    single_cpu: list[float] = []
    base: list[float] = []
    base_cpu: list[float] = []
    findings: list[Finding] = []
    one_process: list[Finding] = []
    resources = used = 0
    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        for _ in range(repeat):
            began, began_cpu = time.perf_counter(), _cpu_with_children()
            result = run_batch(
                services.store,
                settings,
                record=False,
                catalogues=ctx_template.catalogues,
                platform=platform,
                workers=workers,
            )
            runs.append(time.perf_counter() - began)
            cpu_all.append(_cpu_with_children() - began_cpu)  # the pool has ended: its workers are counted
            cpu.append(result.cpu_s)
            findings, resources, used = result.findings, result.resources, result.workers
            began = time.perf_counter()
            alone = run_batch(services.store, settings, record=False, catalogues=ctx_template.catalogues, workers=1)
            one_process = alone.findings
            single.append(time.perf_counter() - began)
            single_cpu.append(alone.cpu_s)
            began, began_cpu = time.perf_counter(), time.process_time()
            for item in stream_mixed(services.store, actor, read_types):  # one pass in key order, as the batch
                orjson.loads(item[1])
            base.append(time.perf_counter() - began)
            base_cpu.append(time.process_time() - began_cpu)
    finally:
        services.close()
    original = [f for f in findings if not is_copy(f.res_id)]
    return {
        "findings": original,
        "findings_all": len(findings),
        "same_as_one_process": findings == one_process,
        "batch_s": statistics.median(runs),
        "batch_cpu_s": statistics.median(cpu),
        "batch_cpu_all_s": statistics.median(cpu_all),
        "batch_cores_used": statistics.median(c / w for c, w in zip(cpu_all, runs, strict=True) if w),
        "batch_one_process_s": statistics.median(single),
        "batch_one_process_cpu_s": statistics.median(single_cpu),
        "baseline_decode_s": statistics.median(base),
        "baseline_decode_cpu_s": statistics.median(base_cpu),
        "checked": {t: checked[t] for t in read_types},
        "resources": resources,
        "workers": used,
        "load_before": load_before,
        # every run's figures, for the spread behind the medians
        "runs": {
            "batch_s": [round(x, 2) for x in runs],
            "batch_cpu_s": [round(x, 2) for x in cpu],
            "batch_cpu_all_s": [round(x, 2) for x in cpu_all],
            "batch_one_process_s": [round(x, 2) for x in single],
            "batch_one_process_cpu_s": [round(x, 2) for x in single_cpu],
            "baseline_read_decode_s": [round(x, 2) for x in base],
            "baseline_read_decode_cpu_s": [round(x, 2) for x in base_cpu],
        },
    }


def _cpu_with_children() -> float:
    """CPU seconds of this process and of its ended child processes (user and system)."""
    own = getrusage(RUSAGE_SELF)
    children = getrusage(RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def hospital_year_estimate(checked: dict[str, int], counts: dict[str, int], seconds: float) -> tuple[int, float]:
    """Resources a hospital-year holds of the checked types, and the batch time at the measured rate."""
    total = 0.0
    for rtype, n in checked.items():
        drivers = DRIVERS.get(rtype, LAB_DRIVERS)
        here = sum(counts.get(d, 0) for d in drivers)
        there = sum(HOSPITAL_YEAR[d] for d in drivers)
        total += n * (there / here) if here else n
    resources = sum(checked.values())
    return int(total), (seconds * total / resources if resources else 0.0)


def timing_summary(measured: dict[str, Any], manifest: dict[str, Any], replicas: int) -> dict[str, Any]:
    """The benchmark's batch figures from :func:`batch`'s measurements: times, rates, the same-run baseline and
    ``ratio``, and the projections to a hospital-year (labelled as such), with the goal of ≤ 60 s."""
    counts, checked = manifest["counts"], measured["checked"]
    full_year = manifest["scale"]["name"] == "hospital-year" and replicas == 1
    resources, workers = measured["resources"], max(measured["workers"], 1)
    year_resources, year_seconds = hospital_year_estimate(checked, counts, measured["batch_s"] / replicas)
    # every process with a core to itself: the CPU time of all processes shared by the workers
    _, year_idle_seconds = hospital_year_estimate(checked, counts, measured["batch_cpu_s"] / workers / replicas)
    _, year_one_cpu = hospital_year_estimate(checked, counts, measured["batch_one_process_cpu_s"] / replicas)
    batch_s, base_s = measured["batch_s"], measured["baseline_decode_s"]
    one_cpu = measured["batch_one_process_cpu_s"]
    return {
        "measured_scale": "hospital-year" if full_year else f"{manifest['scale']['name']} x{replicas}",
        "resources": resources,
        "workers": measured["workers"],
        "batch_s": round(batch_s, 3),
        "resources_per_s": round(resources / batch_s) if batch_s else None,
        "batch_cpu_s": round(measured["batch_cpu_s"], 3),
        # CPU of the parent and the workers over the whole run (worker start-up included) per second of wall time
        "batch_cpu_all_s": round(measured["batch_cpu_all_s"], 3),
        "batch_cores_used": round(measured["batch_cores_used"], 2),
        "resources_per_cpu_s": round(resources / measured["batch_cpu_s"]) if measured["batch_cpu_s"] else None,
        "batch_one_process_s": round(measured["batch_one_process_s"], 3),
        "batch_one_process_cpu_s": round(one_cpu, 3),
        "one_process_resources_per_cpu_s": round(resources / one_cpu) if one_cpu else None,
        "speedup": round(measured["batch_one_process_s"] / batch_s, 2) if batch_s else None,
        "same_findings_as_one_process": measured["same_as_one_process"],
        "findings_all_copies": measured["findings_all"],
        "baseline_read_decode_s": round(base_s, 3),
        "baseline_read_decode_cpu_s": round(measured["baseline_decode_cpu_s"], 3),
        "ratio": round(batch_s / base_s, 2) if base_s else None,
        "runs": measured["runs"],
        "hospital_year_resources_est": year_resources,
        "hospital_year_batch_s_at_measured_rate": round(year_seconds, 1),
        "hospital_year_batch_s_idle_cores_projected": round(year_idle_seconds, 1),
        "hospital_year_cpu_s_one_process_projected": round(year_one_cpu, 1),
        "load_average_before": measured["load_before"],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "goals": {
            "batch_time_met_measured": (batch_s <= 60) if full_year else None,
            "batch_time_met_at_measured_rate": year_seconds <= 60,
            "batch_time_met_idle_cores_projected": year_idle_seconds <= 60,
        },
    }
