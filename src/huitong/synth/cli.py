"""``huitong synth``: generate the synthetic hospital's data set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from huitong.synth.config import SCALES, DefectRates
from huitong.synth.errors import SynthError
from huitong.synth.generate import generate

app = typer.Typer(help="Synthetic tertiary hospital: demo, test and benchmark data with ground truth.")

_PHASES = {"plan": "planning shards", "generate": "writing shards", "merge": "merging files"}


def _parse_rates(values: list[str]) -> dict[str, float]:
    rates = {}
    for value in values:
        name, _, rate = value.partition("=")
        try:
            rates[name.strip()] = float(rate)
        except ValueError:
            raise typer.BadParameter(f"expected KIND=RATE, got {value!r}") from None
    return rates


@app.callback(invoke_without_command=True)
def synth(
    scale: Annotated[str, typer.Option(help=f"Size: {', '.join(SCALES)}.")] = "tiny",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical output.")] = 1,
    year: Annotated[int, typer.Option(help="Calendar year of the discharges and visits.")] = 2024,
    out: Annotated[Path, typer.Option(help="Output directory (created; must be empty or a previous data set).")] = Path(
        "var/synth"
    ),
    workers: Annotated[int, typer.Option(help="Worker processes (0: up to 2).")] = 0,
    defect: Annotated[list[str] | None, typer.Option(help="Override a defect rate, KIND=RATE (repeatable).")] = None,
    no_defects: Annotated[bool, typer.Option("--no-defects", help="Inject no defects at all.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace a data set already in OUT.")] = False,
) -> None:
    """Generate the data set: HL7 v2 streams, FHIR bundles, front-page CSV, master data and ground truth."""
    if scale not in SCALES:
        raise typer.BadParameter(f"choose one of {', '.join(SCALES)}", param_hint="--scale")
    rates = DefectRates.none() if no_defects else DefectRates()
    console = Console(stderr=True)
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        auto_refresh=False,
    ) as bar:

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done)
            bar.refresh()

        try:
            summary = generate(
                scale,
                seed,
                year,
                out,
                workers=workers or None,
                defects=rates.with_rates(_parse_rates(defect or [])),
                progress=progress,
                overwrite=overwrite,
            )
        except SynthError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    counts = summary.counts
    typer.echo(
        f"{summary.scale} (seed {seed}, {year}) written to {out} in {summary.seconds:.1f} s: "
        f"{counts.get('persons', 0)} persons, {counts.get('stays', 0)} discharges, "
        f"{counts.get('visits', 0)} visits, {counts.get('medication_orders', 0)} medication orders, "
        f"{counts.get('administrations', 0)} administrations, {counts.get('lab_results', 0)} lab results, "
        f"{sum(summary.defects.values())} defects"
    )
