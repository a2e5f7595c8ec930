"""Batch runs over a real repository (both backends): findings, set rules, scorecard per source system."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from huitong.db.schema import resource
from huitong.empi.golden import is_golden
from huitong.empi.resident_id import check_character
from huitong.fhir.store import ResourceStore
from huitong.fhir.transaction import Transaction
from huitong.quality import scorecard
from huitong.quality.rule import Context
from huitong.quality.run import blocking, check_resources, run_batch
from huitong.quality.schema import quality_finding
from huitong.security.actor import Actor
from huitong.services import open_services
from huitong.settings import QualitySettings
from tests.conftest import make_settings


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


def test_records_disagreeing_with_their_persons_golden_record_are_found(db_url: str, tmp_path: Path) -> None:
    """Two systems register one person (the same resident ID and name); the LIS typed the birth date wrong. The
    real EMPI links them under a golden Patient whose birth date survivorship takes from the HIS record (both came
    in through the API, so the one updated last wins); the batch run names the LIS record only, so the finding
    counts against the LIS."""
    settings = make_settings(db_url, empi={"model_path": str(tmp_path / "absent.json"), "link_api_patients": True})
    services = open_services(settings)
    try:
        number = "11010119800102" + "001"
        number += check_character(number)

        def patient(pid: str, source: str, born: str) -> dict[str, Any]:
            return {
                "resourceType": "Patient",
                "id": pid,
                "meta": {"source": source},
                "identifier": [
                    {"system": "urn:oid:2.16.156.10011.1.3", "value": number},
                    {"system": f"urn:{source.lower()}:pid", "value": pid, "type": {"coding": [{"code": "PI"}]}},
                ],
                "name": [{"family": "张", "given": ["伟华"]}],
                "gender": "male",
                "birthDate": born,
            }

        load(services.store, [patient("lis-1", "LIS", "1980-02-01")])
        load(services.store, [patient("his-1", "HIS", "1980-01-02")])
        result = run_batch(services.store, QualitySettings(), record=False)
        assert not [
            f for f in result.findings if f.rule_id == "person-facts-agree"
        ]  # no person yet: nothing to compare
        while services.empi.process_pending():
            pass
        with services.store.db.read() as conn:
            golden = [
                orjson.loads(c)
                for (c,) in conn.execute(
                    sa.select(resource.c.content).where(resource.c.res_type == "Patient", resource.c.deleted.is_(False))
                )
            ]
        golden = [g for g in golden if is_golden(g)]
        assert len(golden) == 1 and golden[0]["birthDate"] == "1980-01-02"
        assert {link["other"]["reference"] for link in golden[0]["link"]} == {"Patient/his-1", "Patient/lis-1"}
        result = run_batch(services.store, QualitySettings(), record=False)
        found = [f for f in result.findings if f.rule_id == "person-facts-agree"]
        assert [(f.res_id, f.source) for f in found] == [("lis-1", "LIS")]
        assert (
            found[0].detail
            == f"birthDate 1980-02-01 but 1980-01-02 in the person's golden record Patient/{golden[0]['id']}"
        )
    finally:
        services.close()
