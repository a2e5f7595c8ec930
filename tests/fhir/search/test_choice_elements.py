"""The generated choice-element names agree with the R4B models they are generated from."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from huitong.fhir.search._choice_elements import CHOICE_ELEMENTS
from huitong.fhir.search.extract import evaluate

ROOT = Path(__file__).resolve().parents[3]


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("gen_choice_elements", ROOT / "scripts" / "gen_choice_elements.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_file_matches_the_models() -> None:
    gen = _generator()
    names = gen.choice_elements()  # type: ignore[attr-defined]
    assert frozenset(names) == CHOICE_ELEMENTS
    assert (ROOT / "src/huitong/fhir/search/_choice_elements.py").read_text(encoding="utf-8") == gen.render(names)  # type: ignore[attr-defined]


def test_choice_and_plain_elements_are_found() -> None:
    obs = {
        "resourceType": "Observation",
        "effectiveDateTime": "2026-01-02",
        "valueQuantity": {"value": 1.5, "unit": "mmol/L"},
        "status": "final",
        "statusReason": None,
    }
    assert evaluate("Observation.effective", obs) == [("2026-01-02", "dateTime")]
    assert evaluate("Observation.value.ofType(Quantity)", obs) == [({"value": 1.5, "unit": "mmol/L"}, "Quantity")]
    assert evaluate("Observation.status", obs) == [("final", None)]
    # a plain element is never matched by prefix: "statusHistory" is not "status"
    assert evaluate("Encounter.status", {"resourceType": "Encounter", "statusHistory": [{"status": "x"}]}) == []
