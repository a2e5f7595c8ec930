"""Worker processes for CPU-bound batch work (the ingest pipeline's mapping, NDJSON import, quality checks).

Processes are spawned, never forked: the parent runs threads, an event loop and database connections that a
forked child must not inherit. :func:`spawn_pool` starts every worker at once behind a stand-in ``__main__``,
so that a spawned interpreter does not import the parent's main module — for the ``huitong`` command that is
the whole command line with every domain's imports, seconds of CPU per worker. Every worker watches its parent
(:func:`start_worker`) and exits when the parent is gone — killed with SIGKILL, say — instead of waiting forever
on a task queue whose writing end it holds itself.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
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


def _exit_with_parent() -> None:
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(1)  # the parent is gone: nobody will read a result; no clean-up to wait for

    threading.Thread(target=watch, name="huitong-parent-watch", daemon=True).start()


def start_worker(initializer: Callable[..., object] | None, *initargs: Any) -> None:
    """Pool initialiser of every worker: watch the parent, then run the pool's own ``initializer``."""
    _exit_with_parent()
    if initializer is not None:
        initializer(*initargs)


def spawn_pool(
    workers: int,
    *,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
    bare: bool = True,
) -> tuple[ProcessPoolExecutor, list[Future[bool]]]:
    """A pool of ``workers`` spawned processes, all started now (their start-up overlaps the caller's work), and
    one :func:`ready` future per worker (done once that worker has started). ``bare``: see :func:`bare_main`."""
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=start_worker,
        initargs=(initializer, *initargs),
    )
    with bare_main(bare):
        started = [pool.submit(ready) for _ in range(workers)]
    return pool, started
