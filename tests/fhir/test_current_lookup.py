"""The look-up of the current rows a write replaces (``Transaction._current_rows``): the right rows on both backends,
and on PostgreSQL a plan through the unique (type, id) index after an import into a new database — where, without
statistics, the planner filtered every row of the type instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from huitong.fhir.bulk.importer import Importer
from huitong.fhir.store import ResourceStore
from huitong.fhir.transaction import _CURRENT_PG, _CURRENT_PG_LOCKED
from huitong.security.actor import Actor
from huitong.services import Services

IMPORTED = 20_000


def observation(n: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"obs-{n:05d}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
        "valueQuantity": {"value": n % 200, "unit": "g/L"},
    }


def test_current_rows_found_and_missing(store: ResourceStore, actor: Actor) -> None:
    store.transaction(actor, lambda tx: tx.put_many([observation(n) for n in range(50)]))
    store.transaction(actor, lambda tx: tx.put_many([observation(n) | {"status": "amended"} for n in range(10)]))
    keys = [("Observation", f"obs-{n:05d}") for n in range(0, 70, 3)] + [("Patient", "obs-00003")]

    def look(lock: bool) -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}

        def job(tx: Any) -> None:
            found.update({k: row.version for k, row in tx._current_rows(keys, lock=lock).items()})

        store.transaction(actor, job)
        return found

    expected = {("Observation", f"obs-{n:05d}"): 2 if n < 10 else 1 for n in range(0, 50, 3)}
    assert look(lock=False) == expected
    assert look(lock=True) == expected


@pytest.mark.slow
def test_postgres_lookup_uses_the_unique_index_after_an_import_into_a_new_database(
    db_url: str, services: Services, store: ResourceStore, tmp_path: Path
) -> None:
    """A new database filled by an import in chunks of 5,000 (autovacuum off, as in the minute before it would run):
    the importer keeps the statistics up, so the look-up of current rows goes through the unique (type, id) index —
    without them, the planner took the (type, pk) index and filtered every row of the type."""
    if not db_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL planner question")
    with store.db.write_engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE resource SET (autovacuum_enabled = false)")
    source = tmp_path / "obs.ndjson"
    source.write_bytes(b"".join(orjson.dumps(observation(n)) + b"\n" for n in range(IMPORTED)))
    importer = Importer(services, Actor.system("tests"), chunk=5000)
    importer.import_path(source)
    assert importer.report.resources == IMPORTED
    ids = [f"obs-{n:05d}" for n in range(5, IMPORTED, 67)] + [f"new-{n}" for n in range(100)]
    with store.db.write_engine.begin() as conn:
        analysed = conn.exec_driver_sql(
            "SELECT analyze_count, autoanalyze_count FROM pg_stat_user_tables WHERE relname = 'resource'"
        ).one()
        assert analysed[0] >= 2 and analysed[1] == 0  # by the importer, not autovacuum
        keys = sorted([("Observation", i) for i in ids] + [("Patient", "obs-00005")])  # a second type, not there
        params = {"b_types": [k[0] for k in keys], "b_ids": [k[1] for k in keys]}
        for statement in (_CURRENT_PG, _CURRENT_PG_LOCKED):
            plan = "\n".join(
                row[0]
                for row in conn.execute(
                    sa.text(f"EXPLAIN (ANALYZE, COSTS OFF) {statement.text}"),
                    params,
                )
            )
            assert "uq_resource_res_type_res_id" in plan, plan
            assert "Rows Removed by Filter" not in plan, plan
            found = conn.execute(statement, params).all()
            assert sorted(r.res_id for r in found) == sorted(i for i in ids if i.startswith("obs-"))
