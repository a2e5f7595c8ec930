"""Transactions that write in several steps lock ahead (``Transaction.lock_for_writing``): on PostgreSQL two of them
naming the same new resources in crossing orders do not deadlock; without it, PostgreSQL aborts one."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from huitong.fhir.transaction import Transaction
from huitong.security.actor import Actor
from huitong.services import Services

WARD_A = {"resourceType": "Location", "id": "ward-a", "name": "A"}
WARD_B = {"resourceType": "Location", "id": "ward-b", "name": "B"}


def _crossing_writes(services: Services, *, lock_ahead: bool) -> list[BaseException]:
    """Transaction 1 writes ward A, then B; transaction 2, started once 1 has written A, writes B, then A."""
    actor = Actor.system("tests")
    first_wrote_a = threading.Event()
    second_wrote_b = threading.Event()
    failures: list[BaseException] = []

    def first(tx: Transaction) -> None:
        if lock_ahead:
            tx.lock_for_writing([WARD_A, WARD_B])
        tx.put_many([WARD_A])
        first_wrote_a.set()
        second_wrote_b.wait(timeout=1.0)  # with locks ahead, the second is still waiting for them
        tx.put_many([WARD_B])

    def second(tx: Transaction) -> None:
        assert first_wrote_a.wait(timeout=10)
        if lock_ahead:
            tx.lock_for_writing([WARD_B, WARD_A])
        tx.put_many([WARD_B])
        second_wrote_b.set()
        tx.put_many([WARD_A])

    def run(work: Any) -> None:
        try:
            services.store.transaction(actor, work)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(work,)) for work in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return failures


def _require_postgres(services: Services) -> None:
    if services.db.dialect != "postgresql":
        pytest.skip("SQLite has one writer: transactions never hold locks against each other")


def test_without_locking_ahead_postgresql_aborts_one_of_two_crossing_writers(services: Services) -> None:
    _require_postgres(services)
    failures = _crossing_writes(services, lock_ahead=False)
    assert len(failures) == 1 and "deadlock" in str(failures[0]).lower()


def test_locking_ahead_lets_both_crossing_writers_commit(services: Services) -> None:
    _require_postgres(services)
    assert _crossing_writes(services, lock_ahead=True) == []
    actor = Actor.system("tests")
    for ward in (WARD_A, WARD_B):
        stored = services.store.read(actor, "Location", str(ward["id"]))
        assert stored.version_id == 1  # the second writer found them as written: unchanged, no new version


def test_unchanged_and_kept_resources_are_not_locked_ahead(services: Services) -> None:
    """A shared ward that a batch restates unchanged, or names as context only (``create_only``), takes no lock:
    another transaction holding it does not block."""
    _require_postgres(services)
    actor = Actor.system("tests")
    services.store.update(actor, "Location", "ward-a", dict(WARD_A))
    holding = threading.Event()
    release = threading.Event()

    def hold(tx: Transaction) -> None:
        tx.lock_for_writing([{**WARD_A, "name": "A, renamed"}])  # a change: locked
        holding.set()
        release.wait(timeout=10)

    holder = threading.Thread(target=lambda: services.store.transaction(actor, hold))
    holder.start()
    try:
        assert holding.wait(timeout=10)
        # the same ward unchanged, or changed but only written if absent (it exists): no lock, so no wait
        done = threading.Event()

        def look(tx: Transaction) -> None:
            tx.lock_for_writing([WARD_A])
            tx.lock_for_writing([{**WARD_A, "name": "A, as a result names it"}], create_only={("Location", "ward-a")})

        waiter = threading.Thread(target=lambda: (services.store.transaction(actor, look), done.set()))
        waiter.start()
        assert done.wait(timeout=5)
        waiter.join()
    finally:
        release.set()
        holder.join(timeout=10)
