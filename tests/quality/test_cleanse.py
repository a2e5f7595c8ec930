"""Cleansing at ingest: flag first, then fix units and names, source system filled in, quarantine decided."""

from __future__ import annotations

from typing import Any

from huitong.quality.cleanse import at_ingest
from huitong.quality.rule import Catalogues, Context
from huitong.quality.run import check_resources
from huitong.settings import QualitySettings

CATALOGUES = Catalogues(lab_units={"718-7": "g/L"}, lab_alt_units={"718-7": ("g/dL", 0.1)})


def hb(value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "hb1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


def test_unit_is_flagged_then_converted_with_the_received_value_kept() -> None:
    obs = hb(13.9, "g/dL")
    done = at_ingest([obs], Context(QualitySettings(), catalogues=CATALOGUES), source="LIS")
    assert [f.rule_id for f in done.findings] == ["observation-unit-expected"]
    assert obs["valueQuantity"] == {"value": 139.0, "unit": "g/L", "system": "http://unitsofmeasure.org", "code": "g/L"}
    assert "received 13.9 g/dL" in obs["note"][0]["text"] and obs["meta"]["source"] == "LIS"
    assert done.fixes == ["Observation/hb1: 13.9 g/dL → 139.0 g/L"] and done.quarantine == []
    assert check_resources([obs], Context(QualitySettings(), catalogues=CATALOGUES)) == []


def test_a_result_in_the_right_unit_and_an_unknown_unit_are_left_alone() -> None:
    good, odd = hb(139, "g/L"), hb(8.6, "mmol/L")
    done = at_ingest([good, odd], Context(QualitySettings(), catalogues=CATALOGUES))
    assert good["valueQuantity"]["value"] == 139 and odd["valueQuantity"]["value"] == 8.6 and done.fixes == []
    assert "meta" not in good


def test_names_are_tidied_and_errors_that_remain_quarantine() -> None:
    patient = {"resourceType": "Patient", "id": "p", "name": [{"family": " 王\u3000", "given": ["丽 "]}]}
    done = at_ingest([patient], Context(QualitySettings()), source="HIS")
    assert patient["name"] == [{"family": "王", "given": ["丽"]}] and done.fixes == ["Patient/p: names tidied"]
    assert {f.rule_id for f in done.quarantine} == {"patient-gender-required", "patient-birthdate-required"}
    assert patient["meta"] == {"source": "HIS"}


def test_ingested_resources_name_their_sending_system() -> None:
    from huitong.ingest.hl7v2.parse import parse_message
    from huitong.ingest.mapping import map_to_fhir

    raw = (
        "MSH|^~\\&|LIS|HUITONG|ESB|HUITONG|20240104131800||ADT^A04^ADT_A01|C1|P|2.5\r"
        "PID|1||L1^^^LIS&2.16.156.10011.0.99999.2&ISO^PI||王^丽||19800517|F\r"
        "PV1|1|O|||||||||0101||||||||MZ1^^^HIS^VN\r"
    )
    resources = map_to_fhir(parse_message(raw.encode())).resources
    assert resources and all(r["meta"]["source"] == "LIS" for r in resources)
