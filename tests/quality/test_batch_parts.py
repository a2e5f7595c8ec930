"""The batch's parts and its one pass over the table: the key range of the types read cut into equal spans of keys,
and every current row of those types read once, in key order, with its type — on both backends."""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from huitong.db.schema import resource
from huitong.fhir.store import ResourceStore
from huitong.quality.scan import pk_ranges, stream_mixed
from huitong.security.actor import Actor
from tests.quality.test_batch_workers import hospital, load

TYPES = ["Patient", "Observation", "Condition"]


def keys(store: ResourceStore, types: list[str]) -> list[tuple[int, str, str]]:
    with store.db.read() as conn:
        rows = conn.execute(
            sa.select(resource.c.pk, resource.c.res_type, resource.c.res_id)
            .where(resource.c.res_type.in_(types), resource.c.deleted.is_(False))
            .order_by(resource.c.pk)
        )
        return [(r.pk, r.res_type, r.res_id) for r in rows]


def test_parts_span_equal_ranges_of_keys_and_hold_every_row_once(store: ResourceStore) -> None:
    load(store, hospital(40))
    rows = keys(store, TYPES)
    pks = [pk for pk, _t, _id in rows]
    ranges = pk_ranges(store, TYPES, 2, 7)
    assert ranges[0][0] == pks[0] - 1 and ranges[-1][1] == pks[-1]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))  # no gap, no overlap
    spans = [upto - after for after, upto in ranges]
    assert max(spans) - min(spans) <= 1 and max(spans) <= 7
    assert sum(1 for pk in pks for after, upto in ranges if after < pk <= upto) == len(pks)
    assert len(pk_ranges(store, TYPES, 3, 10_000)) == 3  # at least one part per worker
    assert pk_ranges(store, ["Practitioner"], 2, 7) == []


def test_one_pass_reads_every_row_of_the_types_once_in_key_order(store: ResourceStore) -> None:
    load(store, hospital(40))
    # a deleted resource and a resource of a type not read are left out
    with store.db.read() as conn:
        gone = conn.execute(
            sa.select(resource.c.res_id).where(resource.c.res_type == "Observation").limit(1)
        ).scalar_one()
    store.delete(Actor.system("tests"), "Observation", gone)
    rows = keys(store, TYPES)
    assert all(rid != gone for _pk, t, rid in rows if t == "Observation")
    read = [(item[2], item[3], item[0]) for item in stream_mixed(store, Actor.system("tests"), TYPES)]  # type: ignore[misc]
    assert read == rows
    assert {t for _pk, t, _id in read} == set(TYPES)
    # one part's range only
    (after, upto), *_ = pk_ranges(store, TYPES, 2, 10)
    part = [item[2] for item in stream_mixed(store, Actor.system("tests"), TYPES, after, upto)]  # type: ignore[misc]
    assert part == [pk for pk, _t, _id in rows if after < pk <= upto]
