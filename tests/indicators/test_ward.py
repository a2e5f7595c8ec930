"""The hand-built ward (tests/indicators/ward.py): import, flatten, compute, store, drill down — on SQLite and
PostgreSQL — and compare with the answers worked out by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from huitong.fhir.store import ResourceStore
from huitong.indicators import engine, importer, reference, service, values
from huitong.indicators.definition import load_definitions
from huitong.indicators.engine import IndicatorValue
from huitong.security.actor import Actor
from huitong.services import Services
from tests.indicators import ward

EXPECTED_YEAR: dict[str, float] = {
    "1": 4 / 6,
    "3": 25.0,
    "4": 5 / 6 * 100,
    "5": 80.0,
    "6": 20.0,
    "8": 100 / 3,
    "9": 100 / 3,
    "10.ami.cases": 1,
    "10.ami.alos": 10,
    "10.ami.cost": 50000,
    "10.ami.mortality": 100,
    "22": 200 / 3,
    "23": 30.0,
    "25": 34 / 244,
    "26": 1.0,
    "27": 1000 / 111000 * 100,
    "28": 35.0,
    "29": 110000 / 111000 * 100,
    "30": 84400 / 110000 * 100,
    "31": 26.8,
    "33": 40.0,
    "34": 2000 * 10000 / 150000,
    "35": 30000.0,
    "36": 100 / 3,
    "37": 20.0,
    "44": 100 / 3,
    "45.anaesthesia": 25.0,
    "45.tcm": 0.0,
    "46": 1.0,
    "aux.discharges": 6,
    "aux.bed_days": 34,
    "aux.alos": 34 / 6,
    "aux.mortality": 100 / 6,
    "aux.outpatient_visits": 4,
    "aux.emergency_visits": 1,
    "aux.outpatient_cost_per_visit": 250.0,
    "aux.outpatient_drug_cost_per_visit": 120.0,
    "aux.inpatient_cost_per_stay": 110000 / 6,
    "aux.inpatient_drug_cost_per_stay": 500.0,
}
EXPECTED_OTHER: dict[tuple[str, str, str], float] = {
    ("4", "2024", "0301"): 100.0,
    ("4", "2024", "0101"): 50.0,
    ("4", "2024-03", "*"): 100.0,
    ("4", "2024-04", "*"): 200 / 3,
    ("4", "2024-Q2", "0101"): 0.0,
    ("25", "2024-03", "0301"): 11 / 62,
    ("8", "2024-03", "*"): 100 / 3,
    ("9", "2024-04", "0301"): 0.0,
    ("23", "2024-03", "0301"): 30.0,
}


def _load(store: ResourceStore, actor: Actor, tmp_path: Path) -> None:
    reference.import_directory(store.db, ward.write_master(tmp_path / "master"))
    reports = [
        importer.import_frontpage(store, actor, ward.write_frontpage(tmp_path / "frontpage.csv")),
        importer.import_visits(store, actor, ward.write_visits(tmp_path / "visits.csv")),
        importer.import_charges(store, actor, ward.write_charges(tmp_path / "charges.csv")),
    ]
    assert [r.rejected for r in reports] == [[], [], []]


@pytest.fixture
def computed(services: Services, actor: Actor, tmp_path: Path) -> dict[tuple[str, str, str], IndicatorValue]:
    _load(services.store, actor, tmp_path)
    workspace = service.Workspace(tmp_path / "ind.duckdb")
    out = service.compute_and_store(services.db, workspace, actor, date(2024, 1, 1), date(2024, 12, 31))
    return {(v.id, v.period, v.department): v for v in out}


def test_known_answers_stored_and_drilled(
    services: Services, actor: Actor, computed: dict[tuple[str, str, str], IndicatorValue], tmp_path: Path
) -> None:
    for indicator, expected in EXPECTED_YEAR.items():
        value = computed[(indicator, "2024", "*")].value
        assert value == pytest.approx(expected, rel=1e-9), indicator
    for key, expected in EXPECTED_OTHER.items():
        assert computed[key].value == pytest.approx(expected, rel=1e-9), key
    assert ("38", "2024", "*") not in computed  # no previous year, no growth
    _check_stored(services, computed)
    _check_drill_down(services, actor, tmp_path)


def _check_stored(services: Services, computed: dict[tuple[str, str, str], IndicatorValue]) -> None:
    stored = values.load(services.db, indicator_id="6", period_prefix="2024", department="*")
    assert [s.period for s in stored] == sorted(["2024", "2024-Q1", "2024-Q2", "2024-03", "2024-04"])
    year = next(s for s in stored if s.period == "2024")
    assert (year.numerator, year.denominator, year.value) == (1.0, 5.0, 20.0)
    assert year.definition_sha256 == computed[("6", "2024", "*")].sha256
    assert len(year.definition_sha256) == 64


def _check_drill_down(services: Services, actor: Actor, tmp_path: Path) -> None:
    workspace = service.Workspace(tmp_path / "ind.duckdb")
    cases = service.drill_down(services.db, workspace, actor, "6", "2024")
    assert len(cases) == 5
    assert cases[0].case_id == "fp-ZY1" and cases[0].numerator == 1
    assert cases[0].rule == "level-4 operation: 50.22"
    only = service.drill_down(services.db, workspace, actor, "8", "2024", only_numerator=True)
    assert [(c.case_id, c.rule) for c in only] == [("fp-ZY1", "complication not present on admission: T81.4")]
    ami = service.drill_down(services.db, workspace, actor, "10.ami.mortality", "2024-03", "0101")
    assert [(c.case_id, c.numerator) for c in ami] == [("fp-ZY4", 1.0)]


def test_growth_bases_shared_over_two_years_equal_their_own_query(
    services: Services, actor: Actor, computed: dict[tuple[str, str, str], IndicatorValue], tmp_path: Path
) -> None:
    """For a calendar year, a growth indicator's base takes its values from the two-year query it runs for the
    growth; computed on its own (one year), it gives the same values."""
    bases = sorted({d.growth_of for d in load_definitions() if d.growth_of})
    workspace = service.Workspace(tmp_path / "ind.duckdb")
    with service.prepared(services.db, workspace, actor, refresh=False) as con:
        alone = engine.compute(con, date(2024, 1, 1), date(2024, 12, 31), ids=bases)
    shared = {key: value for key, value in computed.items() if key[0] in bases}
    assert alone and len(alone) == len(shared)
    for value in alone:
        assert shared[(value.id, value.period, value.department)].value == pytest.approx(value.value, rel=1e-12)


def test_reimport_is_idempotent(store: ResourceStore, actor: Actor, tmp_path: Path) -> None:
    _load(store, actor, tmp_path)
    with store.db.read() as conn:
        before = conn.execute(sa.text("SELECT count(*), sum(version_id) FROM resource")).one()
    _load(store, actor, tmp_path)
    with store.db.read() as conn:
        after = conn.execute(sa.text("SELECT count(*), sum(version_id) FROM resource")).one()
    assert tuple(before) == tuple(after)
    assert before[0] == 6 + 9 + 6 + 6 + 4 + 5  # encounters, conditions, procedures, cost claims, visits, charge claims
