"""``huitong bench empi --records N --json``: accuracy, batch speed, real-time latency, review load.

One run:

1. takes records with ground truth from the synthetic hospital (``--scale small|hospital-year`` generates one,
   ``--synth DIR`` reads one), from ``--input``/``--truth`` CSVs, or makes N with :mod:`~huitong.empi.sample`;
2. runs our batch (standardise, train with Splink, predict, household rule, cluster) and scores it against
   the truth: pairwise precision/recall/F1 and cluster F1 (a cluster counts when it is exactly a true
   person); review items per 1,000 records;
3. runs the baseline: Splink with a documented default configuration on the raw fields (below);
4. loads the persons into a fresh SQLite index and times real-time ``match`` for 1,000 new registrations
   of existing persons (p50/p99), and ``link`` (the write path with golden records) for 200.

Baseline configuration (what a Splink user writes from the tutorials, no Chinese standardisation):
``JaroWinklerAtThresholds`` on name and address, ``LevenshteinAtThresholds`` on ID number (1, 2) and birth
date (1), ``ExactMatch`` on gender and phone; blocking on ID number, phone, birth date and name; λ from
``block_on("id_number")`` at recall 0.7; u from 1e6 random pairs; EM blocked on ID number then birth date;
clusters at match probability 0.95.
"""

from __future__ import annotations

import csv
import gc
import itertools
import json
import logging
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from huitong.empi.normalise import SourceRecord
from huitong.settings import EmpiSettings

log = logging.getLogger(__name__)


