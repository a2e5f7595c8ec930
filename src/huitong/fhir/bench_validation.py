"""``huitong bench validation``: what each validation level costs, to justify where each is used."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import typer

from huitong.demo.seed import demo_resources
from huitong.fhir.validate import check_full, check_structure


def _rate(resources: list[dict[str, Any]], check: Callable[[dict[str, Any]], object], rounds: int) -> float:
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for body in resources:
            check(body)
        rates.append(len(resources) / (time.perf_counter() - start))
    return statistics.median(rates)


def run(*, copies: int = 200, rounds: int = 5) -> dict[str, Any]:
    """Median resources/s of the full model check and of the structural check on the demo resources."""
    resources = demo_resources() * copies
    check_full(resources[0])  # load the model classes before timing
    full = _rate(resources, check_full, rounds)
    structural = _rate(resources, check_structure, rounds)
    return {
        "benchmark": "validation",
        "resources": len(resources),
        "rounds": rounds,
        "full_per_s": round(full),
        "structural_per_s": round(structural),
        "ratio": round(structural / full, 1),
    }


def validation(
    copies: int = typer.Option(200, help="Copies of the 24 demo resources validated per round."),
    rounds: int = typer.Option(5, help="Rounds; the median is reported."),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON result."),
) -> None:
    """Full R4 model validation (fhir.resources) vs the structural check, resources/s (median)."""
    result = run(copies=copies, rounds=rounds)
    if not as_json:
        typer.echo(
            f"full: {result['full_per_s']}/s  structural: {result['structural_per_s']}/s  "
            f"(structural is {result['ratio']}x faster)"
        )
    typer.echo(json.dumps(result))
