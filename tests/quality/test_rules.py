"""Each rule on a resource that passes and one that fails (its own test, as the catalogue promises)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from huitong.empi.resident_id import build
from huitong.quality.registry import all_rules, builtin_rules, rule
from huitong.quality.rule import Catalogues, Context, PatientFacts, ResourceRule
from huitong.settings import QualitySettings

RID = build("110105", date(1980, 5, 17), 12, "female")
RID_SYSTEM = "urn:oid:2.16.156.10011.1.3"
ICD = "http://hl7.org/fhir/sid/icd-10"


def pat(**kw: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"family": "王"}],
        "gender": "female",
        "birthDate": "1980-05-17",
        "identifier": [{"system": RID_SYSTEM, "value": RID}],
        **kw,
    }


def cond(code: str, **kw: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": ICD, "code": code}]},
        **kw,
    }


CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "patient-name-required": (pat(), pat(name=[{"given": ["秀英"]}])),
    "patient-gender-required": (pat(), pat(gender="F")),
    "patient-birthdate-required": (pat(), {k: v for k, v in pat().items() if k != "birthDate"}),
    "encounter-start-required": (
        {"resourceType": "Encounter", "id": "e", "period": {"start": "2026-01-01"}},
        {"resourceType": "Encounter", "id": "e", "period": {"end": "2026-01-02"}},
    ),
    "observation-value-required": (
        {"resourceType": "Observation", "id": "o", "status": "final", "valueString": "阴性"},
        {"resourceType": "Observation", "id": "o", "status": "final"},
    ),
    "resident-id-check-character": (
        pat(),
        pat(identifier=[{"system": RID_SYSTEM, "value": RID[:-1] + ("0" if RID[-1] != "0" else "1")}]),
    ),
    "birth-date-not-in-future": (pat(), pat(birthDate="2999-01-01")),
    "quantity-unit-ucum": (
        {
            "resourceType": "Observation",
            "id": "o",
            "valueQuantity": {"value": 5, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
        },
        {"resourceType": "Observation", "id": "o", "valueQuantity": {"value": 5, "unit": "毫摩尔/升"}},
    ),
    "diagnosis-code-format": (cond("J18.9"), cond("J189X")),
    "discharge-after-admission": (
        {
            "resourceType": "Encounter",
            "id": "e",
            "period": {"start": "2026-01-01T08:00:00+08:00", "end": "2026-01-05T10:00:00+08:00"},
        },
        {
            "resourceType": "Encounter",
            "id": "e",
            "period": {"start": "2026-01-05T08:00:00+08:00", "end": "2026-01-01T10:00:00+08:00"},
        },
    ),
    "resident-id-matches-patient": (pat(), pat(birthDate="1980-05-18")),
    "diagnosis-consistent-with-sex": (cond("O80"), cond("N40")),
    "diagnosis-consistent-with-age": (cond("I10"), cond("P07.3", recordedDate="2026-01-01")),
    "encounter-location-required": (
        {
            "resourceType": "Encounter",
            "id": "e",
            "status": "in-progress",
            "class": {"code": "IMP"},
            "location": [{"location": {"reference": "Location/w1-b3"}, "status": "active"}],
        },
        {"resourceType": "Encounter", "id": "e", "status": "in-progress", "class": {"code": "IMP"}},
    ),
    "observation-unit-expected": (
        {
            "resourceType": "Observation",
            "id": "o",
            "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
            "valueQuantity": {"value": 131, "unit": "g/L", "system": "http://unitsofmeasure.org", "code": "g/L"},
        },
        {
            "resourceType": "Observation",
            "id": "o",
            "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
            "valueQuantity": {"value": 13.1, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"},
        },
    ),
    "result-within-turnaround": (
        {
            "resourceType": "DiagnosticReport",
            "id": "r",
            "effectiveDateTime": "2026-01-01T08:00:00+08:00",
            "issued": "2026-01-01T12:00:00+08:00",
        },
        {
            "resourceType": "DiagnosticReport",
            "id": "r",
            "effectiveDateTime": "2026-01-01T08:00:00+08:00",
            "issued": "2026-01-03T12:00:00+08:00",
        },
    ),
}


CATALOGUES = Catalogues(
    icd10=frozenset({"I10", "J18.9", "N40", "N83.2", "O80", "P07.3", "H25.9", "K35.8"}),
    icd9cm3=frozenset({"36.07", "47.09"}),
    lab_units={"718-7": "g/L"},
    lab_alt_units={"718-7": ("g/dL", 0.1)},
    lab_turnaround={"LP10": 1440},
)


def context() -> Context:
    return Context(QualitySettings(), {"p1": PatientFacts("female", date(1980, 5, 17))}, CATALOGUES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_passes_good_and_catches_bad(rule_id: str) -> None:
    r = rule(rule_id)
    assert isinstance(r, ResourceRule)
    good, bad = CASES[rule_id]
    assert list(r.check(good, context())) == []
    details = list(r.check(bad, context()))
    assert details and all(isinstance(d, str) and d for d in details)


def test_every_resource_rule_has_a_case() -> None:
    resource_rules = {r.id for r in builtin_rules() if isinstance(r, ResourceRule)}
    assert resource_rules == set(CASES)


def test_stated_turnaround_of_a_test_raises_the_limit() -> None:
    r = rule("result-within-turnaround")
    assert isinstance(r, ResourceRule)
    lead = {
        "resourceType": "DiagnosticReport",
        "id": "r",
        "code": {"coding": [{"system": "urn:local:99HTLAB", "code": "LP10"}]},
        "effectiveDateTime": "2026-01-01T08:00:00+08:00",
        "issued": "2026-01-02T20:00:00+08:00",
    }
    assert list(r.check(lead, context())) == []  # 36 h: within 2 × the stated 24 h of blood lead
    late = {**lead, "issued": "2026-01-03T10:00:00+08:00"}  # 50 h
    assert list(r.check(late, context())) == ["reported 50.0 h after collection (limit 48 h)"]
    other = {**late, "code": {"coding": [{"code": "LP01"}]}}
    assert list(r.check(other, context()))  # no stated turnaround: the setting's 24 h


def test_unit_rule_is_silent_without_a_dictionary() -> None:
    r = rule("observation-unit-expected")
    assert isinstance(r, ResourceRule)
    bad = CASES["observation-unit-expected"][1]
    assert list(r.check(bad, Context(QualitySettings()))) == []


def test_ids_are_unique_and_described() -> None:
    ids = [r.id for r in all_rules()]
    assert len(ids) == len(set(ids))
    assert all(r.description and r.title and r.reads for r in all_rules())


def test_catalogue_is_current() -> None:
    from pathlib import Path

    from huitong.quality.catalogue import render

    committed = (Path(__file__).resolve().parents[2] / "docs" / "quality-rules.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/quality-rules.md is stale: run `huitong quality catalogue`"
