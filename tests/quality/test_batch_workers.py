"""A batch run split over worker processes finds exactly what one process finds, in the same order (both
backends), and falls back to one process when a rule cannot be sent to a worker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from huitong.fhir.store import ResourceStore
from huitong.fhir.transaction import Transaction
from huitong.quality import batch
from huitong.quality.registry import all_rules, rule
from huitong.quality.rule import Context, Dimension, ResourceRule, SetRule, Severity
from huitong.quality.run import RunResult, run_batch
from huitong.security.actor import Actor
from huitong.settings import QualitySettings, Settings

RID = "urn:oid:2.16.156.10011.1.3"
PI = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PI"}]}
SOURCES = ("urn:huitong:source:his", "urn:huitong:source:lis", "emr")


def hospital(n: int) -> list[dict[str, Any]]:
    """``n`` patients, each with a diagnosis, an order, a report and a result — with defects here and there,
    and duplicate registrations whose members lie far apart in key order."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        meta = {"source": SOURCES[i % 3]}
        pid = f"p{i:03d}"
        number = "110105198005170027" if i % 10 == 0 else None  # one resident ID shared by every tenth patient
        idents: list[dict[str, Any]] = [{"system": "urn:oid:2.16.156.10011.0.99999.1", "value": pid, "type": PI}]
        if number:
            idents.append({"system": RID, "value": number})
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": pid,
            "meta": meta,
            "identifier": idents,
            "gender": "male" if i % 2 else "female",
            "birthDate": "1980-05-17" if i % 7 else "2999-01-01",
        }
        if i % 5:
            patient["name"] = [{"text": f"患者{i}"}]
        subject = {"reference": f"Patient/{pid}"}
        out.append(patient)
        out.append(
            {
                "resourceType": "Condition",
                "id": f"c{i:03d}",
                "meta": meta,
                "subject": subject,
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "N40" if i % 4 else "O80"}]},
                "recordedDate": "2025-03-01",
            }
        )
        out.append(
            {
                "resourceType": "ServiceRequest",
                "id": f"o{i:03d}",
                "meta": meta,
                "status": "active",
                "intent": "order",
                "subject": subject,
                "authoredOn": "2025-03-01T08:00:00+08:00",
            }
        )
        if i % 6:
            based = [{"reference": f"ServiceRequest/o{i:03d}"}] if i % 9 else []
            out.append(
                {
                    "resourceType": "DiagnosticReport",
                    "id": f"r{i:03d}",
                    "meta": meta,
                    "status": "final",
                    "code": {"text": "血常规"},
                    "subject": subject,
                    "basedOn": based,
                    "effectiveDateTime": "2025-03-01T09:00:00+08:00",
                    "issued": "2025-03-01T10:00:00+08:00" if i % 8 else "2025-03-04T10:00:00+08:00",
                }
            )
            out.append(
                {
                    "resourceType": "Observation",
                    "id": f"x{i:03d}",
                    "meta": meta,
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
                    "subject": subject,
                    "basedOn": based,
                    **({"valueQuantity": {"value": 139, "unit": "g/L"}} if i % 3 else {}),
                }
            )
    return out


def load(store: ResourceStore, resources: list[dict[str, Any]]) -> None:
    """In small transactions, each in reverse order, so that each type's keys interleave with the others'."""
    for start in range(0, len(resources), 7):
        chunk = resources[start : start + 7]

        def work(tx: Transaction, chunk: list[dict[str, Any]] = chunk) -> None:
            for body in reversed(chunk):
                tx.update(body, body["id"])

        store.transaction(Actor.system("tests"), work)


def same(one: RunResult, many: RunResult) -> None:
    assert one.workers == 1
    assert many.workers == 2
    assert many.findings == one.findings
    assert many.scorecard == one.scorecard
    assert many.resources == one.resources


