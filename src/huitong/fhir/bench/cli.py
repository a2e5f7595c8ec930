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
    json: bool = typer.Option(False, "--json", help="Print only the JSON figures."),
) -> None:
    """FHIR API: read by id (1 and 16 clients), token/date/chained search and $everything, vs a bare ASGI app."""
    from huitong.fhir.bench.fhir import bench_fhir

    def log(done: int) -> None:
        if not json:
            typer.echo(f"loaded {done} resources", err=True)

    figures = bench_fhir(resources, seconds=seconds, cache=cache, log=log, audit_reads=audit_reads)
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
