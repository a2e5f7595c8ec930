"""Batch re-linking of a whole record set with Splink: standardise, train, predict, cluster.

``huitong empi batch --input records.csv --output links.csv`` runs :func:`run_batch`:

1. read the CSV (``record_id, source_system, name, gender, birth_date, id_number, phone, address``);
2. standardise every record (the same :func:`~huitong.empi.normalise.normalise_record` as real time);
3. train the model with Splink (:mod:`~huitong.empi.train`) unless a trained model is given;
4. predict: score every pair that shares a blocking key (Splink ``predict``) with the model's weights;
5. drop household conflicts (:mod:`~huitong.empi.score`), cluster the pairs at or above the auto-link
   threshold into persons (connected components), and count the pairs in the review band that remain
   between two persons (what the review queue would hold);
6. write ``record_id, person_id, match_probability``.

Steps 3–4 run on DuckDB by default, or on Apache Spark (``engine="spark"``, PySpark local mode here).
"""

from __future__ import annotations

import atexit
import csv
import dataclasses
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from huitong.empi.compare import DIFFERENT_VALID_IDS, GIVEN_NAME_DIFFERS, ID_NUMBER, NAME, level_is_sql
from huitong.empi.errors import EngineUnavailableError, InputError
from huitong.empi.model import Model
from huitong.empi.normalise import NormalisedRecord, SourceRecord, normalise_record
from huitong.settings import EmpiSettings

Engine = Literal["duckdb", "spark"]
Progress = Callable[[str], None]
INPUT_COLUMNS = ("record_id", "source_system", "name", "gender", "birth_date", "id_number", "phone", "address")
_PERSON_NAMESPACE = uuid.UUID("5b0f6f1e-6c41-4f3e-9d0e-6a1e6d3e0e01")
log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    """Persons found by a batch run, with what it cost."""

    person_of: dict[str, str]
    probability_of: dict[str, float]
    model: Model
    pairs_scored: int
    review_pairs: int
    seconds: dict[str, float] = field(default_factory=dict)


