"""The ``candidate`` test of the rules that read patients' facts: a batch run keeps for the check after its pass only
the resources a candidate test keeps, so the test must never turn away a resource that some patient's facts would
make the rule fail — over every sex and age, for ICD-10 codes drawn at random and for the tiny synthetic hospital —
and the batch must find the same with the tests as without them."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitong.quality import bench, dictionaries
from huitong.quality.batch import MIXED, check_deferred, check_part
from huitong.quality.registry import all_rules
from huitong.quality.rule import Context, PatientFacts, ResourceRule, SetRule
from huitong.quality.rules.diagnosis_code_format import ICD10_SYSTEMS
from huitong.settings import QualitySettings

TODAY = date(2024, 6, 30)
#: every sex FHIR knows (and none), every age that matters to a rule (newborn, infant, child, adult, old, unknown)
FACTS = [
    PatientFacts(gender, born)
    for gender in ("male", "female", "other", "unknown", None)
    for born in (TODAY, TODAY - timedelta(days=200), TODAY - timedelta(days=3000), date(1950, 1, 1), None)
]
ICD10 = sorted(ICD10_SYSTEMS)[0]


def _needing() -> list[ResourceRule]:
    return [r for r in all_rules() if isinstance(r, ResourceRule) and r.needs_patients]


def test_every_built_in_rule_reading_patients_has_a_candidate_test() -> None:
    assert _needing()
    for rule in _needing():
        assert rule.candidate is not None, rule.id


def _fails_for_some_patient(rule: ResourceRule, body: dict[str, Any]) -> bool:
    for facts in FACTS:
        ctx = Context(QualitySettings(), patients={"p": facts})
        if list(rule.check(body, ctx)):
            return True
    return False


def _condition(codes: list[str], recorded: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Condition",
        "id": "c",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": ICD10, "code": c} for c in codes]},
    }
    if recorded is not None:
        body["recordedDate"] = recorded
    return body


_CODE = st.builds(
    lambda letter, digits, tail: f"{letter}{digits}{tail}",
    st.sampled_from("ABCDEGNOPZ"),
    st.integers(0, 99).map(lambda n: f"{n:02d}"),
    st.sampled_from(["", ".0", ".1", ".4", ".9", "x001"]),
)


@given(codes=st.lists(_CODE, max_size=3), recorded=st.sampled_from([None, "2024-06-30", "2023-01-01", "bad"]))
def test_a_candidate_test_never_turns_away_a_resource_the_rule_would_fail(
    codes: list[str], recorded: str | None
) -> None:
    body = _condition(codes, recorded)
    for rule in _needing():
        assert rule.candidate is not None
        if _fails_for_some_patient(rule, body):
            assert rule.candidate(body), (rule.id, codes)


def test_candidate_tests_keep_what_they_must_and_turn_away_the_rest() -> None:
    tests = {r.id: r.candidate for r in _needing()}
    sex, age = tests["diagnosis-consistent-with-sex"], tests["diagnosis-consistent-with-age"]
    assert sex is not None and age is not None
    assert sex(_condition(["O80"], None)) and sex(_condition(["J18.9", "N40"], None))
    assert not sex(_condition(["J18.9", "I10"], None))
    assert age(_condition(["P07.3"], None)) and not age(_condition(["J18.9"], None))
    other_system = _condition(["O80"], None)
    other_system["code"]["coding"][0]["system"] = "http://snomed.info/sct"
    assert not sex(other_system)  # neither rule reads codes of other systems


@pytest.mark.slow
def test_the_batch_finds_the_same_with_candidate_tests_as_without(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = bench.prepare(
        Path(tmp_path_factory.mktemp("quality-candidates")), "tiny", 1, 2024, dict.fromkeys(bench.FAMILY, 0.2)
    )
    ctx = Context(QualitySettings(), catalogues=dictionaries.load(data / "master"))
    repo, _found, _timing = bench.ingest(data, ctx)
    # the synthetic hospital's diagnoses agree with their patients: two that do not, before their patient in the scan
    crafted = [
        _condition(["O80.0"], "2024-01-02") | {"id": "cand-c1", "subject": {"reference": "Patient/cand-p"}},
        _condition(["J18.9", "P07.3"], "2024-01-02") | {"id": "cand-c2", "subject": {"reference": "Patient/cand-p"}},
        {"resourceType": "Patient", "id": "cand-p", "gender": "male", "birthDate": "1970-05-01"},
    ]
    bodies = [*crafted, *repo.bodies.values()]
    items = [(b["id"], orjson.dumps(b), n, b["resourceType"]) for n, b in enumerate(bodies)]
    with_tests = [r for r in all_rules() if isinstance(r, ResourceRule | SetRule)]
    without = [dataclasses.replace(r, candidate=None) if isinstance(r, ResourceRule) else r for r in with_tests]
    results = []
    for rules in (with_tests, without):
        run = Context(ctx.settings, catalogues=ctx.catalogues)
        states = {r.id: r.start(run) for r in rules if isinstance(r, SetRule)}
        part = check_part(MIXED, items, run, rules, states)
        results.append((part, part.findings + check_deferred(part.deferred, run, rules)))
    (kept, found), (every, expected) = results
    assert found == expected
    mine = {(f.rule_id, f.res_id) for f in expected if f.res_id.startswith("cand-c")}
    assert mine == {("diagnosis-consistent-with-sex", "cand-c1"), ("diagnosis-consistent-with-age", "cand-c2")}
    conditions = sum(1 for b in bodies if b["resourceType"] == "Condition")
    assert len(every.deferred) == conditions
    assert 0 < len(kept.deferred) < conditions / 4  # most diagnoses are neither sex-specific nor perinatal
