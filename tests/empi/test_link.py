"""Real-time linking, golden records, merges and the review queue — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from huitong.db import migrate
from huitong.db.schema import audit_event
from huitong.empi import Empi, SourceRecord
from huitong.empi.errors import ConflictError
from huitong.empi.model import default_model
from huitong.empi.schema import empi_event, empi_person, empi_record
from huitong.security.actor import Actor
from huitong.services import Services, open_services
from huitong.settings import EmpiSettings
from tests.conftest import make_settings

ZHANG = SourceRecord(
    "H1", "HIS", "张伟华", "M", "1980-01-02", "110101198001020032", "13800138000", "浙江省杭州市西湖区文三路90号"
)


#: Behaviour that does not depend on the backend runs on SQLite only (PostgreSQL keeps the core and concurrency).
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def empi(services: Services, tmp_path: Path) -> Empi:
    settings = EmpiSettings(model_path=tmp_path / "absent.json")
    return Empi(services.db, services.store, settings, default_model())


def golden(services: Services, person_id: str) -> dict[str, object]:
    return services.store.read(Actor.system("tests"), "Patient", person_id).resource()


def test_same_person_across_systems_is_one_person(empi: Empi, services: Services, actor: Actor) -> None:
    first = empi.link(actor, ZHANG, patient_id="src-1")
    assert first.decision == "new"
    lis = empi.link(actor, replace(ZHANG, source_system="LIS", record_id="L9", name="張偉華", address=None))
    pacs = empi.link(actor, replace(ZHANG, source_system="PACS", record_id="X3", name="ZHANG^WEIHUA", id_number=None))
    assert (lis.decision, pacs.decision) == ("link", "link")
    assert lis.person_id == pacs.person_id == first.person_id
    patient = golden(services, first.person_id)
    assert patient["name"] == [{"use": "official", "text": "张伟华", "family": "张", "given": ["伟华"]}]
    assert {i["value"] for i in patient["identifier"]} >= {"110101198001020032", "H1", "L9", "X3"}  # type: ignore[index]
    assert patient["link"] == [{"other": {"reference": "Patient/src-1"}, "type": "seealso"}]
    assert [r["record_key"] for r in empi.person_records(first.person_id)] == ["HIS|H1", "LIS|L9", "PACS|X3"]
    with services.db.read() as conn:
        audited = conn.execute(
            sa.select(sa.func.count()).where(
                audit_event.c.entity_id == first.person_id, audit_event.c.actor_id == actor.id
            )
        ).scalar_one()
    assert audited >= 3


def test_linking_many_writes_each_golden_once_as_one_by_one_would(
    empi: Empi, services: Services, actor: Actor, tmp_path: Path
) -> None:
    wang = SourceRecord("H2", "HIS", "王芳", "F", "1975-03-04", None, "13900139000", None)
    records = [
        (ZHANG, "src-1"),
        (replace(ZHANG, source_system="LIS", record_id="L9", name="張偉華", address=None), None),
        (wang, "src-2"),
        (replace(ZHANG, source_system="PACS", record_id="X3", name="ZHANG^WEIHUA", id_number=None), None),
    ]
    results = services.store.transaction(actor, lambda tx: empi.link_many_in(tx, records))
    assert [r.decision for r in results] == ["new", "link", "new", "link"]
    zhang, other = results[0].person_id, results[2].person_id
    assert results[1].person_id == results[3].person_id == zhang != other
    for person_id in (zhang, other):  # one version: written once at the end, not once per record
        assert services.store.read(actor, "Patient", person_id).version_id == 1

    # the same records linked one by one into a second database make the same golden Patients
    url = f"sqlite:///{tmp_path / 'one-by-one.db'}"
    migrate.upgrade(make_settings(url).database)
    other_services = open_services(make_settings(url))
    try:
        one = Empi(other_services.db, other_services.store, empi.settings, default_model())
        singles = [one.link(actor, record, patient_id=patient_id) for record, patient_id in records]
        for batch, single in zip(results, singles, strict=True):
            assert batch.decision == single.decision
            a = golden(services, batch.person_id)
            b = other_services.store.read(actor, "Patient", single.person_id).resource()
            drop = ("id", "meta", "link")
            assert {k: v for k, v in a.items() if k not in drop} == {k: v for k, v in b.items() if k not in drop}
            assert len(a.get("link", [])) == len(b.get("link", []))
    finally:
        other_services.close()


def test_a_record_named_twice_in_one_run_is_indexed_once_and_updated(
    services: Services, empi: Empi, actor: Actor
) -> None:
    moved = replace(ZHANG, address="上海市徐汇区")  # the same record (source, id) with a new address
    records = [(ZHANG, "src-1"), (moved, "src-1")]
    results = services.store.transaction(actor, lambda tx: empi.link_many_in(tx, records))
    assert [r.decision for r in results] == ["new", "update"]
    assert results[0].person_id == results[1].person_id
    with services.db.read() as conn:
        rows = conn.execute(sa.select(empi_record.c.person_id).where(empi_record.c.record_id == ZHANG.record_id)).all()
    assert len(rows) == 1
    assert golden(services, results[0].person_id)["address"] == [{"text": "上海市徐汇区"}]


def test_twins_stay_two_persons(empi: Empi, actor: Actor) -> None:
    twin_a = SourceRecord(
        "H1", "HIS", "王子涵", "M", "2010-05-01", "330106201005010111", "13812345678", "杭州市西湖区文三路1号"
    )
    twin_b = replace(twin_a, record_id="H2", name="王子轩", id_number="33010620100501039X")
    pacs_b = replace(twin_b, source_system="PACS", record_id="X2", name="WANG ZIXUAN", id_number=None)
    a, b, c = (empi.link(actor, r) for r in (twin_a, twin_b, pacs_b))
    assert a.person_id != b.person_id
    assert c.person_id == b.person_id
    assert empi.review_items() == []


@SQLITE_ONLY
def test_match_changes_nothing(empi: Empi, actor: Actor) -> None:
    empi.link(actor, ZHANG)
    result = empi.match(replace(ZHANG, source_system="EMR", record_id="E1"))
    assert result.decision == "link"
    assert result.best is not None and result.best.record_key == "HIS|H1"
    assert {e["comparison"] for e in result.as_dict()["candidates"][0]["evidence"]} >= {"name", "id_number"}
    with pytest.raises(Exception, match="not in the index"):
        empi.person_of("EMR|E1")


def test_concurrent_registrations_make_one_person(empi: Empi, actor: Actor) -> None:
    records = [replace(ZHANG, source_system=f"S{i}", record_id=f"R{i}") for i in range(8)]
    barrier = threading.Barrier(len(records))
    persons: list[str] = []

    def register(record: SourceRecord) -> None:
        barrier.wait()
        persons.append(empi.link(actor, record).person_id)

    threads = [threading.Thread(target=register, args=(r,)) for r in records]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(persons)) == 1


@SQLITE_ONLY
def test_relinking_a_record_updates_it_in_place(empi: Empi, services: Services, actor: Actor) -> None:
    first = empi.link(actor, ZHANG)
    again = empi.link(actor, replace(ZHANG, phone="13900139000"))
    assert (again.decision, again.person_id) == ("update", first.person_id)
    assert golden(services, first.person_id)["telecom"] == [{"system": "phone", "value": "13900139000"}]


def test_merge_and_unmerge_restore_both_persons(empi: Empi, services: Services, actor: Actor) -> None:
    a = empi.link(actor, ZHANG).person_id
    other = SourceRecord("H7", "HIS", "李娜", "F", "1990-03-04", None, "13700000001", "南京市鼓楼区中山路1号")
    b = empi.link(actor, other).person_id
    empi.merge(actor, a, b, reason="same patient, confirmed at the desk")
    assert empi.resolve(b) == a
    assert len(empi.person_records(b)) == 2
    retired = golden(services, b)
    assert retired["active"] is False
    assert retired["link"] == [{"other": {"reference": f"Patient/{a}"}, "type": "replaced-by"}]
    with pytest.raises(ConflictError):
        empi.merge(actor, a, b, reason="twice")
    assert empi.unmerge(actor, b, reason="merged by mistake") == a
    assert [r["record_key"] for r in empi.person_records(b)] == ["HIS|H7"]
    assert golden(services, b)["active"] is True
    with services.db.read() as conn:
        events = conn.execute(sa.select(empi_event).order_by(empi_event.c.seq)).all()
    merge_event = next(e for e in events if e.action == "merge")
    assert merge_event.actor_id == actor.id and merge_event.reason == "same patient, confirmed at the desk"
    assert orjson.loads(merge_event.before) == {a: ["HIS|H1"], b: ["HIS|H7"]}
    assert orjson.loads(merge_event.after) == {a: ["HIS|H1", "HIS|H7"], b: []}
    assert events[-1].action == "unmerge"


@SQLITE_ONLY
def test_unlink_and_link(empi: Empi, actor: Actor) -> None:
    person = empi.link(actor, ZHANG).person_id
    empi.link(actor, replace(ZHANG, source_system="LIS", record_id="L1"))
    alone = empi.unlink(actor, "LIS|L1", reason="wrong patient")
    assert alone != person and empi.person_of("LIS|L1") == alone
    empi.link_to(actor, "LIS|L1", person, reason="it was right after all")
    assert empi.person_of("LIS|L1") == person


@SQLITE_ONLY
def test_a40_merges_the_persons_of_two_records(empi: Empi, services: Services, actor: Actor) -> None:
    keep = empi.link(actor, ZHANG).person_id
    gone = empi.link(actor, SourceRecord("M2", "HIS", "张卫华", "M", "1980-01-02", None, None, None)).person_id
    assert keep != gone
    result = empi.apply_a40(actor, surviving=("HIS", "H1"), merged=("HIS", "M2"))
    assert result == {"person_id": keep, "merged_person_id": gone}
    assert empi.person_of("HIS|M2") == keep
    with services.db.read() as conn:
        status = conn.execute(sa.select(empi_person.c.status).where(empi_person.c.person_id == gone)).scalar_one()
    assert status == "merged"


@SQLITE_ONLY
def test_review_queue_accept_and_reject(empi: Empi, actor: Actor) -> None:
    settings = empi.settings.model_copy(update={"auto_link_threshold": 0.999999999, "review_threshold": 0.5})
    strict = Empi(empi.db, empi.store, settings, empi.model)
    base = strict.link(actor, replace(ZHANG, id_number=None)).person_id
    unsure = strict.link(actor, replace(ZHANG, source_system="PACS", record_id="X1", name="ZHANG WEIHUA",
                                         id_number=None, address=None))  # fmt: skip
    assert unsure.decision == "review" and unsure.person_id != base
    [item] = strict.review_items()
    shape = item.as_dict()
    assert shape["record"]["record_key"] == "PACS|X1" and shape["candidate"]["record_key"] == "HIS|H1"
    assert {e["comparison"]: e["level"] for e in shape["evidence"]}["name"] == "exact pinyin"
    assert strict.accept_review(actor, item.review_id, reason="same DOB and phone") == base
    assert strict.person_of("PACS|X1") == base
    with pytest.raises(ConflictError):
        strict.reject_review(actor, item.review_id, reason="too late")
    third = strict.link(actor, replace(ZHANG, source_system="LIS", record_id="L5", name="ZHANG WEIHUA",
                                        id_number=None, address=None, phone="13800138001"))  # fmt: skip
    if third.review_ids:
        strict.reject_review(actor, third.review_ids[0], reason="different people")
        assert strict.review_item(third.review_ids[0]).status == "rejected"


@SQLITE_ONLY
def test_patient_match_returns_graded_golden_patients(empi: Empi, actor: Actor) -> None:
    from huitong.empi.api import match_bundle

    person = empi.link(actor, ZHANG).person_id
    query = {
        "resourceType": "Patient",
        "name": [{"family": "张", "given": ["伟华"]}],
        "gender": "male",
        "birthDate": "1980-01-02",
        "identifier": [{"system": "urn:huitong:sid:cn-resident-id", "value": ZHANG.id_number}],
    }
    bundle = match_bundle(empi, actor, query)
    [entry] = bundle["entry"]
    assert entry["resource"]["id"] == person
    assert entry["search"]["extension"][0]["valueCode"] == "certain"
    assert entry["search"]["score"] > 0.99


@SQLITE_ONLY
def test_cli_match_and_review_list(empi: Empi, actor: Actor, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from huitong.empi.cli import app

    empi.link(actor, ZHANG)
    monkeypatch.setenv("HUITONG_DATABASE__URL", db_url)
    monkeypatch.setenv("HUITONG_EMPI__MODEL_PATH", str(empi.settings.model_path))
    # the index holds encrypted ID numbers and phones: the CLI needs the same field keys as the server
    monkeypatch.setenv("HUITONG_ENV", "test")
    monkeypatch.setenv("HUITONG_SECURITY__SECRET_KEY", "x" * 48)
    runner = CliRunner()
    result = runner.invoke(
        app, ["match", "--name", "ZHANG WEIHUA", "--birth-date", "1980-01-02", "--phone", "13800138000"]
    )
    assert result.exit_code == 0, result.output
    assert "decision: link" in result.output and "exact pinyin" in result.output
    listed = runner.invoke(app, ["review", "list", "--json"])
    assert listed.exit_code == 0 and listed.output.strip() == "[]"


@SQLITE_ONLY
def test_cli_without_the_field_keys_says_what_to_set(
    empi: Empi, actor: Actor, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from huitong.empi.cli import app

    empi.link(actor, ZHANG)
    monkeypatch.setenv("HUITONG_DATABASE__URL", db_url)
    monkeypatch.setenv("HUITONG_EMPI__MODEL_PATH", str(empi.settings.model_path))
    monkeypatch.setenv("HUITONG_ENV", "test")
    monkeypatch.setenv("HUITONG_SECURITY__SECRET_KEY", "y" * 48)  # not the server's: other derived field keys
    args = ["match", "--name", "ZHANG WEIHUA", "--birth-date", "1980-01-02", "--phone", "13800138001"]
    result = CliRunner().invoke(app, args)  # the phone differs by one digit: the typo level needs it decrypted
    assert result.exit_code == 2 and "HUITONG_SECURITY__" in result.output, result.output


def test_golden_patients_are_created_when_update_as_create_is_off(db_url: str, tmp_path: Path, actor: Actor) -> None:
    services = open_services(make_settings(db_url, fhir={"allow_update_create": False}))
    try:
        empi = Empi(services.db, services.store, EmpiSettings(model_path=tmp_path / "absent.json"), default_model())
        results = services.store.transaction(actor, lambda tx: empi.link_many_in(tx, [(ZHANG, "src-1")]))
        assert services.store.read(actor, "Patient", results[0].person_id).version_id == 1
        again = services.store.transaction(actor, lambda tx: empi.link_many_in(tx, [(ZHANG, "src-1")]))
        assert again[0].person_id == results[0].person_id
    finally:
        services.close()
