"""Survivorship: which record's value each golden-record field takes."""

from __future__ import annotations

from datetime import UTC, datetime

from huitong.empi.golden import MemberRecord, choose, golden_patient
from huitong.empi.normalise import SourceRecord
from huitong.settings import EmpiSettings

TRUST = ["HIS", "EMR", "LIS", "PACS"]


def member(system: str, day: int, valid: bool = True, **fields: str) -> MemberRecord:
    record = SourceRecord(f"{system}{day}", system, updated_at=datetime(2026, 1, day, tzinfo=UTC), **fields)
    return MemberRecord(record, f"p-{system}{day}", valid)


def test_most_recent_takes_the_latest_value() -> None:
    members = [member("HIS", 1, phone="13800000001"), member("PACS", 9, phone="13800000009")]
    chosen = choose(members, "phone", "most_recent", TRUST)
    assert chosen is not None and chosen.source.phone == "13800000009"


def test_most_trusted_prefers_his_over_a_newer_pacs() -> None:
    members = [member("HIS", 1, name="张伟"), member("PACS", 9, name="ZHANG^WEI")]
    chosen = choose(members, "name", "most_trusted", TRUST)
    assert chosen is not None and chosen.source.name == "张伟"


def test_most_complete_takes_the_longest_value() -> None:
    members = [member("HIS", 1, address="杭州市西湖区"), member("LIS", 2, address="浙江省杭州市西湖区文三路90号")]
    chosen = choose(members, "address", "most_complete", TRUST)
    assert chosen is not None and chosen.source.address == "浙江省杭州市西湖区文三路90号"


def test_an_invalid_id_never_survives_and_missing_values_are_skipped() -> None:
    members = [member("HIS", 1, valid=False, id_number="110101198001020031"), member("PACS", 2)]
    assert choose(members, "id_number", "most_trusted", TRUST) is None


def test_golden_patient_follows_the_configured_rules() -> None:
    settings = EmpiSettings(survivorship={"name": "most_recent", "phone": "most_trusted"})
    members = [
        member("HIS", 1, name="张伟", phone="13800000001", gender="M"),
        member("LIS", 5, name="張偉", phone="13800000005"),
    ]
    patient = golden_patient("person-1", members, settings)
    assert patient["name"][0]["text"] == "張偉"
    assert patient["telecom"] == [{"system": "phone", "value": "13800000001"}]
    assert patient["gender"] == "male"
    assert [link["other"]["reference"] for link in patient["link"]] == ["Patient/p-HIS1", "Patient/p-LIS5"]
    assert patient["meta"]["tag"][0]["code"] == "golden" and patient["meta"]["source"] == "EMPI"
