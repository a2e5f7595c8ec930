"""``huitong bench synth``: how long each scale takes to generate and how much memory it needs.

Each scale is generated in a fresh process (so peak memory is that scale's own: the largest resident set of the
generating process and of its worker processes). Baseline, measured in the same run: writing the same number of
records — every CSV row and every HL7 message or FHIR bundle the data set holds — as plain 12-field CSV rows
with the ``csv`` module, which is the least any generator writing that much text would spend.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import resource
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Annotated, Any

import typer

from huitong.synth.config import SCALES
from huitong.synth.generate import generate


def _generate_in_child(scale: str, seed: int, out: str, workers: int, conn: Connection) -> None:
    started = time.perf_counter()
    summary = generate(scale, seed, 2024, Path(out), workers=workers)
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    conn.send(
        {
            "seconds": seconds,
            "cpu_seconds": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
            "peak_rss_mb": max(own.ru_maxrss, children.ru_maxrss) / 1024,
            "records": sum(summary.files.values()),
            "counts": summary.counts,
        }
    )
    conn.close()


def _measure(scale: str, seed: int, workers: int) -> dict[str, Any]:
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context: Any = multiprocessing.get_context(method)
    with tempfile.TemporaryDirectory(prefix=f"synth-{scale}-") as tmp:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_generate_in_child, args=(scale, seed, str(Path(tmp) / "out"), workers, send))
        process.start()
        send.close()
        result: dict[str, Any] = receive.recv()
        process.join()
        return result


def csv_baseline(records: int) -> float:
    """Seconds to write ``records`` 12-field rows with the csv module."""
    row = [
        "ZY000000001",
        "P000000001",
        "H000000001",
        "0101",
        "2024-03-05 08:30:00",
        "2024-03-12 10:00:00",
        "I21.9",
        "急性心肌梗死",
        "36.07",
        "经皮冠状动脉药物洗脱支架置入术",
        "12345.67",
        "1",
    ]
    with tempfile.TemporaryDirectory(prefix="synth-baseline-") as tmp:
        started = time.perf_counter()
        with (Path(tmp) / "rows.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            for _ in range(records):
                writer.writerow(row)
        return time.perf_counter() - started


def synth_bench(
    scales: Annotated[str, typer.Option(help="Comma-separated scales: tiny, small, hospital-year.")] = "tiny,small",
    rounds: Annotated[int, typer.Option(help="Rounds per scale; medians are reported.")] = 1,
    workers: Annotated[int, typer.Option(help="Worker processes for generation.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """Generation time and peak memory per scale, against writing as many CSV rows with the csv module."""
    result: dict[str, Any] = {"benchmark": "synth", "workers": workers, "scales": {}}
    for scale in [s.strip() for s in scales.split(",") if s.strip()]:
        if scale not in SCALES:
            raise typer.BadParameter(f"unknown scale {scale!r}", param_hint="--scales")
        if not as_json:
            typer.echo(f"{scale}: generating {rounds} time(s) …")
        runs = [_measure(scale, seed, workers) for _ in range(rounds)]
        records = runs[0]["records"]
        baseline = statistics.median(csv_baseline(records) for _ in range(rounds))
        seconds = statistics.median(r["seconds"] for r in runs)
        result["scales"][scale] = {
            "seconds": round(seconds, 2),
            "cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in runs), 2),
            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1),
            "records": records,
            "baseline_csv_seconds": round(baseline, 3),
            "ratio": round(seconds / baseline, 1) if baseline else None,
            "counts": runs[0]["counts"],
        }
    typer.echo(json.dumps(result, ensure_ascii=False))