def read_records_csv(path: Path) -> list[SourceRecord]:
    """The records of a batch input CSV; refuses missing columns and repeated record ids."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in INPUT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path} lacks the column(s) {', '.join(missing)}")
        records = [SourceRecord.from_mapping(row) for row in reader]
    seen: set[str] = set()
    for record in records:
        if record.record_id in seen:
            raise InputError(f"record_id {record.record_id!r} appears more than once in {path}")
        seen.add(record.record_id)
    return records


def write_links_csv(path: Path, records: Sequence[SourceRecord], result: BatchResult) -> None:
    """``record_id, person_id, match_probability`` (the probability of the record's best link; empty if alone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("record_id", "person_id", "match_probability"))
        for record in records:
            probability = result.probability_of.get(record.key)
            writer.writerow(
                (record.record_id, result.person_of[record.key], "" if probability is None else f"{probability:.6f}")
            )


def standardise(records: Sequence[SourceRecord]) -> list[NormalisedRecord]:
    """Standardise every record (serially: a process pool was slower here than the caches it loses)."""
    return [normalise_record(r) for r in records]


def to_arrow(fields: Sequence[NormalisedRecord]) -> Any:
    """The standardised records as an Arrow table (the Splink input), built column by column."""
    import pyarrow as pa

    names = [f.name for f in dataclasses.fields(NormalisedRecord)]
    return pa.table({name: [getattr(r, name) for r in fields] for name in names})


def _duckdb_api() -> Any:
    from splink import DuckDBAPI

    api = DuckDBAPI()
    api.duckdb_con.execute("SET enable_progress_bar = false")  # our own progress bar reports the steps
    return api


def _spark_api() -> Any:
    try:
        from pyspark.sql import SparkSession
        from splink import SparkAPI
    except ImportError as exc:
        raise EngineUnavailableError("the Spark engine needs pyspark: uv sync --extra spark") from exc
    # Python workers run this interpreter (the one with Huitong installed), not whatever `python3` is first on the
    # PATH: PySpark reads PYSPARK_PYTHON when the context starts, and a session reused later (views on Spark) keeps it.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        spark = (
            SparkSession.builder.master("local[2]")
            .appName("huitong-empi")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
    except Exception as exc:  # Java missing or failing to start
        raise EngineUnavailableError(f"Spark did not start: {exc}") from exc
    spark.sparkContext.setLogLevel("ERROR")
    checkpoints = tempfile.mkdtemp(prefix="huitong-spark-")
    atexit.register(shutil.rmtree, checkpoints, ignore_errors=True)  # Spark leaves its checkpoints behind
    spark.sparkContext.setCheckpointDir(checkpoints)
    return SparkAPI(spark_session=spark)  # type: ignore[no-untyped-call]


def database_api(engine: Engine) -> Any:
    """Splink's database API for ``engine``."""
    if engine == "duckdb":
        return _duckdb_api()
    if engine == "spark":
        return _spark_api()
    raise InputError(f"unknown engine {engine!r}: duckdb or spark")


def household_sql() -> str:
    """SQL over Splink predictions, true exactly when :func:`~huitong.empi.score.is_household_conflict` is."""
    given_differs = level_is_sql(NAME, GIVEN_NAME_DIFFERS)
    same_id = level_is_sql(ID_NUMBER, {"exact"})
    different_ids = level_is_sql(ID_NUMBER, {DIFFERENT_VALID_IDS})
    return (
        f"({different_ids} OR ({given_differs} AND given_py_l IS NOT NULL AND given_py_r IS NOT NULL "
        f"AND NOT {same_id}))"
    )


def _predict_settings(model: Model) -> dict[str, Any]:
    settings = dict(model.splink_settings)
    settings["retain_matching_columns"] = True
    return settings


def predict_edges(
    db_api: Any, frame: Any, model: Model, threshold: float
) -> tuple[list[tuple[str, str, float, bool]], int]:
    """(edges ``(left, right, probability, household)`` at or above ``threshold``, pairs scored)."""
    from splink import Linker

    linker = Linker(frame, _predict_settings(model), log_level=logging.ERROR)
    predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    sql = f"SELECT unique_id_l, unique_id_r, match_probability, {household_sql()} AS household FROM {{table}}"  # noqa: S608 - our own SQL
    edges = predictions.query_sql(sql.format(table=predictions.physical_name)).as_record_list()
    return (
        [
            (str(e["unique_id_l"]), str(e["unique_id_r"]), float(e["match_probability"]), bool(e["household"]))
            for e in edges
        ],
        len(edges),
    )


def _same_holder(a: str, b: str) -> bool:
    """Two valid IDs that may belong to one person: equal, or the same division and sequence (another birth date)."""
    return a == b or (a[:6] == b[:6] and a[14:17] == b[14:17])


def cluster(
    keys: Sequence[str],
    edges: Sequence[tuple[str, str, float, bool]],
    settings: EmpiSettings,
    valid_ids: dict[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, float], int]:
    """Persons from the auto-link edges; (person of key, best probability of key, review pairs).

    Edges are taken strongest first and joined like connected components, except that two groups are never
    joined when that would give one person two people's valid ID numbers (``valid_ids``: key → valid ID), so
    a record without an ID cannot chain twins together.
    """
    parent = {k: k for k in keys}
    ids: dict[str, set[str]] = {k: {v} for k, v in (valid_ids or {}).items()}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    best: dict[str, float] = {}
    strong = sorted((e for e in edges if not e[3] and e[2] >= settings.auto_link_threshold), key=lambda e: -e[2])
    for left, right, probability, _household in strong:
        a, b = find(left), find(right)
        if a != b:
            ids_a, ids_b = ids.get(a, set()), ids.get(b, set())
            if any(not _same_holder(x, y) for x in ids_a for y in ids_b):
                continue
            parent[a] = b
            if ids_a:
                ids[b] = ids_a | ids_b
        best[left] = max(best.get(left, 0.0), probability)
        best[right] = max(best.get(right, 0.0), probability)
    review_pairs = {
        tuple(sorted((find(left), find(right))))
        for left, right, probability, household in edges
        if not household and settings.review_threshold <= probability and find(left) != find(right)
    }  # fmt: skip
    members: dict[str, list[str]] = {}
    for k in keys:
        members.setdefault(find(k), []).append(k)
    person_of = {}
    for group in members.values():
        person = str(uuid.uuid5(_PERSON_NAMESPACE, min(group)))
        for k in group:
            person_of[k] = person
    return person_of, best, len(review_pairs)


def run_batch(
    records: Sequence[SourceRecord],
    settings: EmpiSettings,
    *,
    engine: Engine = "duckdb",
    model: Model | None = None,
    progress: Progress | None = None,
) -> BatchResult:
    """Link ``records`` into persons (see the module docstring)."""
    from huitong.empi.train import train_on_table

    def step(name: str) -> None:
        if progress is not None:
            progress(name)

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    step("standardise")
    fields = standardise(records)
    table = to_arrow(fields)
    seconds["standardise"] = time.perf_counter() - started
    db_api = database_api(engine)
    mark = time.perf_counter()
    if model is None:
        step("train")
        model, frame = train_on_table(db_api, table, records=len(fields), engine=engine)
    else:
        frame = db_api.register(table)
    seconds["train"] = time.perf_counter() - mark
    step("predict")
    mark = time.perf_counter()
    edges, scored = predict_edges(db_api, frame, model, min(settings.review_threshold, settings.auto_link_threshold))
    seconds["predict"] = time.perf_counter() - mark
    step("cluster")
    mark = time.perf_counter()
    valid_ids = {f.unique_id: f.id_number for f in fields if f.id_valid and f.id_number}
    person_of, best, review_pairs = cluster([f.unique_id for f in fields], edges, settings, valid_ids)
    seconds["cluster"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - started
    return BatchResult(person_of, best, model, scored, review_pairs, seconds)
