"""One shard of the generated year, as a unit of work for a worker process."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

from huitong.synth.beds import BedMap, WardStay
from huitong.synth.config import SynthConfig
from huitong.synth.emit import Emitter
from huitong.synth.plan import ShardPlan, plan_shard
from huitong.synth.truth import Cells
from huitong.synth.writers.streams import ShardFiles


@dataclass(frozen=True, slots=True)
class ShardJob:
    """What a worker needs to write one shard."""

    config: SynthConfig
    shard: int
    parts: Path
    beds: BedMap


@dataclass(slots=True)
class ShardResult:
    """What a shard reports back: indicator cells, event counts, file counts, defect counts."""

    shard: int
    cells: Cells
    stats: dict[str, int]
    files: dict[str, int]
    defects: dict[str, int] = field(default_factory=dict)


def _plan_file(parts: Path, shard: int) -> Path:
    return parts / f"{shard:03d}" / "plan.pickle"


def ward_stays(config: SynthConfig, shard: int, parts: Path) -> list[WardStay]:
    """Every ward stay (segment) of a shard's plan, for hospital-wide bed assignment; the plan is kept in the
    shard's part directory for :func:`run_shard`."""
    plan = plan_shard(config, shard)
    path = _plan_file(parts, shard)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL))
    return [
        (seg.start, seg.end, seg.department, stay.stay_no, i)
        for stay in plan.stays
        for i, seg in enumerate(stay.segments)
    ]


def run_shard(job: ShardJob) -> ShardResult:
    """Write one shard from the plan :func:`ward_stays` kept."""
    path = _plan_file(job.parts, job.shard)
    plan: ShardPlan = pickle.loads(path.read_bytes())  # noqa: S301  # our own file, written moments ago
    path.unlink()
    for stay in plan.stays:
        for i, seg in enumerate(stay.segments):
            seg.ward, seg.room, seg.bed, seg.extra_bed = job.beds[(stay.stay_no, i)]
    files = ShardFiles(job.parts, job.shard)
    emitter = Emitter(job.config, job.shard, files)
    emitter.run(plan)
    files.close()
    return ShardResult(job.shard, emitter.cells, emitter.stats, files.counts, emitter.defects.counts)
