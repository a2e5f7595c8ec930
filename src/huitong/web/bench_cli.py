"""The ``huitong bench web`` command (the benchmark itself is in :mod:`huitong.web.bench`)."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer


def web_bench(
    scale: str = typer.Option("tiny", help="Synthetic hospital fed in before measuring: none, tiny or small."),
    data: Path | None = typer.Option(
        None, help="A generated synthetic hospital folder to feed instead (e.g. a hospital-year from huitong synth)."
    ),
    database: str | None = typer.Option(
        None,
        help="Measure against this existing store (a database URL; it is upgraded and written to: use a copy).",
    ),
    feed_patients: int = typer.Option(
        20, min=0, help="With --database and --data: feed the EMR bundles of this many patients (most visits) first."
    ),
    duckdb: Path | None = typer.Option(None, help="With --database: the indicators' DuckDB file (for drill-downs)."),
    lab_results: int = typer.Option(
        3000,
        min=0,
        help=(
            "Give the first patient the doctor's page lists a year of this many LIS results (ORU^R01 over MLLP, "
            "filed under the LIS's own Patient, which the EMPI links) and measure its one-patient view as "
            "/doctor/patient/{lab-heavy}; 0: off."
        ),
    ),
    requests: int = typer.Option(50, min=5, help="Timed requests per page (after the warm-up)."),
    warmup: int = typer.Option(3, min=0, help="Untimed requests per page first."),
    json: bool = typer.Option(False, "--json", help="Print only the JSON figures."),
) -> None:
    """Page response times (p50/p95) of each role's main pages on a served demo or an existing store (--database);
    baseline: a static file."""
    from huitong.web.bench import bench_web

    log = (lambda m: None) if json else (lambda m: typer.echo(m, err=True))
    if database is not None:
        from huitong.web.bench_store import bench_store

        figures = bench_store(database, data, feed_patients, requests, warmup, duckdb, log)
        typer.echo(orjson.dumps(figures).decode())
        return
    if scale not in ("none", "tiny", "small"):
        raise typer.BadParameter("--scale is none, tiny or small (use --data for a larger generated hospital)")
    from huitong.web.bench_labs import LabFeedError

    try:
        figures = bench_web(scale, requests, warmup, data, log, lab_results=lab_results)
    except LabFeedError as exc:
        typer.echo(f"bench web: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(orjson.dumps(figures).decode())
