"""The ``huitong bench fhir`` and ``huitong bench import`` commands (registered in huitong.bench.cli)."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer


def fhir_bench(
    resources: int = typer.Option(100_000, min=100, help="Size of the synthetic dataset (cached between runs)."),
    seconds: float = typer.Option(10.0, min=1, help="Seconds each read measurement runs."),
    cache: Path = typer.Option(Path("var/bench"), help="Where the benchmark databases are cached."),
    audit_reads: bool = typer.Option(True, help="Audit every read and search (as in production)."),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes (`huitong serve --workers`; bare app too)."),
    json: bool = typer.Option(False, "--json", help="Print only the JSON figures."),
) -> None:
    """FHIR API: read by id (1 and 16 clients), token/date/chained search and $everything, vs a bare ASGI app."""
    from huitong.fhir.bench.fhir import bench_fhir

    def log(done: int) -> None:
        if not json:
            typer.echo(f"loaded {done} resources", err=True)

    figures = bench_fhir(resources, seconds=seconds, cache=cache, log=log, audit_reads=audit_reads, workers=workers)
    typer.echo(orjson.dumps(figures).decode())


def import_bench(
    resources: int = typer.Option(20_000, min=20, help="Resources imported per run."),
    postgres: bool = typer.Option(True, help="Also measure on a throwaway PostgreSQL cluster."),
    json: bool = typer.Option(False, "--json", help="Print only the JSON figures."),
) -> None:
    """Bulk import (NDJSON and transaction bundles) on SQLite and PostgreSQL vs raw batched inserts."""
    from huitong.fhir.bench.importing import bench_import

    figures = bench_import(resources, postgres=postgres, log=None if json else lambda m: typer.echo(m, err=True))
    typer.echo(orjson.dumps(figures).decode())


def paging_bench(
    resources: int = typer.Option(100_000, min=100, help="Size of the synthetic dataset (shared with bench fhir)."),
    depth: int = typer.Option(10_000, min=1, help="Position of the deep page."),
    count: int = typer.Option(20, min=1, help="Page size."),
    repeat: int = typer.Option(21, min=1, help="Runs per measurement (the median is reported)."),
    cache: Path = typer.Option(Path("var/bench"), help="Where the benchmark databases are cached."),
    json: bool = typer.Option(False, "--json", help="Print only the JSON figures."),
) -> None:
    """Search paging: a deep page by keyset cursor vs page 1 and vs _offset (in-process, SQLite)."""
    from huitong.fhir.bench.paging import bench_paging

    if not json:
        typer.echo(f"preparing {resources} resources (cached under {cache}) …", err=True)
    figures = bench_paging(resources, depth=depth, count=count, repeat=repeat, cache=cache)
    typer.echo(orjson.dumps(figures).decode())
