"""``huitong bench ingest`` runs end to end on a few messages and reports its fields (figures live in docs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from huitong.ingest.bench import echo_run, ingest_run


@pytest.mark.parametrize("kind", ["protocol", "streams"])
def test_echo_baselines_answer_every_message(kind: str) -> None:
    result = echo_run(40, None, kind)
    assert result["messages"] == 40
    assert result["msgs_per_s"] > 0 and result["ack_p99_ms"] >= result["ack_p50_ms"] > 0


def test_durable_ingest_run_stores_and_reports(tmp_path: Path) -> None:
    result = ingest_run(f"sqlite:///{tmp_path}/bench.db", 40, None)
    assert [r["connections"] for r in result["runs"]] == [1, 8]
    assert [r["messages"] for r in result["runs"]] == [10, 40]
    assert all(r["msgs_per_s"] > 0 and r["server_cpu_ms_per_msg"] > 0 for r in result["runs"])
