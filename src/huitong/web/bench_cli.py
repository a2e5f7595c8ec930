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
    requests: int = typer.Option(50, min=5, help="Timed requests per page (after the warm-up)."),
    warmup: int = typer.Option(3, min=0, help="Untimed requests per page first."),
    json: bool = typer.Option(False, "--json", help="Print only the JSON figures."),
) -> None:
    """Page response times (p50/p95) of each role's main pages on a served demo; baseline: a static file."""
    from huitong.web.bench import bench_web

    if scale not in ("none", "tiny", "small"):
        raise typer.BadParameter("--scale is none, tiny or small (use --data for a larger generated hospital)")
    figures = bench_web(
        scale, requests, warmup, data, (lambda m: None) if json else (lambda m: typer.echo(m, err=True))
    )
    typer.echo(orjson.dumps(figures).decode())
