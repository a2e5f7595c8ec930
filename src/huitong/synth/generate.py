"""Generate a synthetic hospital data set: plan the shards, assign beds hospital-wide, write the shards in
parallel worker processes, merge their part files, and write master data, ground truth and the manifest."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson

from huitong import __version__
from huitong.synth import outputs
from huitong.synth.beds import BedMap, assign_beds
from huitong.synth.clock import Clock
from huitong.synth.config import DefectRates, NoiseRates, Scale, SynthConfig, scale_named
from huitong.synth.emit import staffing_for
from huitong.synth.errors import OutputExistsError
from huitong.synth.shard import ShardJob, ShardResult, run_shard, ward_stays
from huitong.synth.truth import Cells, merge_into, staff_cells, write_indicators
from huitong.synth.writers.fhir import master_bundle
from huitong.synth.writers.frontpage import HEADER as FRONTPAGE_HEADER
from huitong.synth.writers.streams import concat, merge_hl7
from huitong.synth.writers.tables import TABLE_COLUMNS, write_master

#: ``progress(phase, done, total)`` — phases are ``plan``, ``generate`` and ``merge``.
ProgressCallback = Callable[[str, int, int], None]
T = TypeVar("T")
R = TypeVar("R")
_GENERATED = ("hl7", "fhir", "frontpage", "his", "master", "truth", ".parts", outputs.MANIFEST)


@dataclass(frozen=True, slots=True)
class SynthSummary:
    """What :func:`generate` wrote: counts of events, files and defects, and how long it took."""

    scale: str
    seed: int
    year: int
    out_dir: Path
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    defects: dict[str, int] = field(default_factory=dict)


def _prepare(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / outputs.MANIFEST).exists() and not (out_dir / ".parts").exists():
            raise OutputExistsError(f"{out_dir} is not empty and holds no generated data set; choose another directory")
        if not overwrite:
            raise OutputExistsError(f"{out_dir} already holds a generated data set; pass overwrite to replace it")
        for name in _GENERATED:
            path = out_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def _map(fn: Callable[[T], R], items: list[T], workers: int, tick: Callable[[], None]) -> Iterator[R]:
    if workers <= 1 or len(items) <= 1:
        for item in items:
            yield fn(item)
            tick()
        return
    # fork (where available) lets workers share the parent's imported modules; the parent starts no threads
    # before the pool has forked its workers (ProcessPoolExecutor launches them eagerly under fork).
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for result in pool.map(fn, items):
            yield result
            tick()


def _plan_shard(args: tuple[SynthConfig, int, Path]) -> list[tuple[int, int, str, str, int]]:
    return ward_stays(*args)


def _merge_stream(args: tuple[list[Path], Path]) -> int:
    return merge_hl7(*args)


def generate(
    scale: str | Scale,
    seed: int,
    year: int,
    out_dir: Path,
    *,
    workers: int | None = None,
    defects: DefectRates | None = None,
    noise: NoiseRates | None = None,
    progress: ProgressCallback | None = None,
    overwrite: bool = False,
) -> SynthSummary:
    """Generate a data set into ``out_dir``; the same arguments always give byte-identical files."""
    started = time.perf_counter()
    config = SynthConfig(
        scale if isinstance(scale, Scale) else scale_named(scale),
        seed,
        year,
        defects or DefectRates(),
        noise or NoiseRates(),
    )
    workers = max(1, min(workers or min(2, os.cpu_count() or 1), config.scale.shards))
    report = progress or (lambda phase, done, total: None)
    _prepare(out_dir, overwrite)
    parts = out_dir / ".parts"
    shards = list(range(config.scale.shards))

    def ticker(phase: str, total: int) -> Callable[[], None]:
        done = [0]
        report(phase, 0, total)

        def tick() -> None:
            done[0] += 1
            report(phase, done[0], total)

        return tick

    ward_list = [
        ws
        for part in _map(_plan_shard, [(config, s, parts) for s in shards], workers, ticker("plan", len(shards)))
        for ws in part
    ]
    beds = assign_beds(ward_list)
    per_shard: dict[int, BedMap] = {s: {} for s in shards}
    owner: dict[str, int] = {}
    for (stay_no, seg), bed in beds.items():
        shard = owner.setdefault(stay_no, int(stay_no[2:5]))
        per_shard[shard][(stay_no, seg)] = bed
    jobs = [ShardJob(config, s, parts, per_shard[s]) for s in shards]
    cells: Cells = {}
    results: list[ShardResult] = []
    for result in _map(run_shard, jobs, workers, ticker("generate", len(shards))):  # in shard order
        merge_into(cells, result.cells)  # keep one running total, not every shard's cells
        result.cells = {}
        results.append(result)
    files = _merge(out_dir, parts, results, workers, ticker)
    files.update(_finish(out_dir, config, cells))
    shutil.rmtree(parts, ignore_errors=True)
    counts: dict[str, int] = {}
    defect_counts: dict[str, int] = {}
    for r in results:
        for k, v in r.stats.items():
            counts[k] = counts.get(k, 0) + v
        for k, v in r.defects.items():
            defect_counts[k] = defect_counts.get(k, 0) + v
    _write_manifest(out_dir, config, counts, files, defect_counts)
    return SynthSummary(
        config.scale.name, seed, year, out_dir, time.perf_counter() - started, counts, files, defect_counts
    )


def _merge(
    out_dir: Path,
    parts: Path,
    results: list[ShardResult],
    workers: int,
    ticker: Callable[[str, int], Callable[[], None]],
) -> dict[str, int]:
    names = sorted({name for r in results for name in r.files})
    shard_dirs = [parts / f"{r.shard:03d}" for r in sorted(results, key=lambda r: r.shard)]
    hl7_names = [n for n in names if n.endswith(".hl7")]
    tick = ticker("merge", len(names))
    files: dict[str, int] = {}
    jobs = [([d / n for d in shard_dirs if (d / n).exists()], out_dir / n) for n in hl7_names]
    for name, count in zip(hl7_names, _map(_merge_stream, jobs, workers, tick), strict=True):
        files[name] = count
    for name in names:
        if name.endswith(".hl7"):
            continue
        header = FRONTPAGE_HEADER if name == outputs.FRONTPAGE else TABLE_COLUMNS.get(name)
        concat([d / name for d in shard_dirs if (d / name).exists()], out_dir / name, header)
        files[name] = sum(r.files.get(name, 0) for r in results)
        tick()
    return files


def _finish(out_dir: Path, config: SynthConfig, cells: Cells) -> dict[str, int]:
    staff = staffing_for(config.seed).staff
    files = write_master(out_dir, staff)
    master = out_dir / outputs.FHIR_MASTER
    master.parent.mkdir(parents=True, exist_ok=True)
    bundle = master_bundle(staff)
    master.write_bytes(orjson.dumps(bundle, option=orjson.OPT_INDENT_2) + b"\n")
    files[outputs.FHIR_MASTER] = len(bundle["entry"])
    clock = Clock(config.year)
    hospital = staff_cells(cells, staff, clock)
    files[outputs.INDICATORS] = write_indicators(out_dir / outputs.INDICATORS, cells, hospital, config.year)
    for name in (outputs.DEFECTS, outputs.RECORDS):
        path = out_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            header = TABLE_COLUMNS.get(name)
            concat([], path, header)
            files.setdefault(name, 0)
    return files


def _write_manifest(
    out_dir: Path, config: SynthConfig, counts: dict[str, int], files: dict[str, int], defects: dict[str, int]
) -> None:
    manifest: dict[str, Any] = {
        "generator": f"huitong {__version__}",
        "scale": asdict(config.scale),
        "seed": config.seed,
        "year": config.year,
        "defect_rates": {k.value: v for k, v in sorted(config.defects.rates.items())},
        "noise_rates": asdict(config.noise),
        "counts": dict(sorted(counts.items())),
        "defects": dict(sorted(defects.items())),
        "files": dict(sorted(files.items())),
    }
    (out_dir / outputs.MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
