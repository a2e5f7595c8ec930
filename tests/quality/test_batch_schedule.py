"""How a batch run split over processes schedules its parts — the types whose rules do not read patients' facts
are checked without waiting for the last patient, the results are still joined in scan order — and the patients'
read path when field encryption is on or off (encrypted values opened, plain rows handed on as they are)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, cast

import orjson
import pytest
import sqlalchemy as sa

from huitong.db.schema import resource
from huitong.quality import batch
from huitong.quality.registry import all_rules
from huitong.quality.rule import Context, Dimension, ResourceRule, SetRule, Severity
from huitong.quality.run import check_all, run_batch
from huitong.security.protection import is_sealed_content
from huitong.services import Services, open_services
from huitong.settings import QualitySettings, Settings
from tests.conftest import make_settings
from tests.quality.test_batch_workers import RID, hospital, load


def _fhir() -> list[ResourceRule | SetRule]:
    return [r for r in all_rules() if isinstance(r, ResourceRule | SetRule)]


def test_rules_reading_patients_check_their_resources_after_the_pass() -> None:
    """In a mixed part a diagnosis can come before its patient: the rules about diagnoses against sex and age keep
    the resource for later; the other rules check it at once, and a hospital's own rule reads patients unless it
    says otherwise."""
    man = {
        "resourceType": "Patient",
        "id": "m1",
        "name": [{"family": "李"}],
        "gender": "male",
        "birthDate": "1970-01-01",
    }
    pregnant = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/m1"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "O80x"}]},
    }
    seen: list[str] = []

    def mine(body: dict[str, Any], _ctx: Context) -> tuple[str, ...]:
        seen.append(body["id"])
        return ()

    own = ResourceRule("own", Dimension.CONSISTENCY, Severity.WARNING, "t", "d", ("Observation",), mine)
    assert own.needs_patients
    rules = [*_fhir(), own]
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", "valueString": "x"}
    items = [
        ("c1", orjson.dumps(pregnant), 1, "Condition"),
        ("o1", orjson.dumps(obs), 2, "Observation"),
        ("m1", orjson.dumps(man), 3, "Patient"),
    ]
    ctx = Context(QualitySettings())
    states = {r.id: r.start(ctx) for r in rules if isinstance(r, SetRule)}
    part = batch.check_part(batch.MIXED, items, ctx, rules, states)
    assert [(t, rid) for t, rid, _raw in part.deferred] == [("Condition", "c1"), ("Observation", "o1")]
    assert {f.rule_id for f in part.findings} == {"diagnosis-code-format"}  # O80x: checked at once
    assert seen == [] and "m1" in ctx.patients
    later = batch.check_deferred(part.deferred, ctx, rules)
    assert [(f.rule_id, f.res_id) for f in later] == [("diagnosis-consistent-with-sex", "c1")]
    assert seen == ["o1"]
    assert part.per_type == {"Condition": {"unknown": 1}, "Observation": {"unknown": 1}, "Patient": {"unknown": 1}}


def test_results_come_back_in_scan_order_whoever_checks_them() -> None:
    tasks: list[batch.Task] = [(0, 1), (1, 2), (2, 3)]
    checked: list[int] = []

    def here(task: batch.Task) -> batch.PartResult:
        checked.append(tasks.index(task))
        return batch.PartResult(str(task[0]))

    no_pool = cast(ProcessPoolExecutor, None)  # no spawned worker: every part is checked here
    assert [p.rtype for p in batch._share(no_pool, [], tasks, here)] == ["0", "1", "2"]
    assert checked == [0, 1, 2]


@pytest.fixture(params=["on", "off"])
def protected(request: pytest.FixtureRequest, db_url: str) -> Iterator[tuple[Services, Settings]]:
    settings = make_settings(db_url, security={"field_encryption": request.param})
    opened = open_services(settings)
    yield opened, settings
    opened.close()


def test_encrypted_patients_are_checked_as_plain_ones(protected: tuple[Services, Settings]) -> None:
    services, settings = protected
    resources = hospital(40)
    for body in resources:  # an invalid resident ID here and there, beside the valid shared one
        if body["resourceType"] == "Patient" and body["id"].endswith("3"):
            body["identifier"].append({"system": RID, "value": "110105198005170028"})
    load(services.store, resources)
    with services.db.read() as conn:
        stored = [r for (r,) in conn.execute(sa.select(resource.c.content).where(resource.c.res_type == "Patient"))]
    sealed = sum(is_sealed_content(c) for c in stored)
    on = services.store.protector is not None and services.store.protector.enabled
    assert (sealed > 0) == on

    plain = {(b["resourceType"], b["id"]): b for b in resources}

    def scan(rtype: str) -> Iterator[tuple[str, bytes]]:
        for (t, rid), body in sorted(plain.items()):
            if t == rtype:
                yield rid, orjson.dumps(body)

    expected, _tally = check_all(scan, Context(QualitySettings()))
    one = run_batch(services.store, QualitySettings(), record=False, workers=1)
    many = run_batch(
        services.store, QualitySettings(), record=False, platform=settings, workers=2, parallel_min=0, part_rows=8
    )
    assert many.workers == 2
    assert many.findings == one.findings
    assert gc.isenabled()  # paused during the scan, on again after it

    def key(f: Any) -> tuple[str, str, str, str]:
        return (f.rule_id, f.res_type, f.res_id, f.detail)

    assert sorted(map(key, one.findings)) == sorted(map(key, expected))
    assert any(f.rule_id == "resident-id-check-character" for f in one.findings)


def test_a_part_pauses_the_cyclic_collector_and_leaves_it_as_it_was() -> None:
    seen: list[bool] = []

    def record(_body: dict[str, Any], _ctx: Context) -> tuple[str, ...]:
        seen.append(gc.isenabled())
        return ()

    probe = ResourceRule("probe", Dimension.VALIDITY, Severity.WARNING, "t", "d", ("Observation",), record)
    items = [(f"x{i}", orjson.dumps({"resourceType": "Observation", "id": f"x{i}"})) for i in range(3)]
    assert gc.isenabled()
    part = batch.check_part("Observation", items, Context(QualitySettings()), [probe], {})
    assert sum(part.per_source.values()) == 3
    assert seen == [False, False, False]
    assert gc.isenabled()
    gc.disable()
    try:
        batch.check_part("Observation", items, Context(QualitySettings()), [probe], {})
        assert not gc.isenabled()  # switched off by someone else: stays off
    finally:
        gc.enable()
    with pytest.raises(RuntimeError):
        batch.check_part("Observation", iter(_failing()), Context(QualitySettings()), [probe], {})
    assert gc.isenabled()  # back on after a failing part too


def _failing() -> Iterator[batch.Item]:
    yield "x0", b"{}"
    raise RuntimeError("the database went away")
