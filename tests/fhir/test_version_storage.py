"""Each version's JSON is stored once: the current version's in ``resource``, an earlier one's in its
``resource_version`` row (moved there when the next version is written), on SQLite and PostgreSQL; and the
``huitong db compact`` backfill that frees the copies older stores hold, without changing an answer."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from huitong.cli import app as cli_app
from huitong.db.backfills.version_json_once import compact_versions
from huitong.db.schema import audit_event, resource, resource_version
from huitong.fhir.store import ResourceStore
from huitong.fhir.transaction import Transaction
from huitong.security.actor import Actor
from huitong.settings import Settings


def patient(rid: str, family: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": rid, "name": [{"family": family}], "gender": "female"}


def version_rows(store: ResourceStore) -> dict[tuple[str, int], str | None]:
    with store.db.read() as conn:
        rows = conn.execute(
            sa.select(resource.c.res_id, resource_version.c.version_id, resource_version.c.content).join(
                resource, resource.c.pk == resource_version.c.resource_pk
            )
        ).all()
    return {(r.res_id, r.version_id): r.content for r in rows}


def current_rows(store: ResourceStore) -> dict[str, str | None]:
    with store.db.read() as conn:
        return {r.res_id: r.content for r in conn.execute(sa.select(resource.c.res_id, resource.c.content))}


def answers(store: ResourceStore, actor: Actor, ids: list[str]) -> list[Any]:
    """What clients see: every version by vread (or its 410), and the histories of each resource and the type."""
    out: list[Any] = []
    for rid in ids:
        page = store.history(actor, "Patient", rid, count=100)
        out.append([(e.version_id, e.deleted, e.content) for e in page.entries])
        for entry in page.entries:
            if not entry.deleted:
                out.append(store.vread(actor, "Patient", rid, entry.version_id).content)
    out.append([(e.res_id, e.version_id, e.content) for e in store.history(actor, "Patient", count=100).entries])
    return out


def test_the_current_json_is_kept_once_and_moves_to_history_when_replaced(store: ResourceStore, actor: Actor) -> None:
    v1 = store.update(actor, "Patient", "p1", patient("p1", "王"))[0]
    assert version_rows(store) == {("p1", 1): None}
    v2 = store.update(actor, "Patient", "p1", patient("p1", "李"))[0]
    v3 = store.update(actor, "Patient", "p1", patient("p1", "张"))[0]
    rows = version_rows(store)
    assert rows[("p1", 3)] is None and current_rows(store)["p1"].encode() == v3.content  # type: ignore[union-attr]
    assert [rows[("p1", 1)].encode(), rows[("p1", 2)].encode()] == [v1.content, v2.content]  # type: ignore[union-attr]
    assert [store.vread(actor, "Patient", "p1", n).content for n in (1, 2, 3)] == [v1.content, v2.content, v3.content]
    history = store.history(actor, "Patient", "p1").entries
    assert [(e.version_id, e.content) for e in history] == [(3, v3.content), (2, v2.content), (1, v1.content)]

    store.delete(actor, "Patient", "p1")  # the tombstone holds no JSON; version 3's moves into its row
    rows = version_rows(store)
    assert rows[("p1", 4)] is None and rows[("p1", 3)].encode() == v3.content  # type: ignore[union-attr]
    assert current_rows(store)["p1"] is None
    history = store.history(actor, "Patient", "p1").entries
    assert [e.content for e in history] == [None, v3.content, v2.content, v1.content]

    v5 = store.update(actor, "Patient", "p1", patient("p1", "赵"))[0]  # back from deletion
    assert store.vread(actor, "Patient", "p1", 5).content == v5.content
    assert version_rows(store)[("p1", 4)] is None  # a deletion has no JSON to keep


def test_many_new_and_changed_resources_in_one_write(store: ResourceStore, actor: Actor) -> None:
    """The bulk path (on PostgreSQL: keys from the sequence and COPY, from 16 new resources on)."""
    ids = [f"b{n:02d}" for n in range(40)]
    first = store.transaction(actor, lambda tx: tx.put_many([patient(rid, "王") for rid in ids]))
    assert set(version_rows(store).values()) == {None}
    changed = ids[:25]
    second = store.transaction(
        actor, lambda tx: tx.put_many([patient(rid, "李") for rid in changed] + [patient("b99", "新")])
    )
    rows = version_rows(store)
    before = {s.res_id: s.content for s, _created in first}
    assert {rid: rows[(rid, 1)].encode() for rid in changed} == {rid: before[rid] for rid in changed}  # type: ignore[union-attr]
    assert all(rows[(rid, 1)] is None for rid in ids[25:]) and rows[("b99", 1)] is None
    assert all(rows[(rid, 2)] is None for rid in changed)
    assert [store.vread(actor, "Patient", rid, 1).content for rid in changed] == [before[rid] for rid in changed]
    assert [s.version_id for s, _created in second] == [2] * 25 + [1]


def _duplicate_current_json(tx: Transaction) -> None:
    """Make the store look as one written before the change: every current version's JSON also in its row."""
    rv = resource_version
    current = sa.select(resource.c.version_id).where(resource.c.pk == rv.c.resource_pk).scalar_subquery()
    content = sa.select(resource.c.content).where(resource.c.pk == rv.c.resource_pk).scalar_subquery()
    tx.conn.execute(rv.update().where(rv.c.version_id == current, rv.c.deleted.is_(False)).values(content=content))


