"""The data-quality scorecard page in-process on both backends: scores per source and dimension, the trend over
runs, drill-down to failing records, CSV and Excel exports, both languages, and who may open it."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.demo.seed import load_demo
from huitong.quality.run import run_batch
from huitong.security.actor import Actor
from huitong.services import open_services
from huitong.web.access import AREAS
from huitong.web.render import NAV
from tests.conftest import make_settings

BAD_ROW = {"ZYH": "ZY-BAD-1", "XB": "", "JBDM": "J18.9", "RYSJ": "2024-01-05 08:00:00", "CYSJ": "2024-01-02 08:00:00"}


@pytest.fixture
def quality_client(db_url: str) -> Iterator[TestClient]:
    """Demo data with one defective patient, checked twice (a trend of two runs)."""
    settings = make_settings(db_url, env="development", security={"allow_anonymous": True})
    services = open_services(settings)
    try:
        load_demo(services.store)
        services.store.transaction(
            Actor.system("tests"),
            lambda tx: tx.update(
                {"resourceType": "Patient", "id": "q-bad", "meta": {"source": "his"}, "gender": "female"}, "q-bad"
            ),
        )
        run_batch(services.store, settings.quality)
        run_batch(services.store, settings.quality, frontpage=[BAD_ROW])
    finally:
        services.close()
    with TestClient(create_app(settings)) as client:
        yield client


def test_scorecard_shows_sources_dimensions_trend_and_rules(quality_client: TestClient) -> None:
    page = quality_client.get("/quality")
    assert page.status_code == 200
    assert 'id="scorecard"' in page.text and "完整性" in page.text and "一致性" in page.text
    assert ">his<" in page.text and ">frontpage<" in page.text
    assert 'data-chart="trend"' in page.text and 'id="trend-data"' in page.text
    assert 'data-rule="patient-name-required"' in page.text
    english = quality_client.get("/quality", params={"lang": "en"}).text
    assert "Scores per source system and dimension" in english and "Completeness" in english


def test_drill_down_lists_the_failing_records_of_a_rule(quality_client: TestClient) -> None:
    page = quality_client.get("/quality/findings", params={"rule": "patient-name-required", "source": "his"})
    assert page.status_code == 200
    assert "Patient/q-bad" in page.text and "no family name" in page.text
    rows = quality_client.get("/quality/findings", params={"source": "frontpage", "dimension": "consistency"}).text
    assert "frontpage/ZY-BAD-1" in rows and "before RYSJ" in rows
    assert quality_client.get("/quality/findings", params={"run": "999999"}).status_code == 404


def test_exports_of_the_scorecard_and_of_failing_records(quality_client: TestClient) -> None:
    scores = quality_client.get("/quality/export.csv")
    assert scores.status_code == 200 and scores.headers["content-type"].startswith("text/csv")
    text = scores.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "来源系统,维度,检查数,不合格数,得分" and "frontpage,完整性,1,1,0.0" in text
    book = load_workbook(io.BytesIO(quality_client.get("/quality/export.xlsx", params={"lang": "en"}).content))
    assert book.sheetnames == ["Scorecard", "Rules"]
    assert [c.value for c in book["Scorecard"][1]] == ["Source system", "Dimension", "Checked", "Failed", "Score"]
    failing = quality_client.get("/quality/findings.csv", params={"rule": "frontpage-required-fields"})
    lines = failing.content.decode("utf-8-sig").splitlines()
    assert len(lines) >= 2 and all("frontpage-required-fields" in line for line in lines[1:])
    assert 'filename="quality-run-' in failing.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(quality_client.get("/quality/findings.xlsx").content)).active
    assert sheet is not None and sheet.max_row >= 3


def test_page_without_runs_says_what_to_do(demo_client: TestClient) -> None:
    page = demo_client.get("/quality")
    assert page.status_code == 200 and "huitong quality run" in page.text
    assert demo_client.get("/quality/export.csv").status_code == 404


def test_operations_and_data_management_see_it_in_their_navigation() -> None:
    for role in ("operations", "quality_officer", "manager", "developer"):
        assert role in AREAS["quality"]
        assert ("/quality", "nav_quality") in NAV[role]
    for role in ("doctor", "nurse", "patient"):
        assert role not in AREAS["quality"]
