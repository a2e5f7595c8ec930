"""``huitong bench …``: every benchmark of the platform, one command each.

Each domain keeps its benchmark code beside its own code (``huitong.<domain>.bench``) and registers a
command here, in :data:`BENCHMARKS` (imported only when that benchmark runs). Every benchmark measures a baseline
in the same run and prints one JSON object as its last line (medians; ``ratio`` against the baseline), so figures
in docs/benchmarks.md can be reproduced.
"""

from __future__ import annotations

import typer

from huitong.cli_lazy import Lazy, LazyGroup

BENCHMARKS: dict[str, Lazy] = {
    "validation": Lazy(
        "huitong.fhir.bench_validation:validation",
        "Full R4 model validation (fhir.resources) vs the structural check, resources/s (median).",
        "command",
    ),
    "fhir": Lazy(
        "huitong.fhir.bench.cli:fhir_bench",
        "FHIR API: read by id (1 and 16 clients), token/date/chained search and $everything, vs a bare ASGI app.",
        "command",
    ),
    "import": Lazy(
        "huitong.fhir.bench.cli:import_bench",
        "Bulk import (NDJSON and transaction bundles) on SQLite and PostgreSQL vs raw batched inserts.",
        "command",
    ),
    "fhir-paging": Lazy(
        "huitong.fhir.bench.cli:paging_bench",
        "Search paging: a deep page by keyset cursor vs page 1 and vs _offset (in-process, SQLite).",
        "command",
    ),
    "empi": Lazy(
        "huitong.empi.bench:empi",
        "EMPI: batch accuracy and speed against ground truth, real-time latency, review load, Splink baseline.",
        "command",
    ),
    "views": Lazy(
        "huitong.views.bench:views",
        "Materialising a SQL-on-FHIR view into DuckDB vs DuckDB's own JSON flattening, rows/s (median).",
        "command",
    ),
    "hl7-parse": Lazy(
        "huitong.ingest.hl7v2.bench:hl7_parse",
        "HL7 v2 parse (and parse + map) messages/s vs python-hl7 on the same messages.",
        "command",
    ),
    "ingest": Lazy(
        "huitong.ingest.bench:ingest",
        "MLLP ingest with ACK after durable commit, against a bare MLLP echo (see huitong.ingest.bench).",
        "command",
    ),
    "pipeline": Lazy(
        "huitong.ingest.bench:pipeline",
        "Messages/s processed into stored FHIR resources, against the raw insert rate of the same rows.",
        "command",
    ),
    "backlog": Lazy(
        "huitong.ingest.bench_backlog:backlog",
        "ACK latency while the pipeline processes a backlog, against the listener alone (SQLite).",
        "command",
    ),
    "message-store": Lazy(
        "huitong.ingest.bench_store:message_store_bench",
        "The message store's searches and the dashboard's totals at volume, against full scans of the same store.",
        "command",
    ),
    "backup": Lazy(
        "huitong.ops.bench:backup_bench",
        "Backup, verify and restore seconds and bytes on SQLite and PostgreSQL, against a plain copy / pg_dump.",
        "command",
    ),
    "synth": Lazy(
        "huitong.synth.bench:synth_bench",
        "Generation time and peak memory per scale, against writing as many CSV rows with the csv module.",
        "command",
    ),
    "indicators": Lazy(
        "huitong.indicators.bench:indicators_bench",
        "Indicators: views rebuild, full recomputation, incremental refresh after one day, raw DuckDB baseline.",
        "command",
    ),
    "web": Lazy(
        "huitong.web.bench_cli:web_bench",
        "Page response times (p50/p95) of each role's main pages on a served demo or an existing store (--database);"
        "\nbaseline: a static file.",
        "command",
    ),
    "quality": Lazy(
        "huitong.quality.bench:quality_bench",
        "Data quality: recall and precision per rule family against injected defects; batch time.",
        "command",
    ),
    "field-encryption": Lazy(
        "huitong.security.bench:field_encryption_bench",
        "Field-level encryption at rest: write, read and identifier search per Patient, on vs off (SQLite).",
        "command",
    ),
}


class BenchGroup(LazyGroup):
    """``huitong bench``: one benchmark module imported per benchmark run."""

    lazy = BENCHMARKS


app = typer.Typer(
    help="Benchmarks (each prints one JSON object as its last line).", no_args_is_help=True, cls=BenchGroup
)
