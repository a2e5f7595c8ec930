"""A drill-down while another process writes the indicators' DuckDB file (computing, refreshing) waits for it,
and past :data:`service.BUSY_WAIT_S` says so plainly instead of DuckDB's lock error (which names the other
process's binary, its PID and the file's path)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from huitong.indicators import service


@contextmanager
def held_for_writing(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process with ``path`` open for writing for ``seconds`` (ended when the block ends)."""
    code = f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep({seconds})"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_a_reader_waits_for_the_writer_to_finish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ind.duckdb"
    duckdb.connect(str(path)).close()
    monkeypatch.setattr(service, "BUSY_WAIT_S", 20.0)
    with held_for_writing(path, 1.0):
        started = time.monotonic()
        con = service._open_read_only(path)
    con.close()
    assert time.monotonic() - started > 0.3  # it did wait (the holder kept the file for about a second)


def test_a_reader_gives_up_with_a_plain_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ind.duckdb"
    duckdb.connect(str(path)).close()
    monkeypatch.setattr(service, "BUSY_WAIT_S", 0.5)
    with held_for_writing(path, 60), pytest.raises(service.IndicatorsBusyError) as raised:
        service._open_read_only(path)
    message = str(raised.value)
    assert "try again" in message and "PID" not in message and str(tmp_path) not in message
