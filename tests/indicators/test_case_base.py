"""The drill-down's case base kept in the DuckDB file: the cases listed over it equal those of a base rebuilt for
the request (every definition, several periods and departments), it is reused while nothing changed, and new view
data or another reference import make it rebuilt — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from huitong.indicators import engine, reference, service
from huitong.indicators.definition import load_definitions
from huitong.indicators.engine import HOSPITAL, Case
from huitong.security.actor import Actor
from huitong.services import Services
from tests.indicators.test_ward import _load

PERIODS = ("2024", "2024-Q2", "2024-03")
DEPARTMENTS = (HOSPITAL, "0101", "0301")


def _rebuilt_many(
    services: Services, path: Path, keys: list[tuple[str, str, str]]
) -> dict[tuple[str, str, str], list[Case]]:
    """The cases as the drill-down found them before the base was kept: a base built for this connection."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        reference.copy_to_duckdb(services.db, con)
        engine.build_base(con)
        return {key: engine.drill_down(con, *key) for key in keys}
    finally:
        con.close()


def _rebuilt(services: Services, path: Path, indicator_id: str, period: str, department: str) -> list[Case]:
    key = (indicator_id, period, department)
    return _rebuilt_many(services, path, [key])[key]


def _built_at(path: Path) -> object:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute(f"SELECT built_at FROM {service.BASE_STATE}").fetchone()  # noqa: S608
        return None if row is None else row[0]
    finally:
        con.close()


def test_kept_case_base_lists_the_same_cases(services: Services, actor: Actor, tmp_path: Path) -> None:
    _load(services.store, actor, tmp_path)
    path = tmp_path / "ind.duckdb"
    workspace = service.Workspace(path)
    service.compute_and_store(services.db, workspace, actor, date(2024, 1, 1), date(2024, 12, 31))
    keys = [
        (d.id, period, department)
        for d in load_definitions()
        for period in PERIODS
        for department in DEPARTMENTS
        if not d.growth_of
    ]
    before = _rebuilt_many(services, path, keys)
    assert sum(len(found) for found in before.values()) > 50
    kept = {key: service.drill_down(services.db, workspace, actor, *key) for key in keys}
    assert kept == before
    built = _built_at(path)
    assert built is not None
    assert service.drill_down(services.db, workspace, actor, "6", "2024") == before[("6", "2024", HOSPITAL)]
    assert _built_at(path) == built  # reused, not rebuilt


def test_new_reference_rows_and_new_view_data_rebuild_it(services: Services, actor: Actor, tmp_path: Path) -> None:
    _load(services.store, actor, tmp_path)
    path = tmp_path / "ind.duckdb"
    workspace = service.Workspace(path)
    service.compute_and_store(services.db, workspace, actor, date(2024, 1, 1), date(2024, 12, 31))
    cases = service.drill_down(services.db, workspace, actor, "6", "2024")
    assert len(cases) == 5 and cases[0].case_id == "fp-ZY1"
    built = _built_at(path)

    # 50.22 re-imported as a diagnostic procedure: the stay with it is no longer a surgical discharge.
    rows = reference.load_table(services.db, "procedure")
    for row in rows:
        if row["code"] == "50.22":
            row["category"] = "diagnostic"
    reference.store_table(services.db, "procedure", rows)
    changed = service.drill_down(services.db, workspace, actor, "6", "2024")
    assert [c.case_id for c in changed] == [c.case_id for c in cases if c.case_id != "fp-ZY1"]
    assert changed == _rebuilt(services, path, "6", "2024", HOSPITAL)
    rebuilt = _built_at(path)
    assert rebuilt is not None and rebuilt != built

    # A refresh of the views (here: with nothing new) changes their state, so the base is built again.
    service.compute_and_store(services.db, workspace, actor, date(2024, 1, 1), date(2024, 12, 31))
    assert service.drill_down(services.db, workspace, actor, "6", "2024") == changed
    again = _built_at(path)
    assert again not in (None, rebuilt)

    # Kept right after computing (as `huitong indicators compute` does), the first drill-down reuses it.
    service.compute_and_store(services.db, workspace, actor, date(2024, 1, 1), date(2024, 12, 31))
    assert service.keep_case_base(services.db, workspace) is not None
    kept = _built_at(path)
    assert kept not in (None, again)
    assert service.drill_down(services.db, workspace, actor, "6", "2024") == changed
    assert _built_at(path) == kept


def test_a_file_that_cannot_be_written_now_still_answers(services: Services, actor: Actor, tmp_path: Path) -> None:
    """Without a current kept base and with the file not writable now (here another connection of this process
    holds it read-only), the base is built for the request only, and nothing is kept."""
    _load(services.store, actor, tmp_path)
    path = tmp_path / "ind.duckdb"
    workspace = service.Workspace(path)
    service.compute_and_store(services.db, workspace, actor, date(2024, 1, 1), date(2024, 12, 31))
    expected = _rebuilt(services, path, "4", "2024-03", "0101")
    holder = duckdb.connect(str(path), read_only=True)
    try:
        found = service.drill_down(services.db, workspace, actor, "4", "2024-03", "0101")
        assert holder.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'discharge'").fetchone() == (0,)
    finally:
        holder.close()
    assert found == expected and [c.case_id for c in found] == ["fp-ZY4"]