def _pairs(assignment: dict[str, str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for key, person in assignment.items():
        groups[person].append(key)
    return {(a, b) if a < b else (b, a) for g in groups.values() for a, b in itertools.combinations(g, 2)}


def accuracy(truth: dict[str, str], found: dict[str, str]) -> dict[str, float]:
    """Pairwise precision, recall, F1 and cluster F1 of ``found`` against ``truth`` (record key → person)."""
    true_pairs, found_pairs = _pairs(truth), _pairs(found)
    hits = len(true_pairs & found_pairs)
    precision = hits / len(found_pairs) if found_pairs else 1.0
    recall = hits / len(true_pairs) if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    def clusters(assignment: dict[str, str]) -> set[frozenset[str]]:
        groups: dict[str, set[str]] = defaultdict(set)
        for key, person in assignment.items():
            groups[person].add(key)
        return {frozenset(g) for g in groups.values()}

    true_c, found_c = clusters(truth), clusters(found)
    exact = len(true_c & found_c)
    cp, cr = exact / len(found_c), exact / len(true_c)
    return {
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
        "cluster_f1": round(2 * cp * cr / (cp + cr) if cp + cr else 0.0, 5),
    }


def baseline(records: Sequence[SourceRecord]) -> tuple[dict[str, str], float]:
    """Splink's documented default configuration on the raw fields; (record key → cluster, seconds)."""
    import pyarrow as pa
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on

    from huitong.empi.batch import database_api

    started = time.perf_counter()
    rows = [
        {
            "unique_id": r.key,
            "name": r.name,
            "gender": r.gender,
            "birth_date": r.birth_date,
            "id_number": r.id_number,
            "phone": r.phone,
            "address": r.address,
        }
        for r in records
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("name"),
            cl.ExactMatch("gender"),
            cl.LevenshteinAtThresholds("birth_date", [1]),
            cl.LevenshteinAtThresholds("id_number", [1, 2]),
            cl.ExactMatch("phone"),
            cl.JaroWinklerAtThresholds("address"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("id_number"),
            block_on("phone"),
            block_on("birth_date"),
            block_on("name"),
        ],
    )
    db_api = database_api("duckdb")
    linker = Linker(db_api.register(pa.Table.from_pylist(rows)), settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match([block_on("id_number")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("id_number"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    predictions = linker.inference.predict(threshold_match_probability=0.5, warning_mode="never")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.95)
    found = {str(r["unique_id"]): str(r["cluster_id"]) for r in clusters.as_record_list()}
    return found, time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def realtime(
    records: Sequence[SourceRecord], person_of: dict[str, str], settings: EmpiSettings, model: Any
) -> dict[str, float]:
    """Load the persons into a fresh SQLite index; time ``match`` (1,000 probes) and ``link`` (200 probes)."""
    import sqlalchemy as sa

    from huitong.db import migrate, open_database
    from huitong.empi import index
    from huitong.empi.link import match_record
    from huitong.empi.normalise import normalise_record
    from huitong.empi.schema import empi_person, empi_record
    from huitong.empi.service import Empi
    from huitong.fhir.store import ResourceStore
    from huitong.security.actor import Actor
    from huitong.settings import Settings

    folder = Path(tempfile.mkdtemp(prefix="huitong-empi-bench-"))
    app_settings = Settings(database={"url": f"sqlite:///{folder / 'index.db'}", "sqlite_synchronous": "NORMAL"})
    migrate.upgrade(app_settings.database)
    db = open_database(app_settings.database)
    try:

        def load(conn: sa.Connection) -> None:
            now = _now()
            rows = [
                {"person_id": p, "golden_patient_id": p, "status": "active", "created_at": now, "updated_at": now}
                for p in sorted(set(person_of.values()))
            ]
            conn.execute(empi_person.insert(), rows)
            for start in range(0, len(records), 5000):
                conn.execute(empi_record.insert(), [
                    index.record_values(r, normalise_record(r), person_of[r.key], link_kind="batch",
                                        probability=None, patient_id=None)
                    for r in records[start : start + 5000]
                ])  # fmt: skip

        db.write(load)
        rng = random.Random(5)  # noqa: S311 - benchmark sampling
        probes = [
            replace(r, source_system="NEW", record_id=f"n{i}")
            for i, r in enumerate(rng.sample(list(records), min(1000, len(records))))
        ]
        gc.collect()
        gc.freeze()  # what a server does after start-up: the loaded objects are never scanned again
        timings: list[float] = []
        cpu: list[float] = []  # this thread's CPU time: the wall time less the time the shared machine took away
        with db.read() as conn:
            for probe in probes:
                started, started_cpu = time.perf_counter(), time.thread_time()
                match_record(conn, model, settings, probe)
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.thread_time() - started_cpu) * 1000)
        empi = Empi(db, ResourceStore(db, app_settings.fhir, app_settings.audit), settings, model)
        actor = Actor.system("bench")
        link_timings: list[float] = []
        for probe in probes[:200]:
            started = time.perf_counter()
            empi.link(actor, probe)
            link_timings.append((time.perf_counter() - started) * 1000)
    finally:
        gc.unfreeze()
        db.close()
    return {
        "realtime_p50_ms": round(statistics.median(timings), 3),
        "realtime_p99_ms": round(_percentile(timings, 0.99), 3),
        "realtime_cpu_p50_ms": round(statistics.median(cpu), 3),
        "realtime_cpu_p99_ms": round(_percentile(cpu, 0.99), 3),
        "link_p50_ms": round(statistics.median(link_timings), 3),
        "link_p99_ms": round(_percentile(link_timings, 0.99), 3),
        "index_records": len(records),
        "index_persons": len(set(person_of.values())),
    }


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _load_input(input_path: Path, truth_path: Path) -> tuple[list[SourceRecord], dict[str, str]]:
    from huitong.empi.batch import read_records_csv

    records = read_records_csv(input_path)
    by_id = {r.record_id: r.key for r in records}
    with truth_path.open(encoding="utf-8") as handle:
        truth = {
            by_id[row["record_id"]]: row["person_id"] for row in csv.DictReader(handle) if row["record_id"] in by_id
        }
    return records, truth


def empi(
    records: int = typer.Option(100_000, "--records", help="How many records to generate (about)."),
    input_path: Path | None = typer.Option(None, "--input", help="records.csv instead of generated records."),
    truth_path: Path | None = typer.Option(None, "--truth", help="truth.csv (record_id, person_id) for --input."),
    synth_dir: Path | None = typer.Option(None, "--synth", help="A `huitong synth` data set to link (its truth)."),
    scale: str | None = typer.Option(None, "--scale", help="Generate a `huitong synth` data set of this scale."),
    skip_baseline: bool = typer.Option(False, "--skip-baseline", help="Do not run the Splink baseline."),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON result line."),
) -> None:
    """EMPI: batch accuracy and speed against ground truth, real-time latency, review load, Splink baseline."""
    from huitong.empi.batch import run_batch
    from huitong.empi.sample import generate

    settings = EmpiSettings()
    if scale and not synth_dir:
        from huitong.synth.generate import generate as generate_hospital

        synth_dir = Path(tempfile.mkdtemp(prefix="huitong-empi-synth-"))
        generate_hospital(scale, 1, 2025, synth_dir)
    if synth_dir:
        from huitong.empi.synth_source import read_synth

        data, truth = read_synth(synth_dir)
        source = f"huitong.synth {scale or synth_dir}"
    elif input_path and truth_path:
        data, truth = _load_input(input_path, truth_path)
        source = str(input_path)
    else:
        data, truth = generate(max(1, records // 4 + 1), seed=2026)
        data = data[:records]
        truth = {r.key: truth[r.key] for r in data}
        source = "huitong.empi.sample (stand-in for huitong.synth)"
    result = run_batch(data, settings)
    figures: dict[str, Any] = {"benchmark": "empi", "records": len(data), "persons_true": len(set(truth.values()))}
    figures["data"] = source
    figures.update(accuracy(truth, result.person_of))
    figures["batch_s"] = round(result.seconds["total"], 2)
    figures["batch_steps_s"] = {k: round(v, 2) for k, v in result.seconds.items()}
    figures["records_per_s"] = round(len(data) / result.seconds["total"], 1)
    figures["review_per_1000"] = round(result.review_pairs / len(data) * 1000, 3)
    if not skip_baseline:
        found, seconds = baseline(data)
        base = accuracy(truth, found)
        figures.update({"baseline_f1": base["f1"], "baseline_precision": base["precision"],
                        "baseline_recall": base["recall"], "baseline_cluster_f1": base["cluster_f1"],
                        "baseline_batch_s": round(seconds, 2)})  # fmt: skip
    figures.update(realtime(data, result.person_of, settings, result.model))
    figures["model_version"] = result.model.model_version
    if not as_json:
        for key, value in figures.items():
            typer.echo(f"{key:>22}: {value}")
    typer.echo(json.dumps(figures, ensure_ascii=False))
