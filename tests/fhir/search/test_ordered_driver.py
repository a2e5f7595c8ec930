"""A page driven by one token ``system|code`` is read by joining its index rows in key order
(``SqlBuilder.ordered_driver``); it must give exactly the pages the general ``pk IN (…)`` plan gives."""

from __future__ import annotations

from typing import Any

import pytest

from huitong.fhir.search.sql import SqlBuilder
from huitong.security.actor import Actor
from huitong.services import Services

LOINC = "http://loinc.org"


@pytest.fixture
def observations(services: Services, actor: Actor) -> list[str]:
    """45 Observations in creation (key) order; code X on two of three, every seventh X deleted again."""
    store = services.store
    kept: list[str] = []
    for i in range(45):
        code = "Y" if i % 3 == 0 else "X"
        obs = {
            "resourceType": "Observation",
            "status": "final" if i % 2 else "preliminary",
            "code": {"coding": [{"system": LOINC, "code": code}, {"system": "urn:local", "code": f"L{i}"}]},
            "subject": {"reference": f"Patient/p{i % 4}"},
        }
        rid = store.create(actor, obs).res_id
        if code == "X" and i % 7 == 0:
            store.delete(actor, "Observation", rid)
        elif code == "X":
            kept.append(rid)
    return kept


def _walk(services: Services, actor: Actor, pairs: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Every match page by page following the next links, then back again following the previous links."""
    search = services.search
    forward: list[str] = []
    pages: list[list[str]] = []
    result = search.search(actor, "Observation", pairs)
    while True:
        ids = [m.res_id for m in result.matches]
        forward += ids
        pages.append(ids)
        if result.next_cursor is None:
            break
        result = search.search(actor, "Observation", [*pairs, ("_cursor", result.next_cursor)])
    backward = pages[-1]
    while result.previous_cursor is not None:
        result = search.search(actor, "Observation", [*pairs, ("_cursor", result.previous_cursor)])
        backward = [m.res_id for m in result.matches] + backward
    return forward, backward


QUERIES = [
    [("code", f"{LOINC}|X"), ("_count", "4")],
    [("code", f"{LOINC}|X"), ("status", "final"), ("_count", "3")],
    [("code", f"{LOINC}|X"), ("_total", "accurate"), ("_count", "2")],
    [("code", f"{LOINC}|X"), ("_count", "5"), ("_offset", "3")],
]


@pytest.mark.parametrize("pairs", QUERIES)
def test_joined_driver_pages_equal_the_general_plan(
    services: Services, actor: Actor, observations: list[str], pairs: list[tuple[str, str]], monkeypatch: Any
) -> None:
    request = services.search.parse("Observation", pairs)
    assert services.search.sql.ordered_driver(request) is not None  # this search takes the joined plan
    joined = _walk(services, actor, pairs)
    monkeypatch.setattr(SqlBuilder, "ordered_driver", lambda *_a, **_k: None)  # the general plan, for comparison
    general = _walk(services, actor, pairs)
    assert joined == general
    forward, backward = joined
    assert forward == sorted(forward, key=observations.index)  # key (creation) order
    if ("_offset", "3") in pairs:  # from the fourth on; the previous links lead back to the first
        assert (forward, backward) == (observations[3:], observations)
    else:
        assert forward == backward
    if ("status", "final") not in pairs:  # code alone: every X not deleted
        assert backward == observations


@pytest.mark.parametrize(
    "pairs",
    [
        [("code", "X")],  # any system: rows of one resource under several keys
        [("code", f"{LOINC}|X,{LOINC}|Y")],  # two codes
        [("code", f"{LOINC}|X"), ("_sort", "-_lastUpdated")],  # another order
        [("code:text", "x")],
        [("code", f"{LOINC}|X"), ("subject", "Patient/p1")],  # the reference drives
    ],
)
def test_other_searches_keep_the_general_plan(services: Services, pairs: list[tuple[str, str]]) -> None:
    assert services.search.sql.ordered_driver(services.search.parse("Observation", pairs)) is None
