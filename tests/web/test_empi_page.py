"""The EMPI review page through the app (development actor): both records side by side, the evidence,
accept and reject — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.empi import SourceRecord
from huitong.security.actor import Actor
from huitong.services import open_services
from huitong.settings import Settings
from huitong.web.pages import empi as empi_page
from tests.conftest import make_settings

ZHANG = SourceRecord("H1", "HIS", "张伟华", "M", "1980-01-02", None, "13800138000", "浙江省杭州市西湖区文三路90号")
LI = SourceRecord("H2", "HIS", "李娜", "F", "1975-06-07", None, "13900139000", "北京市朝阳区建国路1号")


def review_settings(url: str, folder: Path, **overrides: object) -> Settings:
    """Settings whose EMPI is unsure about a pinyin-only spelling of a known patient (so it queues a review)."""
    empi = {"model_path": str(folder / "absent-model.json"), "auto_link_threshold": 0.999999999}
    return make_settings(url, empi=empi, **overrides)


def queue_two_pairs(settings: Settings) -> list[int]:
    """Two review items: PACS registrations in pinyin of two HIS patients."""
    services = open_services(settings)
    actor = Actor.system("tests")
    try:
        ids: list[int] = []
        for his, pinyin, rid in ((ZHANG, "ZHANG WEIHUA", "X1"), (LI, "LI NA", "X2")):
            services.empi.link(actor, his)
            unsure = services.empi.link(
                actor, replace(his, source_system="PACS", record_id=rid, name=pinyin, address=None)
            )
            assert unsure.decision == "review", unsure.decision
            ids += unsure.review_ids
        return ids
    finally:
        services.close()


@pytest.fixture
def page(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, list[int]]]:
    settings = review_settings(db_url, tmp_path, env="development", security={"allow_anonymous": True})
    ids = queue_two_pairs(settings)
    with TestClient(create_app(settings)) as client:
        yield client, ids


def test_review_page_shows_both_records_and_the_evidence(page: tuple[TestClient, list[int]]) -> None:
    client, _ids = page
    html = client.get("/empi/review").text
    assert 'data-count="2"' in html and "张伟华" in html and "ZHANG WEIHUA" in html
    assert "拼音一致" in html and 'data-comparison="birth_date"' in html  # zh-CN level text, every comparison
    english = client.get("/empi/review?lang=en").text
    assert "Same person (merge)" in english and "exact pinyin" in english and "Field-by-field evidence" in english
    assert 'href="/empi/review"' in client.get("/doctor").text  # in the developer's navigation


def test_accept_and_reject_shrink_the_queue(page: tuple[TestClient, list[int]]) -> None:
    client, (first, second) = page
    answer = client.post(f"/empi/review/{first}/accept", data={"reason": "同一人：出生日期与电话一致"})
    assert answer.status_code == 200 and 'data-count="1"' in answer.text and "已处理" in answer.text
    client.post(f"/empi/review/{second}/reject", data={"reason": ""})
    assert 'data-count="0"' in client.get("/empi/review").text
    accepted = client.get("/empi/review?status=accepted&lang=en").text
    assert "同一人：出生日期与电话一致" in accepted and "dev" in accepted  # who decided, and why
    again = client.post(f"/empi/review/{first}/reject", data={})
    assert again.status_code == 200 and "already decided" in again.text  # says why nothing happened
    assert client.post("/empi/review/999999/accept", data={}).status_code == 404
    assert client.post(f"/empi/review/{first}/maybe", data={}).status_code == 404


def test_a_long_queue_is_read_a_page_at_a_time(
    page: tuple[TestClient, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, (first, second) = page
    monkeypatch.setattr(empi_page, "PAGE_SIZE", 1)
    one = client.get("/empi/review").text
    assert 'data-count="2"' in one  # the whole queue, not the page
    assert f'data-review="{first}"' in one and f'data-review="{second}"' not in one
    assert 'href="/empi/review?status=open&page=2' in one and 'rel="prev"' not in one
    two = client.get("/empi/review?page=2").text
    assert f'data-review="{second}"' in two and f'data-review="{first}"' not in two
    assert 'rel="prev"' in two and 'rel="next"' not in two
    assert 'data-count="2"' in client.get("/empi/review?page=x").text  # a bad page number is the first page


def test_a_newborns_placeholder_name_is_said_to_be_one(db_url: str, tmp_path: Path) -> None:
    """李娜之女 ("Li Na's daughter") is how a ward registers a newborn without a name: the model compares no name
    there, and the page says why rather than calling the name missing."""
    settings = review_settings(db_url, tmp_path, env="development", security={"allow_anonymous": True})
    services = open_services(settings)
    try:
        actor = Actor.system("tests")
        services.empi.link(actor, LI)
        newborn = SourceRecord("N1", "EMR", "李娜之女", "F", "2026-04-30", None, LI.phone, LI.address)
        assert services.empi.link(actor, newborn).decision == "review"
    finally:
        services.close()
    with TestClient(create_app(settings)) as client:
        html = client.get("/empi/review").text
        assert "新生儿占位名" in html and "李娜之女" in html
        assert "placeholder name (such as 王芳之子)" in client.get("/empi/review?lang=en").text