def test_compact_frees_the_copies_of_an_older_store_and_changes_no_answer(
    store: ResourceStore, actor: Actor, settings: Settings
) -> None:
    ids = [f"c{n}" for n in range(7)]
    for rid in ids:
        store.update(actor, "Patient", rid, patient(rid, "王"))
    for rid in ids[:4]:
        store.update(actor, "Patient", rid, patient(rid, "李"))
    store.delete(actor, "Patient", ids[0])
    store.transaction(actor, _duplicate_current_json)
    current = current_rows(store)
    copies = {rid for (rid, _version), text in version_rows(store).items() if text is not None and text == current[rid]}
    assert copies == set(ids[1:])  # c0's current version is its deletion
    seen = answers(store, actor, ids)

    done = compact_versions(store.db, batch=3)  # several batches
    assert (done.resources, done.emptied) == (7, 6)  # c1–c6 (current at 2 or 1); c0's tombstone had no JSON
    assert answers(store, actor, ids) == seen
    rows = version_rows(store)
    assert all(rows[(rid, 2)] is None for rid in ids[1:4]) and all(rows[(rid, 1)] is None for rid in ids[4:])
    assert all(rows[(rid, 1)] is not None for rid in ids[:4])  # history keeps its JSON
    assert compact_versions(store.db).emptied == 0

    store.transaction(actor, _duplicate_current_json)
    result = CliRunner().invoke(cli_app, ["db", "compact"], env={"HUITONG_DATABASE__URL": settings.database.url})
    assert result.exit_code == 0, result.output
    assert "looked at 7 resources; emptied 6 duplicate version copies" in result.output
    assert answers(store, actor, ids) == seen


def test_create_only_writes_what_is_absent_and_keeps_what_exists(store: ResourceStore, actor: Actor) -> None:
    """``put_many(create_only=…)``: the integration engine's visits of non-ADT messages (ingest/mapping.py)."""
    kept = store.update(actor, "Patient", "k1", patient("k1", "王"))[0]
    store.update(actor, "Patient", "k2", patient("k2", "王"))
    store.delete(actor, "Patient", "k2")
    keys = {("Patient", "k1"), ("Patient", "k2"), ("Patient", "k3")}
    written = store.transaction(
        actor,
        lambda tx: tx.put_many(
            [patient("k1", "李"), patient("k2", "李"), patient("k3", "李"), patient("k4", "李")], create_only=keys
        ),
    )
    assert [(s.res_id, s.version_id, s.deleted, created) for s, created in written] == [
        ("k1", 1, False, False),
        ("k2", 2, True, False),  # a deletion stays a deletion
        ("k3", 1, False, True),
        ("k4", 1, False, True),  # not create-only: written as usual
    ]
    assert written[0][0].content == kept.content == store.read(actor, "Patient", "k1").content
    assert store.history(actor, "Patient", "k2").total == 2
    again = store.transaction(
        actor, lambda tx: tx.put_many([patient("k3", "赵"), patient("k4", "赵")], create_only=keys)
    )
    assert [(s.version_id, created) for s, created in again] == [(1, False), (2, False)]
    with store.db.read() as conn:
        outcomes = conn.execute(
            sa.select(audit_event.c.entity_id, audit_event.c.outcome_desc).where(audit_event.c.outcome_desc == "kept")
        ).all()
    assert sorted(r.entity_id for r in outcomes) == ["k1", "k2", "k3"]
    twice = store.transaction(
        actor, lambda tx: tx.put_many([patient("k1", "周"), patient("k1", "吴")], create_only=keys)
    )
    assert [s.version_id for s, _created in twice] == [1, 1]  # one resource twice: written in turn, still kept
