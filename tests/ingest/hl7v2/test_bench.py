"""The parse benchmark runs and reports its fields (no timing assertions: figures live in docs)."""

from __future__ import annotations

from huitong.fhir.validate import check_full
from huitong.ingest.hl7v2.bench import run, sample_messages
from huitong.ingest.hl7v2.parse import parse_message
from huitong.ingest.hl7v2.to_fhir import map_message


def test_benchmark_messages_map_cleanly() -> None:
    for data in sample_messages(40):
        mapping = map_message(parse_message(data))
        assert mapping.warnings == []
        for resource in mapping.resources:
            check_full(resource)


def test_benchmark_reports_its_fields() -> None:
    result = run(count=20, rounds=1, baseline_count=5)
    for key in ("parse_msgs_per_s", "map_msgs_per_s", "baseline_msgs_per_s", "ratio", "plain_split_msgs_per_s"):
        assert result[key] > 0
