"""Mapping fuzz: whatever a parseable message holds, ``map_message`` raises only the engine's errors (never
its internal-error guard) and every resource it returns is valid R4."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huitong.fhir.validate import check_full
from huitong.ingest.errors import Hl7ParseError, IngestError
from huitong.ingest.hl7v2.parse import parse_message
from huitong.ingest.hl7v2.to_fhir import map_message

CASES = Path(__file__).resolve().parents[2] / "data" / "hl7v2"
INPUTS = [p.read_bytes() for p in sorted(CASES.glob("*/input.hl7"))]
pieces = st.sampled_from(
    [b"|", b"^", b"~", b"&", b"\\", b"\r", b'""', b"20260101", b"-1", b"1.5", b"X", b"\xe5\xbc\xa0"]
)
noise = st.binary(max_size=6) | pieces


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.sampled_from(INPUTS),
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 8), noise), min_size=1, max_size=5),
)
def test_mutated_messages_map_or_fail_precisely(data: bytes, edits: list[tuple[float, int, bytes]]) -> None:
    for where, cut, insert in edits:
        pos = int(where * len(data))
        data = data[:pos] + insert + data[pos + cut :]
    try:
        msg = parse_message(data)
    except Hl7ParseError:
        return
    try:
        mapping = map_message(msg)
    except IngestError as exc:
        assert exc.error_code != "207", exc.reason
        return
    for resource in mapping.resources:
        check_full(resource)
