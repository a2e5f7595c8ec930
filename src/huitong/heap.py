"""The collector and long-lived objects: freeze what start-up built, for the server and for bulk jobs.

A process that has loaded Huitong holds a few hundred thousand long-lived objects — pypinyin's phrase dictionary
alone is some 200,000 lists. Python's full (generation 2) collection walks every tracked object each time it runs,
so a process that allocates much (a page of a lab-heavy patient; an import of millions of resources) pays for
walking objects that will never be garbage. :func:`frozen_heap` collects once and moves every survivor into the
permanent generation (``gc.freeze``) for the duration of a block: measured, 110–180 ms full collections gone from
the server's requests (docs/apps.md), and the importer's collections cut from 7–11 % of its time to about 2 %
(docs/fhir-api.md). Frozen objects are never walked and never freed, so only what is alive at the start is frozen;
the block's end gives them back to the collector (native extensions such as DuckDB's bindings check at exit that
their objects were freed).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def load_long_lived_tables() -> None:
    """Load now the large tables that writes load at first use: pypinyin's dictionaries (the search index's pinyin
    rows of Chinese names, the EMPI's name keys), so that they are frozen with the rest instead of walked by every
    full collection after."""
    from huitong.fhir.search.values import pinyin

    pinyin("汇通")


def freeze() -> None:
    """Collect start-up's garbage, then freeze every survivor (see the module's description)."""
    load_long_lived_tables()
    gc.collect()
    gc.freeze()


def unfreeze() -> None:
    """Give the frozen objects back to the collector."""
    gc.unfreeze()


@contextmanager
def frozen_heap() -> Iterator[None]:
    """A block (a bulk job) during which what was alive at its start is frozen for the collector."""
    freeze()
    try:
        yield
    finally:
        unfreeze()
