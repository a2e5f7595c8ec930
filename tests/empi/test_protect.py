"""With field encryption on, no resident ID number, phone or address appears in clear in any EMPI table, while
blocking, scoring, golden records and the review queue still work — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from huitong.empi import SourceRecord
from huitong.empi.schema import empi_event, empi_pending, empi_person, empi_record, empi_review
from huitong.security.actor import Actor
from huitong.services import Services, open_services
from tests.conftest import make_settings

ID_NUMBER = "110101198001020032"
ID_TYPO = "110101198001020023"  # two digits swapped: fails its check
PHONE = "13800138000"
PHONE_TYPO = "13800138001"
STREET = "文三路90号"
ADDRESS = f"浙江省杭州市西湖区{STREET}"
ACTOR = Actor.system("tests")


@pytest.fixture(params=["on", "off"])
def services(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[Services]:
    settings = make_settings(
        db_url,
        empi={"model_path": str(tmp_path / "absent-model.json"), "link_api_patients": True},
        security={"field_encryption": request.param},
    )
    opened = open_services(settings)
    yield opened
    opened.close()


def _raw_text(services: Services) -> str:
    """Every value of every EMPI table, as the database returns it."""
    out: list[str] = []
    with services.db.read() as conn:
        for table in (empi_record, empi_person, empi_review, empi_event, empi_pending):
            for row in conn.execute(sa.select(table)):
                out.extend(str(v) for v in row)
    return "\n".join(out)


def test_identifiers_are_sealed_and_matching_still_works(services: Services) -> None:
    empi = services.empi
    on = services.store.protector is not None and services.store.protector.enabled
    first = empi.link(
        ACTOR, SourceRecord("h1", "HIS", "张伟华", "M", "1980-01-02", ID_NUMBER, PHONE, ADDRESS), patient_id=None
    )
    # the same ID number and phone, in traditional characters and another address: an exact blind-index match
    same = empi.link(ACTOR, SourceRecord("l1", "LIS", "張偉華", "M", "1980-01-02", ID_NUMBER, PHONE, "北京市朝阳区"))
    assert same.decision == "link" and same.person_id == first.person_id
    # a mistyped ID and phone (decrypted in memory for the typo levels) and the same address
    typo = empi.link(ACTOR, SourceRecord("p1", "PACS", "ZHANG WEIHUA", "M", "1980-01-02", ID_TYPO, PHONE_TYPO, ADDRESS))
    levels = {e.comparison: e.level for e in typo.match.candidates[0].score.evidence}
    assert levels["id_number"].startswith("a check fails") and levels["phone"] == "one digit"
    assert levels["address"] == "exact"
    # a household member (same phone and address, another given name): found through the phone, queued or new
    empi.link(ACTOR, SourceRecord("h2", "HIS", "张伟", "F", "1982-03-04", None, PHONE, ADDRESS))
    # something for the review queue: a near match with no ID number
    empi.link(ACTOR, SourceRecord("e1", "EMR", "张伟华", "M", "1980-01-02", None, None, ADDRESS))

    raw = _raw_text(services)
    for secret in (ID_NUMBER, ID_TYPO, PHONE, PHONE_TYPO, STREET):
        assert (secret in raw) is not on, secret
    if on:
        with services.db.read() as conn:
            keys = conn.execute(sa.select(empi_record.c.k_id, empi_record.c.k_phone)).all()
        assert all(k is None or k.startswith("bi:") for row in keys for k in row)

    # what people see is in clear: the person's records, the review queue, the golden Patient (decrypted by the store)
    records = {r["record_key"]: r["source"] for r in empi.person_records(first.person_id)}
    assert records["HIS|h1"]["id_number"] == ID_NUMBER and records["HIS|h1"]["phone"] == PHONE
    for item in empi.review_items(status=None):
        for side in (item.record, item.candidate):
            assert not str(side.get("id_number") or "").startswith("enc:")
        assert all(not str(e.get("right") or "").startswith("enc:") for e in item.evidence)
    golden = services.store.read(ACTOR, "Patient", first.person_id).content
    assert golden is not None and PHONE.encode() in golden and ID_NUMBER.encode() in golden
    with services.db.read() as conn:  # the golden Patient as stored: sealed by the store like any Patient
        stored = conn.execute(sa.text("SELECT content FROM resource WHERE res_id = :p"), {"p": first.person_id})
        assert (ID_NUMBER in stored.scalar_one()) is not on


def test_match_reads_sealed_candidates(services: Services) -> None:
    empi = services.empi
    linked = empi.link(ACTOR, SourceRecord("h1", "HIS", "李娜", "F", "1990-05-06", None, PHONE, ADDRESS))
    found = empi.match(SourceRecord("q", "Q", "李娜", "F", "1990-05-06", None, PHONE, None))
    assert found.decision == "link" and found.best is not None and found.best.person_id == linked.person_id
    shown = {e.comparison: (e.left, e.right) for e in found.best.score.evidence}
    assert shown["phone"] == (PHONE, PHONE)
