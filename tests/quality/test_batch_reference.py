"""The batch scan finds what a plain loop over the resources finds — every resource rule called on each resource of
its types, every set rule observing them — with pages of a few rows (the keyset pagination's page boundaries),
on both backends; and the benchmark's copies of a hospital are hospitals of their own, with the original's findings."""

from __future__ import annotations

import copy
import re
from typing import Any

import orjson
import pytest

from huitong.fhir.store import ResourceStore
from huitong.quality import batch, scan
from huitong.quality.bench_batch import Repository, is_copy, replica
from huitong.quality.decode import patient_facts
from huitong.quality.registry import all_rules
from huitong.quality.rule import Context, ResourceRule, SetRule, source_of
from huitong.quality.run import check_all, run_batch
from huitong.settings import QualitySettings
from tests.quality.test_batch_workers import PI, hospital, load

Key = tuple[str, str, str, str, str]


def edge_cases() -> list[dict[str, Any]]:
    """Resources that break the rules the batch-wide fixture leaves alone."""
    meta = {"source": "HIS"}
    adult = {"reference": "Patient/p001"}
    return [
        {
            "resourceType": "Encounter",
            "id": "e-backwards",
            "meta": meta,
            "status": "finished",
            "class": {"code": "IMP"},
            "period": {"start": "2025-03-02T08:00:00+08:00", "end": "2025-03-01T08:00:00+08:00"},
        },
        {
            "resourceType": "Encounter",
            "id": "e-no-bed",
            "meta": meta,
            "status": "in-progress",
            "class": {"code": "IMP"},
        },
        {"resourceType": "Encounter", "id": "e-no-start", "status": "finished", "class": {"code": "AMB"}},
        {
            "resourceType": "Condition",
            "id": "c-perinatal-adult",
            "meta": meta,
            "subject": adult,
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "P07.3"}]},
            "recordedDate": "2025-03-01",
        },
        {
            "resourceType": "Condition",
            "id": "c-bad-shape",
            "meta": meta,
            "subject": adult,
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "40.1"}]},
        },
        {
            "resourceType": "Observation",
            "id": "x-components",
            "meta": meta,
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
            "component": [
                {"valueQuantity": {"value": 120, "unit": "mmHg"}},
                {
                    "valueQuantity": {
                        "value": 80,
                        "unit": "mmHg",
                        "system": "http://unitsofmeasure.org",
                        "code": "mm[Hg]",
                    }
                },
                {"valueString": "n/a"},
            ],
        },
        {
            "resourceType": "Patient",
            "id": "p-bad-id",
            "meta": meta,
            "identifier": [
                {"system": "urn:oid:2.16.156.10011.0.99999.1", "value": "p-bad-id", "type": PI},
                {"system": "urn:oid:2.16.156.10011.1.3", "value": "110105198005170028"},
                {"value": "11010519800517002X", "type": {"coding": [{"code": "NNCHN"}]}},
            ],
            "gender": "female",
            "birthDate": "1879-12-31",
            "name": [{"family": "王"}],
        },
    ]


def reference(resources: list[dict[str, Any]], settings: QualitySettings) -> list[Key]:
    """The findings of a plain loop: each rule called on its own copy of each resource."""
    ctx = Context(settings)
    rules = [r for r in all_rules() if isinstance(r, ResourceRule | SetRule)]
    ctx.patients = {r["id"]: patient_facts(r) for r in resources if r["resourceType"] == "Patient"}
    states = {r.id: r.start(ctx) for r in rules if isinstance(r, SetRule)}
    found: list[Key] = []
    for rtype in batch.scan_order(rules):
        for body in (r for r in resources if r["resourceType"] == rtype):
            for rule in rules:
                if rtype not in rule.reads:
                    continue
                if isinstance(rule, ResourceRule):
                    found += [
                        (rule.id, rtype, body["id"], d, source_of(body)) for d in rule.check(copy.deepcopy(body), ctx)
                    ]
                else:
                    rule.observe(states[rule.id], copy.deepcopy(body))
    by_key = {(r["resourceType"], r["id"]): r for r in resources}
    for rule in rules:
        if isinstance(rule, SetRule):
            # the source a set rule kept with its finding is the resource's own
            found += [
                (rule.id, t, i, d, source_of(by_key[(t, i)])) for t, i, d, *_kept in rule.conclude(states[rule.id])
            ]
    return sorted(found)


def keys(findings: list[Any]) -> list[Key]:
    return sorted((f.rule_id, f.res_type, f.res_id, f.detail, f.source) for f in findings)


def test_the_batch_finds_what_a_plain_loop_finds(store: ResourceStore, monkeypatch: pytest.MonkeyPatch) -> None:
    resources = hospital(40) + edge_cases()
    load(store, resources)
    monkeypatch.setattr(scan, "PAGE", 7)  # many pages: every page boundary of the keyset scan
    settings = QualitySettings()
    result = run_batch(store, settings, record=False, workers=1)
    expected = reference(resources, settings)
    assert keys(result.findings) == expected
    assert result.resources == len(resources)
    found = {k[0] for k in expected}
    assert {"discharge-after-admission", "encounter-location-required", "encounter-start-required"} <= found
    assert {"diagnosis-consistent-with-age", "diagnosis-code-format", "quantity-unit-ucum"} <= found
    assert {"resident-id-check-character", "birth-date-not-in-future", "patient-registered-once"} <= found


_COPY_SUFFIX = re.compile(r"\.c\d+\b")


def test_copies_of_a_hospital_find_what_the_original_finds() -> None:
    original = hospital(24) + edge_cases()
    repo = Repository()
    for body in original:
        repo.put(body, "")
    copies = [replica(body, n) for n in (1, 2) for body in original]
    assert all(is_copy(c["id"]) for c in copies) and not any(is_copy(b["id"]) for b in original)
    everything = original + copies

    def scan(rtype: str) -> list[tuple[str, bytes]]:
        return [(b["id"], orjson.dumps(b)) for b in everything if b["resourceType"] == rtype]

    findings, _ = check_all(scan, Context(QualitySettings()))
    mine = sorted((f.rule_id, f.res_id, f.detail) for f in findings if not is_copy(f.res_id))
    for n in (1, 2):
        theirs = [f for f in findings if f.res_id.endswith(f".c{n}")]
        assert sorted((f.rule_id, f.res_id[: -len(f".c{n}")], _COPY_SUFFIX.sub("", f.detail)) for f in theirs) == mine
    assert len(findings) == 3 * len(mine)
