"""The look-up of the current rows a write replaces (``Transaction._current_rows``): the right rows on both backends,
and on PostgreSQL a plan through the unique (type, id) index even before the table has statistics — a new
database during its first import, where ``res_id = ANY(:ids)`` filtered every row of the type instead."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from huitong.fhir.store import ResourceStore
from huitong.fhir.transaction import _CURRENT_PG, _CURRENT_PG_LOCKED
from huitong.security.actor import Actor

ROWS = 3000


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


def test_postgres_lookup_uses_the_unique_index_without_statistics(
    db_url: str, store: ResourceStore, actor: Actor
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL planner question")
    with store.db.write_engine.begin() as conn:  # as in a new database: autovacuum has not analysed the table yet
        conn.exec_driver_sql("ALTER TABLE resource SET (autovacuum_enabled = false)")
    for start in range(0, ROWS, 1000):
        batch = [observation(n) for n in range(start, start + 1000)]

        def write(tx: Any, rows: list[dict[str, Any]] = batch) -> None:
            tx.put_many(rows)

        store.transaction(actor, write)
    ids = [f"obs-{n:05d}" for n in range(5, ROWS, 15)] + [f"new-{n}" for n in range(100)]
    with store.db.write_engine.begin() as conn:
        analysed = conn.exec_driver_sql(
            "SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables WHERE relname = 'resource'"
        ).one()
        assert analysed == (None, None)
        for statement in (_CURRENT_PG, _CURRENT_PG_LOCKED):
            plan = "\n".join(
                row[0]
                for row in conn.execute(
                    sa.text(f"EXPLAIN (ANALYZE, COSTS OFF) {statement.text}"),
                    {"b_type": "Observation", "b_ids": sorted(ids)},
                )
            )
            assert "uq_resource_res_type_res_id" in plan, plan
            assert "Rows Removed by Filter" not in plan, plan
            found = conn.execute(statement, {"b_type": "Observation", "b_ids": sorted(ids)}).all()
            assert sorted(r.res_id for r in found) == sorted(i for i in ids if i.startswith("obs-"))
