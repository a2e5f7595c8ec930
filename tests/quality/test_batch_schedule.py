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
from hypothesis import given
from hypothesis import strategies as st

from huitong.db.schema import resource
from huitong.quality import batch
from huitong.quality.registry import all_rules
from huitong.quality.rule import Context, Dimension, PatientFacts, ResourceRule, SetRule, Severity
from huitong.quality.run import check_all, run_batch
from huitong.security.protection import is_sealed_content
from huitong.services import Services, open_services
from huitong.settings import QualitySettings, Settings
from tests.conftest import make_settings
from tests.quality.test_batch_workers import RID, hospital, load


def _fhir() -> list[ResourceRule | SetRule]:
    return [r for r in all_rules() if isinstance(r, ResourceRule | SetRule)]


def test_only_rules_reading_patients_make_a_type_wait_for_them() -> None:
    rules = _fhir()
    assert batch.waits_for_patients(rules, "Condition")  # diagnoses against sex and age
    for rtype in ("Patient", "Encounter", "Observation", "DiagnosticReport", "ServiceRequest"):
        assert not batch.waits_for_patients(rules, rtype), rtype
    # a hospital's own rule reads patients unless it says otherwise
    own = ResourceRule("own", Dimension.CONSISTENCY, Severity.WARNING, "t", "d", ("Observation",), lambda r, c: ())
    assert own.needs_patients
    assert batch.waits_for_patients([*rules, own], "Observation")


def test_blocked_parts_wait_and_results_come_back_in_scan_order() -> None:
    """Parts 0 and 1 are patients, part 2 waits for every patient, part 3 does not: checked here in the order
    0, 3, 1, 2 (part 2 skipped until part 1 has been handed back), yielded 0, 1, 2, 3."""
    tasks: list[batch.Task] = [
        ("Patient", 0, 1, None),
        ("Patient", 1, 2, None),
        ("Condition", 0, 1, "f"),
        ("Observation", 0, 1, None),
    ]
    checked: list[int] = []
    known: list[int] = []

    def here(task: batch.Task) -> batch.PartResult:
        checked.append(tasks.index(task))
        return batch.PartResult(task[0])

    def blocked(i: int) -> bool:
        return tasks[i][0] == "Condition" and len(known) < 2

    no_pool = cast(ProcessPoolExecutor, None)  # no spawned worker: every part is checked here
    yielded: list[str] = []
    for part in batch._share(no_pool, [], tasks, [0, 2, 3, 1], here, blocked):
        yielded.append(part.rtype)
        if part.rtype == "Patient":
            known.append(len(known))
    assert checked == [0, 3, 1, 2]
    assert yielded == ["Patient", "Patient", "Condition", "Observation"]


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


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=20),
        st.builds(
            PatientFacts,
            st.one_of(st.none(), st.sampled_from(["male", "female", "other", "unknown"]), st.text(max_size=5)),
            st.one_of(st.none(), st.dates()),
        ),
        max_size=30,
    )
)
def test_patients_facts_reach_the_workers_as_they_are(facts: dict[str, PatientFacts]) -> None:
    assert batch.unpack_facts(batch.pack_facts(facts)) == facts


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
