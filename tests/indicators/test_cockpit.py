"""The leadership cockpit over the hand-built ward: overview (▲ first), one indicator with ranking and trend,
the drill-down to cases, Excel and PDF exports, Chinese and English."""

from __future__ import annotations

import io
import shutil
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.indicators import service
from huitong.security.actor import Actor
from huitong.services import open_services
from tests.conftest import make_settings
from tests.indicators.test_busy import held_for_writing
from tests.indicators.test_ward import _load


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """The page logic is backend-neutral (values are read through SQLAlchemy): SQLite only, to keep it quick."""
    path = tmp_path / "cockpit.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def test_cockpit_pages_and_exports(sqlite_url: str, tmp_path: Path) -> None:
    db_url = sqlite_url
    settings = make_settings(
        db_url,
        env="development",
        security={"allow_anonymous": True},
        indicators={"duckdb_path": str(tmp_path / "ind.duckdb"), "targets": {"6": 25.0}},
    )
    services = open_services(settings)
    actor = Actor.system("tests")
    try:
        _load(services.store, actor, tmp_path)
        workspace = service.Workspace(Path(settings.indicators.duckdb_path))
        service.compute_and_store(services.db, workspace, actor, date(2024, 1, 1), date(2024, 12, 31))
    finally:
        services.close()
    with TestClient(create_app(settings)) as client:
        page = client.get("/cockpit?year=2024")
        assert page.status_code == 200
        text = page.text
        assert "院长驾驶舱" in text and "出院患者四级手术比例" in text
        assert text.index("出院患者四级手术比例") < text.index("门诊人次数与出院人次数比")  # ▲ first
        assert 'data-chart="months"' in text and '"2024-01"' in text and '"2024-12"' in text  # the whole year
        english = client.get("/cockpit?year=2024&lang=en").text
        assert "Share of level-4 (most complex) surgery among discharged surgical patients" in english

        detail = client.get("/cockpit/indicator/4?year=2024&lang=zh").text
        assert "0301" in detail and "0101" in detail and 'data-chart="bar"' in detail
        assert detail.index(">0301<") < detail.index(">0101<")  # 100 % before 50 %, higher is better
        assert ">普通外科</a>" in detail and '"普通外科"' in detail  # the name from the master data, in the chart too
        assert ">General surgery</a>" in client.get("/cockpit/indicator/4?year=2024&lang=en").text
        target = client.get("/cockpit/indicator/6?year=2024").text
        assert "✗" in target  # 20 % against a target of 25 %

        cases = client.get("/cockpit/indicator/6/cases?period=2024&numerator=1").text
        assert "fp-ZY1" in cases and "level-4 operation: 50.22" in cases and "fp-ZY2" not in cases
        by_dept = client.get("/cockpit/indicator/4/cases?period=2024-03&department=0101&lang=zh").text
        assert "fp-ZY4" in by_dept and "fp-ZY1" not in by_dept and "心血管内科" in by_dept
        assert client.get("/cockpit/indicator/4/cases?period=bad").status_code == 400
        with pytest.MonkeyPatch.context() as patch, held_for_writing(Path(settings.indicators.duckdb_path), 60):
            patch.setattr(service, "BUSY_WAIT_S", 0.3)  # computing in another process: a plain message, no PID
            busy = client.get("/cockpit/indicator/4/cases?period=2024&lang=zh")
            assert busy.status_code == 200 and "指标正在计算或刷新" in busy.text and "PID" not in busy.text

        xlsx = client.get("/cockpit/export.xlsx?year=2024&lang=zh")
        assert xlsx.status_code == 200
        book = load_workbook(io.BytesIO(xlsx.content))
        rows = {row[0]: row for row in book["2024"].iter_rows(values_only=True)}
        assert rows["6"][5] == pytest.approx(20.0)
        assert "2024-03" in next(book["月度"].iter_rows(values_only=True))
        if Path(settings.indicators.cjk_font).exists():
            pdf = client.get("/cockpit/export.pdf?year=2024")
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
