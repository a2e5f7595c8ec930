"""The resource store on SQLite and PostgreSQL: versions, preconditions, tombstones, history, audit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from huitong.db.schema import audit_event, resource, resource_version
from huitong.fhir.errors import FhirError
from huitong.fhir.store import ResourceStore
from huitong.fhir.transaction import Transaction
from huitong.security.actor import Actor, MissingActorError


def patient(family: str = "王", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "name": [{"family": family, "given": ["秀英"]}], "gender": "female", **extra}


def audit_rows(store: ResourceStore) -> list[tuple[str, str, str | None, int | None, str]]:
    with store.db.read() as conn:
        rows = conn.execute(
            sa.select(
                audit_event.c.interaction,
                audit_event.c.outcome,
                audit_event.c.entity_id,
                audit_event.c.entity_version,
                audit_event.c.actor_id,
            ).order_by(audit_event.c.seq)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_create_assigns_id_version_and_last_updated(store: ResourceStore, actor: Actor) -> None:
    stored = store.create(actor, patient())
    body = stored.resource()
    assert body["id"] == stored.res_id and len(stored.res_id) == 36
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"].endswith("+00:00")
    assert stored.etag == 'W/"1"'
    again = store.read(actor, "Patient", stored.res_id)
    assert again.content == stored.content


def test_update_makes_versions_and_vread_returns_each(store: ResourceStore, actor: Actor) -> None:
    v1 = store.create(actor, patient("王"))
    v2, created = store.update(actor, "Patient", v1.res_id, patient("李", id=v1.res_id))
    assert not created and v2.version_id == 2
    assert store.vread(actor, "Patient", v1.res_id, 1).resource()["name"][0]["family"] == "王"
    assert store.vread(actor, "Patient", v1.res_id, 2).resource()["name"][0]["family"] == "李"
    assert store.read(actor, "Patient", v1.res_id).version_id == 2


def test_unchanged_update_makes_no_new_version(store: ResourceStore, actor: Actor) -> None:
    v1 = store.create(actor, patient())
    same = {**patient(), "id": v1.res_id, "meta": {"versionId": "1", "lastUpdated": "2000-01-01T00:00:00Z"}}
    v, created = store.update(actor, "Patient", v1.res_id, same)
    assert v.version_id == 1 and not created
    assert store.history(actor, "Patient", v1.res_id).total == 1


def test_if_match_conflict_is_412(store: ResourceStore, actor: Actor) -> None:
    v1 = store.create(actor, patient())
    store.update(actor, "Patient", v1.res_id, patient("李", id=v1.res_id), if_match=1)
    with pytest.raises(FhirError) as info:
        store.update(actor, "Patient", v1.res_id, patient("张", id=v1.res_id), if_match=1)
    assert info.value.status == 412
    assert store.read(actor, "Patient", v1.res_id).resource()["name"][0]["family"] == "李"


def test_update_as_create_with_client_id(store: ResourceStore, actor: Actor) -> None:
    stored, created = store.update(actor, "Patient", "p-123", patient(id="p-123"))
    assert created and stored.version_id == 1 and stored.res_id == "p-123"


def test_update_with_mismatched_id_is_refused(store: ResourceStore, actor: Actor) -> None:
    with pytest.raises(FhirError) as info:
        store.update(actor, "Patient", "a", patient(id="b"))
    assert info.value.status == 400


def test_delete_is_a_versioned_tombstone(store: ResourceStore, actor: Actor) -> None:
    v1 = store.create(actor, patient())
    deleted = store.delete(actor, "Patient", v1.res_id)
    assert deleted is not None and deleted.version_id == 2 and deleted.deleted
    with pytest.raises(FhirError) as info:
        store.read(actor, "Patient", v1.res_id)
    assert info.value.status == 410
    with pytest.raises(FhirError) as info:
        store.vread(actor, "Patient", v1.res_id, 2)
    assert info.value.status == 410
    assert store.vread(actor, "Patient", v1.res_id, 1).version_id == 1
    assert store.delete(actor, "Patient", v1.res_id) is not None  # deleting again: no new version
    assert store.history(actor, "Patient", v1.res_id).total == 2
    revived, created = store.update(actor, "Patient", v1.res_id, patient(id=v1.res_id))
    assert revived.version_id == 3 and not created


def test_missing_resources_are_404(store: ResourceStore, actor: Actor) -> None:
    for call in (
        lambda: store.read(actor, "Patient", "nope"),
        lambda: store.vread(actor, "Patient", "nope", 1),
        lambda: store.read(actor, "NotAType", "x"),
        lambda: store.history(actor, "Patient", "nope"),
    ):
        with pytest.raises(FhirError) as info:
            call()
        assert info.value.status == 404
    assert store.delete(actor, "Patient", "nope") is None


def test_history_newest_first_with_paging(store: ResourceStore, actor: Actor) -> None:
    v1 = store.create(actor, patient("a"))
    for i in range(4):
        store.update(actor, "Patient", v1.res_id, patient(f"n{i}", id=v1.res_id))
    other = store.create(actor, {"resourceType": "Observation", "status": "final", "code": {"text": "x"}})
    page = store.history(actor, "Patient", v1.res_id, count=2)
    assert [e.version_id for e in page.entries] == [5, 4] and page.has_more and page.total == 5
    page2 = store.history(actor, "Patient", v1.res_id, count=2, offset=4)
    assert [e.version_id for e in page2.entries] == [1] and not page2.has_more
    assert [e.method for e in store.history(actor, "Patient", v1.res_id).entries] == ["PUT"] * 4 + ["POST"]
    assert {e.res_type for e in store.history(actor, "Patient").entries} == {"Patient"}
    system = store.history(actor)
    assert system.entries[0].res_id == other.res_id and len(system.entries) == 6


def test_transaction_commits_all_or_nothing(store: ResourceStore, actor: Actor) -> None:
    def ok(tx: Transaction) -> list[str]:
        p = tx.create(patient())
        e = tx.create(
            {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"code": "IMP"},
                "subject": {"reference": f"Patient/{p.res_id}"},
            }
        )
        return [p.res_id, e.res_id]

    pid, _eid = store.transaction(actor, ok)
    assert store.read(actor, "Patient", pid)

    def failing(tx: Transaction) -> None:
        tx.update(patient(id="will-vanish"), "will-vanish")
        tx.update(patient("李", id=pid), pid, if_match=99)  # 412: undoes the whole transaction

    with pytest.raises(FhirError):
        store.transaction(actor, failing)
    with pytest.raises(FhirError):
        store.read(actor, "Patient", "will-vanish")
    assert store.read(actor, "Patient", pid).version_id == 1
    with store.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(resource)).scalar_one() == 2
        assert conn.execute(sa.select(sa.func.count()).select_from(resource_version)).scalar_one() == 2


def test_every_call_is_audited_with_its_actor(store: ResourceStore) -> None:
    nurse = Actor(id="user:li.na", kind="user", role="nurse", name="李娜")  # type: ignore[arg-type]
    v1 = store.create(nurse, patient())
    store.read(nurse, "Patient", v1.res_id)
    store.update(nurse, "Patient", v1.res_id, patient("李", id=v1.res_id))
    with pytest.raises(FhirError):
        store.update(nurse, "Patient", v1.res_id, patient("张", id=v1.res_id), if_match=1)
    store.delete(nurse, "Patient", v1.res_id)
    with pytest.raises(FhirError):
        store.read(nurse, "Patient", v1.res_id)
    rows = audit_rows(store)
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("create", "0", 1),
        ("read", "0", 1),
        ("update", "0", 2),
        ("update", "4", None),
        ("delete", "0", 3),
        ("read", "4", None),
    ]
    assert {r[4] for r in rows} == {"user:li.na"} and {r[2] for r in rows} == {v1.res_id}


def test_calls_without_an_actor_are_refused(store: ResourceStore) -> None:
    with pytest.raises(MissingActorError):
        store.create(None, patient())  # type: ignore[arg-type]
    with pytest.raises(MissingActorError):
        store.read("admin", "Patient", "x")  # type: ignore[arg-type]
    with pytest.raises(MissingActorError):
        Actor(id="", kind="user", role="")  # type: ignore[arg-type]
    assert audit_rows(store) == []


def test_decimals_keep_their_precision(store: ResourceStore, actor: Actor) -> None:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "glucose"},
        "valueQuantity": {"value": Decimal("7.0"), "unit": "mmol/L"},
    }
    stored = store.create(actor, obs)
    assert b'"value":7.0' in (stored.content or b"")
    assert store.read(actor, "Observation", stored.res_id).resource()["valueQuantity"]["value"] == Decimal("7.0")


def test_invalid_structure_is_refused_before_storing(store: ResourceStore, actor: Actor) -> None:
    for bad in (
        {"resourceType": "Patient", "name": []},
        {"resourceType": "Nope"},
        {"name": "x"},
        {"resourceType": "Patient", "gender": None},
        {"resourceType": "Patient", "id": "bad id!"},
    ):
        with pytest.raises(FhirError) as info:
            store.create(actor, bad)
        assert info.value.status in (400, 422)


def test_two_writers_creating_the_same_resource_both_succeed(store: ResourceStore, actor: Actor) -> None:
    """A second writer of a resource the first is creating waits for it, then updates it (no 409 conflict)."""
    import threading

    inside = threading.Event()
    release = threading.Event()
    outcome: dict[str, Any] = {}

    def first(tx: Transaction) -> None:
        tx.put_many([{**patient("甲"), "id": "shared-new"}])
        inside.set()
        assert release.wait(30)

    def second() -> None:
        try:
            outcome["second"] = store.transaction(
                actor, lambda tx: tx.put_many([{**patient("乙"), "id": "shared-new"}])
            )
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    a = threading.Thread(target=lambda: store.transaction(actor, first))
    a.start()
    assert inside.wait(30)
    b = threading.Thread(target=second)
    b.start()
    b.join(0.5)  # the second writer is now waiting (for the lock on PostgreSQL, the one writer on SQLite)
    release.set()
    a.join(30)
    b.join(30)
    assert "error" not in outcome, outcome.get("error")
    ((stored, created),) = outcome["second"]
    assert (stored.version_id, created) == (2, False)
    assert store.read(actor, "Patient", "shared-new").version_id == 2
