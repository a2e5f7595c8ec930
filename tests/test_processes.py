"""Spawned worker pools (``huitong.processes``): workers start at once, run their initialiser, and exit when the
process that started them is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from huitong.processes import bare_main, spawn_pool

_PARENT = """
import os, sys, time
from huitong.processes import bare_main, spawn_pool
pool, started = spawn_pool(2)
for f in started:
    f.result(timeout=60)
print(" ".join(str(pid) for pid in pool._processes), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()  # a zombie waiting for its (new) parent is gone too
    return stat.split(") ")[-1][:1] != "Z"


def test_workers_exit_when_their_parent_is_killed() -> None:
    with subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True) as parent:
        try:
            assert parent.stdout is not None
            workers = [int(pid) for pid in parent.stdout.readline().split()]
            assert len(workers) == 2 and all(_alive(pid) for pid in workers)
            parent.send_signal(signal.SIGKILL)
            parent.wait(timeout=10)
            deadline = time.monotonic() + 20
            while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not any(_alive(pid) for pid in workers)
        finally:
            parent.kill()


def _square(x: int) -> int:
    return x * x


def _mark(name: str, value: str) -> None:
    os.environ[name] = value


def _read(name: str) -> str | None:
    return os.environ.get(name)


def test_pool_runs_work_after_its_initialiser() -> None:
    pool, started = spawn_pool(2, initializer=_mark, initargs=("HUITONG_POOL_TEST", "yes"))
    with pool:
        assert all(f.result(timeout=60) for f in started)
        assert list(pool.map(_square, range(5))) == [0, 1, 4, 9, 16]
        assert set(pool.map(_read, ["HUITONG_POOL_TEST"] * 4)) == {"yes"}
    assert os.environ.get("HUITONG_POOL_TEST") is None  # set in the workers only


def test_workers_start_without_the_main_module_unless_asked() -> None:
    main = sys.modules["__main__"]
    with bare_main(True):
        assert sys.modules["__main__"] is not main
        assert getattr(sys.modules["__main__"], "__file__", None) is None  # nothing for a spawned worker to import
    assert sys.modules["__main__"] is main
    with bare_main(False):
        assert sys.modules["__main__"] is main
