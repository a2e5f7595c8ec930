"""Batch runs over a real repository (both backends): findings, set rules, scorecard per source system."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from huitong.fhir.store import ResourceStore
from huitong.fhir.transaction import Transaction
from huitong.quality import scorecard
from huitong.quality.rule import Context
from huitong.quality.run import blocking, check_resources, run_batch
from huitong.quality.schema import quality_finding
from huitong.security.actor import Actor
from huitong.settings import QualitySettings


def load(store: ResourceStore, resources: list[dict[str, Any]]) -> None:
    def work(tx: Transaction) -> None:
        for body in resources:
            tx.update(body, body["id"])

    store.transaction(Actor.system("tests"), work)


def test_batch_run_finds_defects_and_scores_sources(store: ResourceStore) -> None:
    lis, his = {"source": "urn:huitong:source:lis"}, {"source": "urn:huitong:source:his"}
    load(
        store,
        [
            {
                "resourceType": "Patient",
                "id": "m1",
                "meta": his,
                "name": [{"family": "李"}],
                "gender": "male",
                "birthDate": "1970-01-01",
            },
            {"resourceType": "Patient", "id": "m2", "meta": his, "gender": "male", "birthDate": "1971-01-01"},
            {
                "resourceType": "Condition",
                "id": "c1",
                "meta": his,
                "subject": {"reference": "Patient/m1"},
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "O80"}]},
            },
            {
                "resourceType": "ServiceRequest",
                "id": "o1",
                "meta": lis,
                "status": "active",
                "intent": "order",
                "subject": {"reference": "Patient/m1"},
                "authoredOn": "2026-01-01T08:00:00+08:00",
            },
            {
                "resourceType": "ServiceRequest",
                "id": "o2",
                "meta": lis,
                "status": "active",
                "intent": "order",
                "subject": {"reference": "Patient/m1"},
                "authoredOn": "2026-01-01T08:00:00+08:00",
            },
            {
                "resourceType": "DiagnosticReport",
                "id": "r1",
                "meta": lis,
                "status": "final",
                "code": {"text": "血常规"},
                "basedOn": [{"reference": "ServiceRequest/o1"}],
                "effectiveDateTime": "2026-01-01T09:00:00+08:00",
                "issued": "2026-01-01T10:00:00+08:00",
            },
            {
                "resourceType": "DiagnosticReport",
                "id": "r2",
                "meta": lis,
                "status": "final",
                "code": {"text": "肝功能"},
                "effectiveDateTime": "2026-01-01T09:00:00+08:00",
                "issued": "2026-01-01T10:00:00+08:00",
            },
        ],
    )
    result = run_batch(store, QualitySettings())
    found = {(f.rule_id, f.res_id) for f in result.findings}
    assert found == {
        ("patient-name-required", "m2"),
        ("diagnosis-consistent-with-sex", "c1"),
        ("order-has-result", "o2"),
        ("result-has-order", "r2"),
    }
    rows = {(r["source"], r["dimension"]): r for r in result.scorecard["rows"]}
    assert rows[("urn:huitong:source:his", "completeness")]["failed"] == 1
    assert rows[("urn:huitong:source:his", "completeness")]["checked"] == 2
    assert rows[("urn:huitong:source:lis", "integration")]["failed"] == 2
    with store.db.read() as conn:
        stored = conn.execute(
            sa.select(sa.func.count()).select_from(quality_finding).where(quality_finding.c.run_id == result.run_id)
        ).scalar_one()
    assert stored == 4
    # the scorecard page's counts per rule and source come with the run, equal to counting its findings
    assert result.run_id is not None
    recorded = scorecard.run(store.db, result.run_id)
    assert recorded is not None and len(recorded.scorecard["per_rule_source"]) == 4

    def order(rows: list[dict[str, object]]) -> list[dict[str, object]]:
        return sorted(rows, key=lambda r: (str(r["rule_id"]), str(r["source"])))

    assert order(scorecard.per_rule(store.db, recorded)) == order(scorecard.counted_per_rule(store.db, result.run_id))


def test_ingest_check_flags_blocking_findings() -> None:
    resources = [
        {"resourceType": "Patient", "id": "x", "gender": "male", "birthDate": "2999-01-01"},
        {
            "resourceType": "Condition",
            "id": "c",
            "subject": {"reference": "Patient/x"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "O80"}]},
        },
    ]
    findings = check_resources(resources, Context(QualitySettings()))
    assert {f.rule_id for f in findings} == {
        "patient-name-required",
        "birth-date-not-in-future",
        "diagnosis-consistent-with-sex",
    }
    assert len(blocking(findings)) == 3
