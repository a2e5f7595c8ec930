"""Golden tests: ``tests/data/hl7v2/<case>/input.hl7`` maps to ``expected/*.json`` exactly.

Regenerate only on purpose: ``HUITONG_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/ingest/hl7v2/test_golden.py``
then review the diff.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from huitong.fhir.validate import check_full
from huitong.ingest.hl7v2.parse import parse_message
from huitong.ingest.hl7v2.to_fhir import Mapping, map_message

CASES = Path(__file__).resolve().parents[2] / "data" / "hl7v2"
REGENERATE = os.environ.get("HUITONG_REGENERATE_GOLDEN") == "1"


def _outputs(mapping: Mapping) -> dict[str, Any]:
    out: dict[str, Any] = {f"{r['resourceType']}-{r['id']}.json": r for r in mapping.resources}
    out["mapping.json"] = {
        "message_type": mapping.message_type,
        "patient": dataclasses.asdict(mapping.patient) if mapping.patient else None,
        "merge": dataclasses.asdict(mapping.merge) if mapping.merge else None,
        "critical": mapping.critical,
        "warnings": mapping.warnings,
        "counts": mapping.counts(),
    }
    return out


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_golden(case: str) -> None:
    folder = CASES / case
    mapping = map_message(parse_message((folder / "input.hl7").read_bytes()))
    for resource in mapping.resources:
        check_full(resource)
    outputs = {name: _dump(value) for name, value in _outputs(mapping).items()}
    expected_dir = folder / "expected"
    if REGENERATE:
        expected_dir.mkdir(exist_ok=True)
        for old in expected_dir.glob("*.json"):
            old.unlink()
        for name, text in outputs.items():
            (expected_dir / name).write_text(text, encoding="utf-8")
    expected = {p.name: p.read_text(encoding="utf-8") for p in expected_dir.glob("*.json")}
    assert sorted(outputs) == sorted(expected)
    for name, text in outputs.items():
        assert text == expected[name], f"{case}/{name} differs (regenerate with HUITONG_REGENERATE_GOLDEN=1)"


def test_resources_share_no_objects() -> None:
    mapping = map_message(parse_message((CASES / "oru_r01_critical" / "input.hl7").read_bytes()))
    first, second, *_ = (r for r in mapping.resources if r["resourceType"] == "Observation")
    first["subject"]["reference"] = "Patient/changed"
    assert second["subject"]["reference"] != "Patient/changed"
