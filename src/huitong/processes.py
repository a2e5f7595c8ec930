"""Worker processes for CPU-bound batch work (the ingest pipeline's mapping, NDJSON import, quality checks).

Processes are spawned, never forked: the parent runs threads, an event loop and database connections that a
forked child must not inherit. :func:`spawn_pool` starts every worker at once behind a stand-in ``__main__``,
so that a spawned interpreter does not import the parent's main module — for the ``huitong`` command that is
the whole command line with every domain's imports, seconds of CPU per worker.
"""

from __future__ import annotations

import multiprocessing
import sys
import types
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any


@contextmanager
def bare_main(bare: bool = True) -> Iterator[None]:
    """While worker processes are started: when ``bare``, a stand-in ``__main__`` with no file, so that spawned
    interpreters do not import this one's main module. Not when work pickled by reference lives in ``__main__``
    (the workers must import it to unpickle it)."""
    if not bare:
        yield
        return
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main
        else:
            del sys.modules["__main__"]


def ready() -> bool:
    """A task that does nothing: submitted once per worker to start them all now."""
    return True


def spawn_pool(
    workers: int, *, initializer: Callable[..., object] | None = None, initargs: tuple[Any, ...] = ()
) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, all started now (their start-up overlaps the caller's work)."""
    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=initializer, initargs=initargs
    )
    with bare_main():
        for _ in range(workers):
            pool.submit(ready)
    return pool
