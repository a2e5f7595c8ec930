"""``huitong bench indicators``: views rebuilt from scratch, full recomputation, incremental refresh after one
day of new data, and the raw DuckDB query time over the same flat tables as the baseline.

The data set is a synthetic hospital (``huitong synth``). The first run imports it into ``WORK/base.db`` except
the last day of the year (discharges and visits of that day, with their charges), which takes a while through
the store; later runs copy that snapshot. Each run then:

* ``views_rebuild_s``: materialises every view from scratch into a fresh DuckDB file;
* ``full_s``: copies the reference tables, builds the shared tables, computes every indicator for the year
  (months, quarters, year; departments and hospital) and stores the values;
* ``raw_query_s`` (the baseline): the same shared-table SQL and every definition's query run as plain DuckDB
  statements, without aggregation, Python or storing;
* ``incremental_s``: after importing the held-back day, refreshes the views incrementally and recomputes and
  stores the year — end to end, the import excluded (``day_import_s`` reports it).

Each timed phase also reports its CPU seconds (``…_cpu_s``: this process and the worker processes it waited for),
and the result carries the load average at the start and at the end: on a shared machine the wall times depend on
what else runs.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer

from huitong.db import migrate
from huitong.indicators import engine, importer, reference, service, values
from huitong.indicators.definition import load_definitions
from huitong.indicators.flatten import load_views, refresh_all
from huitong.security.actor import Actor
from huitong.services import open_services
from huitong.settings import Settings

ACTOR = Actor.system("bench")
_FILES = {
    "frontpage": ("frontpage/frontpage.csv", "CYSJ"),
    "visits": ("his/outpatient_visits.csv", "consultation_at"),
    "charges": ("his/charges.csv", ""),
}


def _split(data: Path, work: Path, last_day: str) -> dict[str, int]:
    """Write base/ and day/ copies of the three files: the day's encounters (and their charges) held back."""
    held: set[str] = set()
    counts: dict[str, int] = {}
    for name, (relative, column) in _FILES.items():
        with (data / relative).open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            rows = list(reader)
        if column:
            key = "ZYH" if name == "frontpage" else "visit_no"
            day = [r for r in rows if r[column].startswith(last_day)]
            base = [r for r in rows if not r[column].startswith(last_day)]
            held |= {r[key] for r in day}
        else:
            day = [r for r in rows if r["encounter_no"] in held]
            base = [r for r in rows if r["encounter_no"] not in held]
        for folder, part in (("base", base), ("day", day)):
            path = work / folder / f"{name}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8", newline="") as out:
                writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
                writer.writeheader()
                writer.writerows(part)
        counts[f"{name}_rows"] = len(base) + len(day)
        counts[f"{name}_day_rows"] = len(day)
    return counts


def _settings(path: Path) -> Settings:
    return Settings(env="test", database={"url": f"sqlite:///{path}"}, security={"secret_key": "b" * 48})


def _import(settings: Settings, folder: Path, master: Path | None) -> float:
    services = open_services(settings)
    started = time.perf_counter()
    try:
        if master is not None:
            reference.import_directory(services.db, master)
        store = services.store
        importer.import_frontpage(store, ACTOR, folder / "frontpage.csv")
        importer.import_visits(store, ACTOR, folder / "visits.csv")
        importer.import_charges(store, ACTOR, folder / "charges.csv")
    finally:
        services.close()
    return time.perf_counter() - started


def _cpu() -> float:
    """CPU seconds used so far by this process and its waited-for children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _raw_queries(con: duckdb.DuckDBPyConnection, start: date, end: date) -> float:
    started = time.perf_counter()
    engine.build_base(con)
    for definition in load_definitions():
        if definition.growth_of:
            continue
        params = engine.bind_params(definition, start, end, {})
        con.execute(f"SELECT count(*), sum(numerator) FROM ({definition.sql})", params).fetchall()  # noqa: S608
    return time.perf_counter() - started


def run(data: Path, work: Path, year: int) -> dict[str, Any]:
    """Run the benchmark; see the module docstring."""
    work.mkdir(parents=True, exist_ok=True)
    last_day = f"{year}-12-31"
    base_db = work / "base.db"
    counts = _split(data, work, last_day)
    result: dict[str, Any] = {"data": str(data), **counts, "load_avg_start": round(os.getloadavg()[0], 2)}
    if not base_db.exists():
        partial = work / "base.db.partial"
        partial.unlink(missing_ok=True)
        migrate.upgrade(_settings(partial).database)
        result["base_import_s"] = round(_import(_settings(partial), work / "base", data / "master"), 2)
        partial.rename(base_db)
    run_db, run_duckdb = work / "run.db", work / "run.duckdb"
    for path in (run_db, run_duckdb, work / "run.db-wal", work / "run.db-shm"):
        path.unlink(missing_ok=True)
    shutil.copyfile(base_db, run_db)
    settings = _settings(run_db)
    migrate.upgrade(settings.database)
    start, end = date(year, 1, 1), date(year, 12, 31)
    workspace = service.Workspace(run_duckdb)
    services = open_services(settings)
    try:
        con = duckdb.connect(str(run_duckdb))
        try:
            began, cpu = time.perf_counter(), _cpu()
            refresh_all(con, services.db, ACTOR, full=True)
            result["views_rebuild_s"] = round(time.perf_counter() - began, 3)
            result["views_rebuild_cpu_s"] = round(_cpu() - cpu, 1)
            result["view_rows"] = {
                v.name: int(con.execute(f'SELECT count(*) FROM "{v.name}"').fetchall()[0][0])  # noqa: S608
                for v in load_views()
            }
            began, cpu = time.perf_counter(), _cpu()
            reference.copy_to_duckdb(services.db, con)
            engine.build_base(con)
            computed = engine.compute(con, start, end)
            values.save(services.db, computed)
            result["full_s"] = round(time.perf_counter() - began, 3)
            result["full_cpu_s"] = round(_cpu() - cpu, 1)
            result["values"] = len(computed)
            result["raw_query_s"] = round(_raw_queries(con, start, end), 3)
        finally:
            con.close()
    finally:
        services.close()
    result["day_import_s"] = round(_import(settings, work / "day", None), 2)
    services = open_services(settings)
    try:
        began, cpu = time.perf_counter(), _cpu()
        service.compute_and_store(services.db, workspace, ACTOR, start, end)
        result["incremental_s"] = round(time.perf_counter() - began, 3)
        result["incremental_cpu_s"] = round(_cpu() - cpu, 1)
    finally:
        services.close()
    result["load_avg_end"] = round(os.getloadavg()[0], 2)
    result["ratio_full_to_raw"] = round(result["full_s"] / result["raw_query_s"], 2) if result["raw_query_s"] else None
    return result


def indicators_bench(
    data: Annotated[Path, typer.Option(help="A synthetic hospital data set (huitong synth --no-defects).")] = Path(
        "var/synth"
    ),
    work: Annotated[Path, typer.Option(help="Work directory (keeps the imported snapshot between runs).")] = Path(
        "var/bench/indicators"
    ),
    year: Annotated[int, typer.Option(help="Year of the data set.")] = 2024,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Indicators: views rebuild, full recomputation, incremental refresh after one day, raw DuckDB baseline."""
    result = run(data, work, year)
    typer.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))
