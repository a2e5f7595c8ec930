"""Definition files, the generated catalogue and front-page validation (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from huitong.indicators import catalogue, frontpage, his
from huitong.indicators.definition import REQUIRED_KEYS, DefinitionError, base_sql, load_definitions, parse
from huitong.indicators.frontpage import Catalogues
from tests.indicators import ward

REPO = Path(__file__).resolve().parents[2]


def test_docs_are_current() -> None:
    committed = (REPO / "docs" / "indicators.md").read_text(encoding="utf-8")
    assert committed == catalogue.render(), "docs/indicators.md is stale: run `huitong indicators catalogue`"


def test_every_computable_indicator_is_computed_or_explained() -> None:
    defs = {d.id for d in load_definitions()}
    for entry in catalogue.national_list():
        assert entry.id in defs or entry.id in catalogue.NOT_COMPUTED, entry.id
    for d in load_definitions():
        assert all(d.meta[k] for k in REQUIRED_KEYS), d.path.name
        if not d.id.startswith("aux."):
            entry = next(e for e in catalogue.national_list() if e.id == d.id)
            assert (entry.national, entry.name_zh, entry.name_en) == (d.national, d.name_zh, d.name_en), d.id
            assert entry.direction == d.direction, d.id
            if "unconfirmed" in entry.notes.lower():
                assert d.unconfirmed, f"{d.id} is unconfirmed in the catalogue and must say so"


def test_a_definition_without_header_keys_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.sql"
    path.write_text("-- id: 99\nSELECT 1\n", encoding="utf-8")
    with pytest.raises(DefinitionError, match="missing header key"):
        parse(path, base_sql())


def test_definition_hash_covers_file_and_base(tmp_path: Path) -> None:
    source = next(d for d in load_definitions() if d.id == "6").path
    copy = tmp_path / source.name
    copy.write_text(source.read_text(encoding="utf-8") + "\n-- trailing\n", encoding="utf-8")
    original = parse(source, base_sql())
    assert parse(copy, base_sql()).sha256 != original.sha256
    assert parse(source, base_sql() + " ").sha256 != original.sha256


CATS = Catalogues(
    icd10=frozenset([*(c for c, _ in ward.DIAGNOSES), "N83.2"]),
    icd9cm3=frozenset(p[0] for p in ward.PROCEDURES),
    departments=frozenset({"0301", "0101"}),
    sex_specific={"N83.2": "F"},
)


def test_valid_rows_pass() -> None:
    for n, row in enumerate(ward.STAYS, start=2):
        assert frontpage.check_row(row, n, CATS).reasons == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"JBDM": ""}, "JBDM: required field is empty"),
        ({"XB": "3"}, "XB: '3' is not one of"),
        ({"JBDM": "K35.99"}, "JBDM: code 'K35.99' is not in the catalogue"),
        ({"JBDM1": "J18.A", "RYBQ1": "1"}, "JBDM1: code 'J18.A' is not in the catalogue"),
        ({"SSJCZBM1": "99.999"}, "SSJCZBM1: malformed code '99.999'"),
        ({"CYSJ": "2024-02-28 08:00:00"}, "CYSJ: discharge before admission"),
        ({"RYSJ": "2024/03/01"}, "RYSJ: not a date-time"),
        ({"CYKB": "9999"}, "CYKB: department '9999' is not in the department list"),
        ({"ZFY": "abc"}, "ZFY: not an amount"),
        ({"SSJB1": "5"}, "SSJB1: '5' is not one of"),
    ],
)
def test_rule_violations_are_reported(change: dict[str, str], reason: str) -> None:
    row = {**ward.STAYS[0], **change}
    reasons = frontpage.check_row(row, 7, CATS).reasons
    assert any(r.startswith(reason) for r in reasons), reasons


def test_sex_specific_diagnosis_is_a_warning() -> None:
    check = frontpage.check_row({**ward.STAYS[0], "JBDM2": "N83.2", "RYBQ2": "1"}, 7, CATS)
    assert check.ok
    assert check.warnings == ["JBDM2: diagnosis 'N83.2' is for female patients only"]


def test_mapping_carries_indicator_fields() -> None:
    resources = frontpage.to_fhir(ward.STAYS[0])
    kinds = [r["resourceType"] for r in resources]
    assert kinds == ["Encounter", "Condition", "Condition", "Condition", "Procedure", "Claim"]
    encounter, procedure, claim = resources[0], resources[4], resources[5]
    assert (
        encounter["id"] == "fp-ZY1" and encounter["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == "1"
    )
    flags = {e["url"].rsplit("/", 1)[-1]: e for e in procedure["extension"]}
    assert flags["operation-level"]["valueCoding"]["code"] == "4"
    assert flags["healing-grade"]["valueCoding"]["code"] == "3"
    assert flags["elective-operation"]["valueBoolean"] is True
    assert flags["day-surgery"]["valueBoolean"] is False
    assert claim["total"] == {"value": 30000.0, "currency": "CNY"}
    poa = resources[2]["extension"][0]["valueCoding"]["code"]
    assert poa == "4"


def test_his_rows_are_checked() -> None:
    assert his.check_visit({"visit_no": "MZ9"}, 3).reasons[0] == "his_patient_id: required field is empty"
    bad = his.check_charge(
        {"encounter_type": "X", "encounter_no": "1", "item_code": "C", "income_category": "REG", "amount": "x"}, 4
    )
    assert bad.reasons == ["encounter_type: 'X' is not O, E or I", "amount: not an amount: 'x'"]
