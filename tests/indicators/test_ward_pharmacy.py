"""Indicators 11, 17, 18, 19 and 21 on the hand-built ward with its pharmacy and PACS messages (tests/indicators/
ward.py): the HL7 files imported as the integration engine maps them, flattened, computed and drilled down on
SQLite and PostgreSQL, and shown in the cockpit in Chinese and English."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.fhir.store import ResourceStore
from huitong.indicators import importer, reference, service
from huitong.security.actor import Actor
from huitong.services import Services, open_services
from tests.conftest import make_settings
from tests.indicators import ward
from tests.indicators.test_ward import _load

EXPECTED: dict[tuple[str, str, str], float] = {
    # 17: ZY1 2 DDDs of cefazolin + 2 of levofloxacin over the 34 bed-days of the six discharges (0301: 20)
    ("17", "2024", "*"): 4 / 34 * 100,
    ("17", "2024", "0301"): 4 / 20 * 100,
    ("17", "2024", "0101"): 0.0,
    ("aux.antimicrobial_use_rate", "2024", "*"): 100 / 6,
    # 19: ZY1 had an essential medicine; the cefazolin dose of ZY4 was not given
    ("19", "2024", "*"): 100 / 6,
    ("19", "2024", "0101"): 0.0,
    # 18: MZ1 of four visits
    ("18", "2024", "*"): 25.0,
    ("18", "2024-03", "0301"): 50.0,
    # 21: 10 VBP DDDs of levofloxacin (MZ1) against 10 + 2 (the injection given to ZY1)
    ("21", "2024", "*"): 10 / 12 * 100,
    ("21", "2024", "0301"): 10 / 12 * 100,
    # 11: the chest CT of MZ2 positive, the brain MR of ZY4 negative; the ultrasound is no large equipment
    ("11", "2024", "*"): 50.0,
    ("11", "2024-03", "0301"): 100.0,
    ("11", "2024", "0101"): 0.0,
}


def load_pharmacy(store: ResourceStore, actor: Actor, tmp_path: Path) -> None:
    reference.import_directory(store.db, ward.write_pharmacy_master(tmp_path / "master"))
    reports = [
        importer.import_hl7(store, actor, ward.write_hl7(tmp_path / "pharmacy.hl7", ward.PHARMACY)),
        importer.import_hl7(store, actor, ward.write_hl7(tmp_path / "pacs.hl7", ward.PACS)),
    ]
    assert [(r.rows, r.accepted, r.rejected) for r in reports] == [(len(ward.PHARMACY),) * 2 + ([],), (3, 3, [])]


def test_pharmacy_and_pacs_indicators(services: Services, actor: Actor, tmp_path: Path) -> None:
    _load(services.store, actor, tmp_path)
    load_pharmacy(services.store, actor, tmp_path)
    workspace = service.Workspace(tmp_path / "ind.duckdb")
    out = service.compute_and_store(services.db, workspace, actor, date(2024, 1, 1), date(2024, 12, 31))
    computed = {(v.id, v.period, v.department): v for v in out}
    for key, expected in EXPECTED.items():
        assert computed[key].value == pytest.approx(expected, rel=1e-9), key
    assert ("21", "2024", "0101") not in computed  # no product of a VBP generic used there
    assert computed[("17", "2024", "*")].numerator == pytest.approx(4.0)

    cases = service.drill_down(services.db, workspace, actor, "17", "2024", only_numerator=True)
    assert [(c.case_id, c.denominator) for c in cases] == [("fp-ZY1", 10.0)]
    assert cases[0].numerator == pytest.approx(4.0)
    assert "DDDs of A1, A3" in cases[0].rule
    positive = service.drill_down(services.db, workspace, actor, "11", "2024", only_numerator=True)
    assert [c.rule for c in positive] == ["RC02 positive: 异常 (MZ2)"]
    vbp = service.drill_down(services.db, workspace, actor, "21", "2024")
    assert sorted((c.case_id, c.numerator, round(c.denominator or 0, 9)) for c in vbp) == [
        ("fp-ZY1", 0.0, 2.0),
        ("his-MZ1", 10.0, 10.0),
    ]
    essential = service.drill_down(services.db, workspace, actor, "18", "2024", "0101")
    assert {c.rule for c in essential} == {"prescription without essential medicines", "no prescription"}

    # the configurable denominators: only visits with a prescription (MZ1, MZ3), only discharges given drugs (ZY1, ZY4)
    narrow = service.Workspace(
        tmp_path / "narrow.duckdb", {"18.denominator": "with_prescription", "19.denominator": "with_drugs"}
    )
    other = service.compute_and_store(
        services.db, narrow, actor, date(2024, 1, 1), date(2024, 12, 31), ids=["18", "19"], store=False
    )
    by_key = {(v.id, v.period, v.department): v.value for v in other}
    assert by_key[("18", "2024", "*")] == pytest.approx(50.0)
    assert by_key[("19", "2024", "*")] == pytest.approx(50.0)

    # importing the last file again writes no new versions (shared Patients, Encounters and Practitioners carry the
    # sending system in meta.source, so re-importing an earlier file of another system updates them, as a replay would)
    count = sa.text("SELECT count(*), sum(version_id) FROM resource")
    with services.db.read() as conn:
        before = tuple(conn.execute(count).one())
    again = importer.import_hl7(services.store, actor, tmp_path / "pacs.hl7")
    assert again.rejected == []
    with services.db.read() as conn:
        assert tuple(conn.execute(count).one()) == before


def test_unusable_message_is_reported(store: ResourceStore, actor: Actor, tmp_path: Path) -> None:
    good = ward.PHARMACY[0]
    bad = good.replace("RXE|", "XXX|").replace("RDE^O11^RDE_O11", "RDE^O11^RDE_O11")
    report = importer.import_hl7(store, actor, ward.write_hl7(tmp_path / "mixed.hl7", [good, bad]))
    assert (report.rows, report.accepted) == (2, 1)
    assert report.rejected[0].line == 2 and report.rejected[0].key == "P1"
    assert report.rejected[0].reasons


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "cockpit.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def test_cockpit_shows_them(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        sqlite_url,
        env="development",
        security={"allow_anonymous": True},
        indicators={"duckdb_path": str(tmp_path / "ind.duckdb")},
    )
    services = open_services(settings)
    actor = Actor.system("tests")
    try:
        _load(services.store, actor, tmp_path)
        load_pharmacy(services.store, actor, tmp_path)
        workspace = service.Workspace(Path(settings.indicators.duckdb_path))
        service.compute_and_store(services.db, workspace, actor, date(2024, 1, 1), date(2024, 12, 31))
    finally:
        services.close()
    with TestClient(create_app(settings)) as client:
        zh = client.get("/cockpit?year=2024").text
        for name in (
            "抗菌药物使用强度（DDDs）",
            "大型医用设备检查阳性率",
            "门诊患者基本药物处方占比",
            "住院患者基本药物使用率",
        ):
            assert name in zh
        assert zh.index("抗菌药物使用强度（DDDs）") < zh.index("大型医用设备检查阳性率")  # ▲ first
        en = client.get("/cockpit?year=2024&lang=en").text
        for name in (
            "Antimicrobial use density (DDDs per 100 patient-days)",
            "Positive rate of large medical equipment examinations",
            "Use share of nationally procured (volume-based procurement) drugs",
        ):
            assert name in en
        detail = client.get("/cockpit/indicator/17?year=2024").text
        assert "0301" in detail and 'data-chart="bar"' in detail
        cases = client.get("/cockpit/indicator/17/cases?period=2024&numerator=1").text
        assert "fp-ZY1" in cases and "DDDs of A1, A3" in cases
