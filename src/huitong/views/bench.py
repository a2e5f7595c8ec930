"""``huitong bench views``: rows/s materialising an Observation view into DuckDB.

Our path reads NDJSON lines, parses them (decimals exact), runs the compiled ViewDefinition and inserts
the rows into a DuckDB table. The baseline, measured in the same run over the same file, is DuckDB
flattening the same columns itself with ``read_ndjson_objects`` and ``json_extract_string`` — the
fastest a hand-written SQL extraction can be, but without FHIRPath semantics (no choice types, no
``where``, no ``forEach``).
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer

from huitong.views.duckdb_sink import materialise_rows
from huitong.views.store_source import parse_content
from huitong.views.viewdef import parse_view

VIEW: dict[str, Any] = {
    "name": "observation_flat",
    "resource": "Observation",
    "select": [
        {
            "column": [
                {"name": "id", "path": "getResourceKey()", "type": "id"},
                {"name": "patient_id", "path": "subject.getReferenceKey(Patient)", "type": "id"},
                {"name": "status", "path": "status", "type": "code"},
                {"name": "code", "path": "code.coding.first().code", "type": "code"},
                {"name": "effective", "path": "effective.ofType(dateTime)", "type": "dateTime"},
                {"name": "value", "path": "value.ofType(Quantity).value", "type": "decimal"},
                {"name": "unit", "path": "value.ofType(Quantity).unit", "type": "string"},
            ]
        }
    ],
}
BASELINE_SQL = """
CREATE OR REPLACE TABLE baseline AS
SELECT json_extract_string(json, '$.id') AS id,
       split_part(json_extract_string(json, '$.subject.reference'), '/', 2) AS patient_id,
       json_extract_string(json, '$.status') AS status,
       json_extract_string(json, '$.code.coding[0].code') AS code,
       json_extract_string(json, '$.effectiveDateTime') AS effective,
       CAST(json_extract_string(json, '$.valueQuantity.value') AS DOUBLE) AS value,
       json_extract_string(json, '$.valueQuantity.unit') AS unit
FROM read_ndjson_objects(?)
"""
_CODES = [("8867-4", "/min"), ("8310-5", "Cel"), ("29463-7", "kg"), ("8480-6", "mm[Hg]"), ("2339-0", "mg/dL")]


def synthetic_observations(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` vital-sign style Observations over ``count // 10`` patients."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    out = []
    for i in range(count):
        code, unit = _CODES[i % len(_CODES)]
        out.append(
            {
                "resourceType": "Observation",
                "id": f"obs-{i}",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "subject": {"reference": f"Patient/pat-{rng.randrange(max(count // 10, 1))}"},
                "effectiveDateTime": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T08:{i % 60:02d}:00+08:00",
                "valueQuantity": {
                    "value": round(rng.uniform(30, 200), 1),
                    "unit": unit,
                    "system": "http://unitsofmeasure.org",
                    "code": unit,
                },
            }
        )
    return out


def run(resources: int = 20_000, rounds: int = 3) -> dict[str, Any]:
    """Both measurements, median of ``rounds``; returns the result object."""
    view = parse_view(VIEW)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "observations.ndjson"
        source.write_text("\n".join(json.dumps(r) for r in synthetic_observations(resources)) + "\n")
        ours, baseline = [], []
        rows = 0
        for _ in range(rounds):
            with duckdb.connect() as con:
                start = time.perf_counter()
                with source.open(encoding="utf-8") as handle:
                    rows = materialise_rows(con, view, (parse_content(line) for line in handle if line.strip()))
                ours.append(rows / (time.perf_counter() - start))
            with duckdb.connect() as con:
                start = time.perf_counter()
                con.execute(BASELINE_SQL, [str(source)])
                count = con.execute("SELECT count(*) FROM baseline").fetchone()
                baseline.append((count[0] if count else 0) / (time.perf_counter() - start))
    rows_per_s = statistics.median(ours)
    baseline_per_s = statistics.median(baseline)
    return {
        "benchmark": "views",
        "resources": resources,
        "rows": rows,
        "rounds": rounds,
        "rows_per_s": round(rows_per_s),
        "baseline_rows_per_s": round(baseline_per_s),
        "ratio": round(rows_per_s / baseline_per_s, 4),
    }


def views(
    resources: Annotated[int, typer.Option(help="Synthetic Observations to flatten.")] = 20_000,
    rounds: Annotated[int, typer.Option(help="Rounds; the median is reported.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """Materialising a SQL-on-FHIR view into DuckDB vs DuckDB's own JSON flattening, rows/s (median)."""
    result = run(resources=resources, rounds=rounds)
    if not as_json:
        typer.echo(
            f"view runner: {result['rows_per_s']} rows/s  DuckDB json_extract: {result['baseline_rows_per_s']} rows/s "
            f"(ratio {result['ratio']})"
        )
    typer.echo(json.dumps(result))
