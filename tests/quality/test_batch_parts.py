"""The batch's parts: each type's key range cut into parts of equal numbers of rows, read from the index."""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from huitong.db.schema import resource
from huitong.fhir.store import ResourceStore
from huitong.quality.batch import at_least, key_ranges
from tests.quality.test_batch_workers import hospital, load


def keys(store: ResourceStore, rtype: str) -> list[int]:
    with store.db.read() as conn:
        return list(conn.execute(sa.select(resource.c.pk).where(resource.c.res_type == rtype).order_by("pk")).scalars())


def rows_per_part(pks: list[int], ranges: list[tuple[int, int]]) -> list[int]:
    return [sum(1 for pk in pks if after < pk <= upto) for after, upto in ranges]


def test_parts_hold_equal_numbers_of_rows_and_every_row_once(store: ResourceStore) -> None:
    load(store, hospital(40))
    pks = keys(store, "Observation")
    assert len(pks) == 33
    ranges = key_ranges(store, "Observation", 2, 7)
    assert rows_per_part(pks, ranges) == [7, 7, 7, 7, 5]
    assert ranges[0][0] < pks[0] and ranges[-1][1] == pks[-1]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    # fewer rows than the parts asked for would hold: shared out equally instead
    assert rows_per_part(pks, key_ranges(store, "Observation", 3, 100)) == [11, 11, 11]
    assert rows_per_part(pks, key_ranges(store, "Observation", 1, 100)) == [33]
    assert key_ranges(store, "Practitioner", 2, 7) == []


def test_at_least_counts_no_further_than_asked(store: ResourceStore) -> None:
    load(store, hospital(10))
    assert at_least(store, ["Patient", "Observation"], 18)
    assert not at_least(store, ["Patient", "Observation"], 19)
    assert at_least(store, ["Practitioner"], 0)
