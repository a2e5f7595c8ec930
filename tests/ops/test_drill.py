"""The failover drill: no ACKed HL7 message is lost when the primary dies and the replica takes over."""

from __future__ import annotations

from pathlib import Path

import pytest

from huitong.ingest.hl7v2.parse import parse_message
from huitong.ops.drill import adt_a01, run_drill


def test_drill_messages_are_valid_adt_a01() -> None:
    control, payload = adt_a01(7)
    message = parse_message(payload)
    assert control == "DRILL000007"
    assert message.segments("PID")


@pytest.mark.slow
@pytest.mark.postgres
def test_failover_loses_no_acked_message(pg_bindir: Path) -> None:
    report = run_drill(messages=60, kill_after=20, promote_delay_s=0.5)
    assert report.lost == []
    assert report.sent == report.acked == report.found == 60
    assert report.refused_during_outage > 0 or report.attempts >= report.sent  # the outage was felt or absorbed
