"""The elements a batch run decodes: each rule declares the top-level elements it reads (``fields``), the run builds
only those of each resource — and every built-in rule finds on them exactly what it finds on the whole resource,
over the tiny synthetic hospital with a fifth of its records given defects."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitong.empi.golden import GOLDEN_TAG
from huitong.empi.resident_id import check_character
from huitong.quality import bench, dictionaries
from huitong.quality.batch import check_part
from huitong.quality.decode import decoded_fields, decoder, patient_facts
from huitong.quality.registry import all_rules
from huitong.quality.rule import ALWAYS_DECODED, Context, Dimension, ResourceRule, SetRule, Severity
from huitong.settings import QualitySettings

FhirRule = ResourceRule | SetRule


def _fhir() -> list[FhirRule]:
    return [r for r in all_rules() if isinstance(r, ResourceRule | SetRule)]


def test_every_built_in_rule_declares_the_elements_it_reads() -> None:
    for rule in _fhir():
        assert rule.fields, rule.id
    assert decoded_fields("Observation", _fhir()) is not None
    assert {"gender", "birthDate", *ALWAYS_DECODED} <= set(decoded_fields("Patient", _fhir()) or ())


def test_one_rule_without_fields_makes_its_types_decode_whole() -> None:
    greedy = ResourceRule("own", Dimension.VALIDITY, Severity.WARNING, "t", "d", ("Observation",), lambda r, c: ())
    assert greedy.fields is None
    assert decoded_fields("Observation", [*_fhir(), greedy]) is None
    assert decoded_fields("Encounter", [*_fhir(), greedy]) is not None  # other types keep their projection


def test_a_rule_sees_what_it_declares_and_one_without_fields_sees_everything() -> None:
    seen: dict[str, dict[str, Any]] = {}

    def keep(rule_id: str) -> Any:
        def check(body: dict[str, Any], _ctx: Context) -> tuple[str, ...]:
            seen[rule_id] = body
            return ()

        return check

    lean = ResourceRule(
        "lean", Dimension.VALIDITY, Severity.WARNING, "t", "d", ("Observation",), keep("lean"), fields=("status",)
    )
    body = {
        "resourceType": "Observation",
        "id": "o1",
        "meta": {"source": "LIS"},
        "status": "final",
        "identifier": [{"value": "x"}],
        "text": {"status": "generated", "div": "<div>long narrative</div>"},
    }
    items = [("o1", orjson.dumps(body))]
    part = check_part("Observation", items, Context(QualitySettings()), [lean], {})
    assert seen["lean"] == {k: body[k] for k in ("resourceType", "id", "meta", "status")}
    assert part.per_source == {"LIS": 1}  # the source is read from meta all the same
    greedy = ResourceRule("greedy", Dimension.VALIDITY, Severity.WARNING, "t", "d", ("Observation",), keep("greedy"))
    check_part("Observation", items, Context(QualitySettings()), [lean, greedy], {})
    assert seen["greedy"] == body and seen["lean"] == body


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
#: Element names (FHIR's are ASCII) and keys no resource should have
_KEYS = st.sampled_from(["resourceType", "id", "meta", "status", "code", "valueQuantity", "subject", "x"])
_ODD = st.sampled_from(["汉字", "", "va lue", "_birthDate"]) | st.text(max_size=6)


@given(st.dictionaries(_KEYS | _ODD, _JSON, max_size=8), st.sets(_KEYS, max_size=5))
def test_a_projection_is_the_whole_resource_cut_to_its_elements(body: dict[str, Any], wanted: set[str]) -> None:
    fields = tuple(sorted(wanted))
    raw = orjson.dumps(body)
    cut = {k: v for k, v in body.items() if k in wanted}
    assert decoder(fields)(raw) == cut
    assert decoder(fields)(raw.decode()) == cut  # text, as PostgreSQL hands it over
    assert decoder(None)(raw) == body


@given(st.dictionaries(_KEYS | _ODD, _JSON, max_size=8), st.sets(_KEYS | _ODD, max_size=5))
def test_names_other_than_elements_decode_the_whole_resource(body: dict[str, Any], wanted: set[str]) -> None:
    got = decoder(tuple(sorted(wanted)))(orjson.dumps(body))
    if all(w.isascii() and w.isidentifier() for w in wanted):
        assert got == {k: v for k, v in body.items() if k in wanted}
    else:
        assert got == body


def test_what_the_projection_cannot_decode_is_decoded_whole_and_what_nothing_can_decode_raises() -> None:
    assert decoder(("id",))(b"[1, 2]") == [1, 2]  # not an object: decoded as before, for the rule to judge
    with pytest.raises(orjson.JSONDecodeError):
        decoder(("id",))(b'{"id": "broken')


def _resident_id(born: str, sequence: str) -> str:
    base = f"110101{born.replace('-', '')}{sequence}"
    return base + check_character(base)


def _patient(pid: str, **more: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "meta": {"source": "HIS"}, **more}


#: Cases the synthetic hospital does not make, each a path of some rule through an element it reads.
EXTRA: list[dict[str, Any]] = [
    # a newborn's perinatal diagnosis, recorded at one month: only its recorded date keeps it from being a finding
    _patient("q-baby", gender="female", birthDate="2024-01-01"),
    {
        "resourceType": "Condition",
        "id": "q-perinatal",
        "meta": {"source": "EMR"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "P07.3"}]},
        "subject": {"reference": "Patient/q-baby"},
        "recordedDate": "2024-02-01",
    },
    # a resident ID of a woman on a man's record (the birth date agrees)
    _patient(
        "q-sex",
        gender="male",
        birthDate="1980-05-01",
        identifier=[{"system": "urn:oid:2.16.156.10011.1.3", "value": _resident_id("1980-05-01", "002")}],
    ),
    # two registrations of one person in one system, the later one replaced by the first, one inactive
    *[
        _patient(
            pid,
            gender="male",
            birthDate="1975-03-02",
            name=[{"family": "王", "given": ["伟"]}],
            identifier=[
                {
                    "system": "urn:oid:2.16.156.10011.1.3",
                    "value": _resident_id("1975-03-02", "011"),
                    "type": {"coding": [{"code": "NNCHN"}]},
                },
                {"system": "urn:his:mrn", "value": pid, "type": {"coding": [{"code": "MR"}]}},
            ],
            **more,
        )
        for pid, more in (
            ("q-dup1", {}),
            ("q-dup2", {"link": [{"type": "replaced-by", "other": {"reference": "Patient/q-dup1"}}]}),
            ("q-dup3", {"active": False}),
        )
    ],
    _patient("q-future", gender="female", birthDate="2999-01-01"),
    # golden records of the EMPI: one whose sex differs from a record it links, one retired (merged away)
    *[
        {
            "resourceType": "Patient",
            "id": pid,
            "meta": {"tag": [GOLDEN_TAG]},
            "active": active,
            "gender": "female",
            "birthDate": "1975-03-02",
            "link": [{"type": "seealso", "other": {"reference": "Patient/q-dup1"}}],
        }
        for pid, active in (("q-person", True), ("q-retired", False))
    ],
    # final results whose value is in a component, or absent for a stated reason
    {
        "resourceType": "Observation",
        "id": "q-bp",
        "meta": {"source": "EMR"},
        "status": "final",
        "code": {"text": "BP"},
        "component": [{"code": {"text": "systolic"}, "valueQuantity": {"value": 120, "unit": "mmHg"}}],
    },
    {
        "resourceType": "Observation",
        "id": "q-absent",
        "meta": {"source": "LIS"},
        "status": "final",
        "code": {"text": "K"},
        "dataAbsentReason": {"coding": [{"code": "error"}]},
    },
    # the newborn's diagnosis again, dated by its onset
    {
        "resourceType": "Condition",
        "id": "q-onset",
        "meta": {"source": "EMR"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "P07.3"}]},
        "subject": {"reference": "Patient/q-baby"},
        "onsetDateTime": "2024-01-20",
    },
    # a diagnosis code that is not ICD-10 shaped
    {
        "resourceType": "Condition",
        "id": "q-shape",
        "meta": {"source": "HIS"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "40.1"}]},
        "subject": {"reference": "Patient/q-sex"},
    },
    # an order withdrawn, never resulted (no open loop); an inpatient stay in progress with no bed
    {
        "resourceType": "ServiceRequest",
        "id": "q-revoked",
        "meta": {"source": "HIS"},
        "status": "revoked",
        "authoredOn": "2020-01-01T08:00:00+08:00",
    },
    {
        "resourceType": "Encounter",
        "id": "q-ward",
        "meta": {"source": "HIS"},
        "status": "in-progress",
        "class": {"code": "IMP"},
        "period": {"start": "2024-05-01T08:00:00+08:00"},
    },
    # a report collected over a period, issued three days later
    {
        "resourceType": "DiagnosticReport",
        "id": "q-late",
        "meta": {"source": "LIS"},
        "status": "final",
        "code": {"text": "culture"},
        "effectivePeriod": {"start": "2024-05-01T08:00:00+08:00"},
        "issued": "2024-05-04T08:00:00+08:00",
    },
    # a panel: a final result whose values are its members
    {
        "resourceType": "Observation",
        "id": "q-panel",
        "meta": {"source": "LIS"},
        "status": "final",
        "code": {"text": "CBC"},
        "hasMember": [{"reference": "Observation/q-hb"}],
    },
]


@cache
def _corpus(work: str) -> tuple[list[dict[str, Any]], Context]:
    data = bench.prepare(Path(work), "tiny", 1, 2024, dict.fromkeys(bench.FAMILY, 0.2))
    ctx = Context(QualitySettings(), catalogues=dictionaries.load(data / "master"))
    repo, _found, _timing = bench.ingest(data, ctx)
    bodies = [*repo.bodies.values(), *EXTRA]
    # a result in another unit than the lab dictionary's for its LOINC code
    loinc, unit = next(iter(ctx.catalogues.lab_units.items()))
    bodies.append(
        {
            "resourceType": "Observation",
            "id": "q-unit",
            "meta": {"source": "LIS"},
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "valueQuantity": {
                "value": 1,
                "unit": f"{unit}x",
                "system": "http://unitsofmeasure.org",
                "code": f"{unit}x",
            },
        }
    )
    ctx.patients = {b["id"]: patient_facts(b) for b in bodies if b["resourceType"] == "Patient"}
    return bodies, ctx


@pytest.mark.slow
def test_every_built_in_rule_finds_the_same_on_its_elements_as_on_the_whole_resource(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    bodies, ctx = _corpus(str(tmp_path_factory.mktemp("quality-fields")))
    found = 0
    for rule in _fhir():
        assert rule.fields is not None
        cut = decoder(tuple(sorted({*ALWAYS_DECODED, *rule.fields})))  # this rule's elements alone
        mine = [b for b in bodies if b["resourceType"] in rule.reads]
        assert mine, rule.id
        if isinstance(rule, ResourceRule):
            for body in mine:
                whole = list(rule.check(body, ctx))
                assert list(rule.check(cut(orjson.dumps(body)), ctx)) == whole, (rule.id, body["id"])
                found += bool(whole)
        else:
            states = rule.start(ctx), rule.start(ctx)
            for body in mine:
                rule.observe(states[0], body)
                rule.observe(states[1], cut(orjson.dumps(body)))
            whole = list(rule.conclude(states[0]))
            assert list(rule.conclude(states[1])) == whole, rule.id
            found += len(whole)
    assert found > 100  # the corpus has defects for the rules to find