def test_two_workers_find_what_one_process_finds(store: ResourceStore, settings: Settings) -> None:
    resources = hospital(60)
    load(store, resources)
    one = run_batch(store, QualitySettings(), record=False, workers=1)
    many = run_batch(store, QualitySettings(), platform=settings, workers=2, parallel_min=0, part_rows=20)
    same(one, many)
    rules = {f.rule_id for f in one.findings}
    assert {"patient-registered-once", "order-has-result", "result-has-order", "diagnosis-consistent-with-sex"} <= rules
    assert {"patient-name-required", "birth-date-not-in-future", "observation-value-required"} <= rules
    source_of = {(r["resourceType"], r["id"]): r["meta"]["source"] for r in resources}
    assert all(f.source == source_of[(f.res_type, f.res_id)] for f in many.findings)  # set rules' findings too
    assert many.run_id is not None  # recorded as before


def test_the_settings_choose_the_number_of_workers(store: ResourceStore, settings: Settings) -> None:
    load(store, hospital(12))
    quality = QualitySettings(batch_workers=2)
    one = run_batch(store, QualitySettings(batch_workers=1), record=False, platform=settings, parallel_min=0)
    many = run_batch(store, quality, record=False, platform=settings, parallel_min=0, part_rows=5)
    same(one, many)
    # without the platform settings a worker could not open the database: one process
    assert run_batch(store, quality, record=False, parallel_min=0).workers == 1


def _local_check(resource: dict[str, Any], _ctx: Context) -> Iterator[str]:
    if not resource.get("name"):
        yield "no name"


def test_rules_a_worker_cannot_receive_run_in_one_process(store: ResourceStore, settings: Settings) -> None:
    load(store, hospital(12))
    closure = ResourceRule(
        "local-name", Dimension.COMPLETENESS, Severity.WARNING, "t", "d", ("Patient",), lambda r, c: _local_check(r, c)
    )
    found = run_batch(
        store,
        QualitySettings(),
        rules=[*all_rules(), closure],
        record=False,
        platform=settings,
        workers=2,
        parallel_min=0,
    )
    assert found.workers == 1
    assert any(f.rule_id == "local-name" for f in found.findings)
    registered_once = rule("patient-registered-once")
    assert isinstance(registered_once, SetRule)
    no_merge = replace(registered_once, merge=None)
    rules = [r for r in all_rules() if r.id != no_merge.id] + [no_merge]
    alone = run_batch(store, QualitySettings(), rules=rules, record=False, platform=settings, workers=2, parallel_min=0)
    assert alone.workers == 1
    assert any(f.rule_id == "patient-registered-once" for f in alone.findings)


def _fhir() -> list[ResourceRule | SetRule]:
    return [r for r in all_rules() if isinstance(r, ResourceRule | SetRule)]


def test_parts_checked_here_and_in_a_spawned_worker_join_into_what_one_process_finds(
    store: ResourceStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's own process checks parts beside the spawned worker; with the worker up before the first part is
    handed out, both check some of the parts and the joined result is the same as one process's."""
    load(store, hospital(60))
    actor = Actor.system("quality")
    one = batch.scan_store(store, actor, Context(QualitySettings()), _fhir())
    monkeypatch.setattr(batch, "WAIT_FOR_WORKERS", True)
    ctx = Context(QualitySettings())
    many = batch.scan_store(store, actor, ctx, _fhir(), workers=2, platform=settings, parallel_min=0, part_rows=12)
    assert (one.workers, many.workers) == (1, 2)
    assert many.parts_here > 0
    assert many.parts_spawned > 0
    assert many.findings == one.findings
    assert {t: c for t, c in many.per_type_source.items() if c} == {t: c for t, c in one.per_type_source.items() if c}
    for r in _fhir():
        if isinstance(r, SetRule):
            assert list(r.conclude(many.states[r.id])) == list(r.conclude(one.states[r.id]))
    assert len(ctx.patients) == 60  # every patient's facts reached this process, whoever checked them
