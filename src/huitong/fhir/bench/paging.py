"""``huitong bench fhir-paging``: a deep page by keyset cursor against page 1 and against ``_offset``.

Runs the search service in-process (no HTTP, no audit) on the cached ``huitong bench fhir`` dataset, so the
figures are the database's own. For each search, the median of ``--repeat`` runs of: page 1; the page at
``--depth`` reached by ``_offset``; the same page reached by the ``_cursor`` of the page before it (the link
a client follows). ``ratio`` is the deep cursor page over page 1 (1.0: a deep page costs what page 1 costs),
the worst of the searches in the default order; a ``_sort=-_lastUpdated`` search is reported beside them
(its order has no index, so every page sorts all matches, by cursor or by offset).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from huitong.fhir.bench.fhir import _settings, prepare
from huitong.fhir.search.service import SearchService
from huitong.services import open_services

SEARCHES: dict[str, list[tuple[str, str]]] = {
    "observations_by_code": [("code", "http://loinc.org|8867-4")],
    "all_observations": [],
    "observations_newest_first": [("code", "http://loinc.org|8867-4"), ("_sort", "-_lastUpdated")],
}


def _median_ms(work: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return round(1000 * statistics.median(times), 3)


def bench_paging(resources: int, *, depth: int, count: int, repeat: int, cache: Path) -> dict[str, Any]:
    """Figures of every search in :data:`SEARCHES`; see the module docstring."""
    db_path = prepare(cache, resources)
    services = open_services(_settings(db_path))
    try:
        search: SearchService = services.search
        out: dict[str, Any] = {"resources": resources, "depth": depth, "count": count}
        ratios = []
        for name, pairs in SEARCHES.items():
            rtype = "Observation"
            base = [*pairs, ("_count", str(count))]

            def run(extra: list[tuple[str, str]], rtype: str = rtype, base: list[tuple[str, str]] = base) -> Any:
                request = search.parse(rtype, [*base, *extra])
                with services.db.read() as conn:
                    return search.execute(conn, request)

            before = run([("_offset", str(max(depth - count, 0)))])
            if before.next_cursor is None:
                out[name] = {"skipped": f"fewer than {depth + count} matches"}
                continue
            by_cursor_pairs = [("_cursor", before.next_cursor)]
            first = _median_ms(lambda: run([]), repeat)
            by_offset = _median_ms(lambda: run([("_offset", str(depth))]), repeat)
            by_cursor = _median_ms(partial(run, by_cursor_pairs), repeat)
            same = [m.res_id for m in run(by_cursor_pairs).matches] == [
                m.res_id for m in run([("_offset", str(depth))]).matches
            ]
            ratio = round(by_cursor / first, 2) if first else None
            if not any(key == "_sort" for key, _value in pairs):
                ratios.append(ratio)
            out[name] = {
                "page1_ms": first,
                "offset_deep_ms": by_offset,
                "cursor_deep_ms": by_cursor,
                "ratio": ratio,
                "offset_ratio": round(by_offset / first, 2) if first else None,
                "same_page": same,
            }
        out["ratio"] = max((r for r in ratios if r is not None), default=None)
        return out
    finally:
        services.close()
